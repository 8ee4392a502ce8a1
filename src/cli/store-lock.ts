import { join } from "node:path";
import { ProjectLock } from "../store/project-lock.js";

/** Takes the store's lock for a command that writes it, telling the user when it waits or recovers. */
export function acquireStoreLock(storeRoot: string, command: string): Promise<ProjectLock> {
  return ProjectLock.acquire(join(storeRoot, "lock"), command, {
    waiting: (h) => process.stderr.write(`waiting for another sabuild (pid ${h.pid}: ${h.command}, since ${h.since}) to release the store...\n`),
    recovered: (h) => process.stderr.write(`note: recovered a stale store lock left by pid ${h.pid} (${h.command}), which is no longer running\n`),
  });
}
