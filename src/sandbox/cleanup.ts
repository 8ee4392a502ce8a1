import { spawn } from "node:child_process";
import { createRequire } from "node:module";
import { hostname } from "node:os";
import type Docker from "dockerode";
import { sha256 } from "../engine/key.js";
import { dockerClient } from "./docker.js";
import { processAlive } from "../process-alive.js";

/**
 * Containers never outlive their rollout: open sessions are registered, removed on SIGINT,
 * SIGTERM and exit, and containers left by a process that died anyway (kill -9, a crash of the
 * machine) are reaped by the next one through their labels.
 */

export const LABEL_MANAGED = "sabuild.managed";
export const LABEL_PID = "sabuild.owner.pid";
export const LABEL_HOST = "sabuild.owner.host";
export const LABEL_PROJECT = "sabuild.project";
export const LABEL_RECIPE = "sabuild.recipe";
export const LABEL_CONTEXT = "sabuild.context";

/** Labels every container of this process carries. */
export function ownerLabels(): Record<string, string> {
  return { [LABEL_MANAGED]: "1", [LABEL_PID]: String(process.pid), [LABEL_HOST]: hostname() };
}

/** The project label: a hash of the project directory, so `docker ps` can tell projects apart. */
export function projectLabels(projectRoot: string): Record<string, string> {
  return { [LABEL_PROJECT]: sha256(projectRoot).slice(0, 12) };
}

type Remover = () => Promise<void>;
const open = new Map<string, Remover>();
let installed = false;

export function registerContainer(id: string, remove: Remover): void {
  install();
  open.set(id, remove);
}

export function unregisterContainer(id: string): void {
  open.delete(id);
}

/** Containers this process has open now (tests and the bench check that none leak). */
export function openContainerIds(): string[] {
  return [...open.keys()];
}

function install(): void {
  if (installed) return;
  installed = true;
  const onSignal = (signal: NodeJS.Signals): void => {
    const removing = Promise.allSettled([...open.values()].map((remove) => remove()));
    // Alone on this signal, this listener must not swallow it: clean up, then die of it as Node would.
    if (process.listenerCount(signal) === 1) {
      void removing.then(() => {
        process.off(signal, onSignal);
        process.kill(process.pid, signal);
      });
    }
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  process.on("exit", () => {
    if (open.size) removeDetached([...open.keys()]);
  });
}

/** At exit nothing asynchronous runs: a detached node process removes what is left. */
function removeDetached(ids: string[]): void {
  const dockerode = createRequire(import.meta.url).resolve("dockerode");
  const script = `const Docker=require(process.argv[1]);const d=new Docker();Promise.allSettled(process.argv.slice(2).map(id=>d.getContainer(id).remove({force:true})));`;
  try {
    spawn(process.execPath, ["-e", script, dockerode, ...ids], { detached: true, stdio: "ignore" }).unref();
  } catch {
    // Exiting anyway: the next sabuild process reaps them by label.
  }
}


/**
 * Removes sabuild containers of this host whose owner process is dead. Returns their ids.
 * Containers of other hosts (a shared engine) are left alone: their pids mean nothing here.
 */
export async function reapOrphans(docker?: Docker): Promise<string[]> {
  docker ??= await dockerClient();
  const list = await docker.listContainers({ all: true, filters: { label: [`${LABEL_MANAGED}=1`] } });
  const host = hostname();
  const orphans = list.filter((c) => {
    const pid = Number(c.Labels[LABEL_PID]);
    return c.Labels[LABEL_HOST] === host && Number.isInteger(pid) && pid > 0 && pid !== process.pid && !processAlive(pid);
  });
  await Promise.allSettled(orphans.map((c) => docker.getContainer(c.Id).remove({ force: true })));
  return orphans.map((c) => c.Id);
}
