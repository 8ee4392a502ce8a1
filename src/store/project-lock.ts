import { hostname } from "node:os";
import { closeSync, mkdirSync, openSync, readFileSync, rmSync, writeSync } from "node:fs";
import { stat } from "node:fs/promises";
import { dirname } from "node:path";
import { processAlive } from "../process-alive.js";

interface Holder {
  pid: number;
  host: string;
  command: string;
  since: string;
}

export interface LockEvents {
  /** Another live build holds the lock: we wait for it. */
  waiting(holder: Holder): void;
  /** The lock was left by a process that no longer runs: taken over. */
  recovered(holder: Holder): void;
}


/**
 * An exclusive lock on the store, held for a whole build, so two builds never write it at once.
 * The holder's pid is inside: a lock whose process is gone (kill -9) is recovered with a message.
 */
export class ProjectLock {
  private constructor(private readonly file: string) {}

  static async acquire(file: string, command: string, events: LockEvents, pollMs = 100): Promise<ProjectLock> {
    // Sync calls on the way in and out: a few bytes each, and every no-op build takes and drops
    // this lock, where fs/promises' round trips through the thread pool cost it several ms.
    mkdirSync(dirname(file), { recursive: true });
    const me: Holder = { pid: process.pid, host: hostname(), command, since: new Date().toISOString() };
    let warned = false;
    for (;;) {
      try {
        const fd = openSync(file, "wx");
        try {
          writeSync(fd, JSON.stringify(me));
        } finally {
          closeSync(fd);
        }
        return new ProjectLock(file);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
      }
      const holder = await readHolder(file);
      if (holder && holder.host === me.host && !processAlive(holder.pid)) {
        events.recovered(holder);
        rmSync(file, { force: true });
        continue;
      }
      if (!holder && (await olderThan(file, 5000))) {
        // Empty for seconds: its writer died between creating and filling it.
        rmSync(file, { force: true });
        continue;
      }
      if (holder && !warned) {
        events.waiting(holder);
        warned = true;
      }
      await new Promise((r) => setTimeout(r, pollMs));
    }
  }

  async release(): Promise<void> {
    const holder = await readHolder(this.file);
    if (holder?.pid === process.pid) rmSync(this.file, { force: true });
  }
}

async function readHolder(file: string): Promise<Holder | undefined> {
  try {
    // Sync: a few bytes, read at every build's end, where fs/promises' readFile cost ~5 ms.
    return JSON.parse(readFileSync(file, "utf8")) as Holder;
  } catch {
    // Being written right now, or just removed: look again on the next poll.
    return undefined;
  }
}

async function olderThan(file: string, ms: number): Promise<boolean> {
  try {
    return Date.now() - (await stat(file)).mtimeMs > ms;
  } catch {
    return false;
  }
}
