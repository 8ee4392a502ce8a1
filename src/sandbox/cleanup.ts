import type { ChildProcess } from "node:child_process";
import { childProcess } from "../builtin.js";
import { createRequire } from "node:module";
import { hostname } from "node:os";
import type Docker from "dockerode";
import { sha256 } from "../engine/key.js";
import { processAlive } from "../process-alive.js";

/**
 * Nothing sabuild starts outlives it. Every container (sandboxes, llama-server, llama.cpp
 * tools, trainers) is created through `createOwnedContainer`: it carries the owner labels and
 * stays registered until removed. SIGINT, SIGTERM, SIGHUP and the exit remove what is
 * registered; containers of a process that died anyway (kill -9, a crash of the machine) are
 * reaped through their labels by the next sabuild process that uses Docker.
 */

export const LABEL_MANAGED = "sabuild.managed";
export const LABEL_PID = "sabuild.owner.pid";
export const LABEL_HOST = "sabuild.owner.host";
export const LABEL_PROJECT = "sabuild.project";
export const LABEL_RECIPE = "sabuild.recipe";
export const LABEL_CONTEXT = "sabuild.context";
/** What the container is for: sandbox, llama-server, llama-quantize, trainer. */
export const LABEL_ROLE = "sabuild.role";

/** Labels every container of this process carries. */
export function ownerLabels(): Record<string, string> {
  return { [LABEL_MANAGED]: "1", [LABEL_PID]: String(process.pid), [LABEL_HOST]: hostname() };
}

/** The project label: a hash of the project directory, so `docker ps` can tell projects apart. */
export function projectLabels(projectRoot: string): Record<string, string> {
  return { [LABEL_PROJECT]: sha256(projectRoot).slice(0, 12) };
}

const containers = new Map<string, () => Promise<void>>();
/** Host processes, and whether each leads a process group of its own (ended as a whole). */
const children = new Map<ChildProcess, boolean>();

/** Creates a container of this process (reaping dead processes' first, once per process). */
export async function createOwnedContainer(docker: Docker, spec: Docker.ContainerCreateOptions, role: string): Promise<Docker.Container> {
  await reapOnce(docker);
  install();
  const container = await docker.createContainer({ ...spec, Labels: { ...spec.Labels, ...ownerLabels(), [LABEL_ROLE]: role } });
  containers.set(container.id, () => forceRemove(container));
  return container;
}

/** Removes an owned container (gone already is fine) and forgets it. */
export async function removeOwned(container: Docker.Container): Promise<void> {
  try {
    await forceRemove(container);
  } finally {
    containers.delete(container.id);
  }
}

async function forceRemove(container: Docker.Container): Promise<void> {
  await container.remove({ force: true }).catch((e: unknown) => {
    // 404: removed already (by a signal handler, or by hand); 409: a removal is under way.
    const status = (e as { statusCode?: number }).statusCode;
    if (status !== 404 && status !== 409) throw e;
  });
}

/** A process this one started on the host (llama-server from PATH, a trainer): ended with it. */
export function ownChild(child: ChildProcess, opts: { group?: boolean } = {}): void {
  install();
  children.set(child, opts.group ?? false);
  child.once("exit", () => children.delete(child));
}

function endChildren(): void {
  for (const [child, group] of children) {
    try {
      if (group && child.pid) process.kill(-child.pid, "SIGTERM");
      else child.kill("SIGTERM");
    } catch {
      // gone already
    }
  }
}

/** Containers this process has open now (tests and the bench check that none leak). */
export function openContainerIds(): string[] {
  return [...containers.keys()];
}

let installed = false;
const waiters: ((signal: NodeJS.Signals) => void)[] = [];
const SIGNALS = ["SIGINT", "SIGTERM", "SIGHUP"] as const;

/**
 * Resolves on the first SIGINT, SIGTERM or SIGHUP, for commands that stop by themselves (serve):
 * that signal removes nothing, the command stops its servers and returns. A signal after
 * `cancel` aborted, or a second one, removes everything and ends the process.
 */
export function untilShutdown(cancel?: AbortSignal): Promise<NodeJS.Signals> {
  install();
  return new Promise((resolve) => {
    waiters.push(resolve);
    cancel?.addEventListener(
      "abort",
      () => {
        const i = waiters.indexOf(resolve);
        if (i >= 0) waiters.splice(i, 1);
      },
      { once: true },
    );
  });
}

function install(): void {
  if (installed) return;
  installed = true;
  // First in line, so that the count of listeners still includes `once` ones about to run.
  for (const signal of SIGNALS) process.prependListener(signal, onSignal);
  process.on("exit", atExit);
}

function onSignal(signal: NodeJS.Signals): void {
  if (waiters.length) {
    for (const resolve of waiters.splice(0)) resolve(signal);
    return;
  }
  // Others listening (build aborts its stages) carry on; alone, die of the signal as Node
  // would, once everything is removed.
  const alone = process.listenerCount(signal) === 1;
  endChildren();
  void Promise.allSettled([...containers.values()].map((remove) => remove())).then(() => {
    if (!alone) return;
    for (const s of SIGNALS) process.off(s, onSignal);
    process.kill(process.pid, signal);
  });
}

/** At exit nothing asynchronous runs: a detached node process removes what is left. */
function atExit(): void {
  endChildren();
  if (!containers.size) return;
  const dockerode = createRequire(import.meta.url).resolve("dockerode");
  const script = `const Docker=require(process.argv[1]);const d=new Docker();Promise.allSettled(process.argv.slice(2).map(id=>d.getContainer(id).remove({force:true})));`;
  try {
    childProcess().spawn(process.execPath, ["-e", script, dockerode, ...containers.keys()], { detached: true, stdio: "ignore" }).unref();
  } catch {
    // Exiting anyway: the next sabuild process reaps them by label.
  }
}

let reaping: Promise<void> | undefined;

/** Reaps once per process, before its first container; an unreachable engine is not an error here. */
export function reapOnce(docker?: Docker): Promise<void> {
  reaping ??= reapOrphans(docker).then(
    () => undefined,
    () => undefined,
  );
  return reaping;
}

/**
 * Removes sabuild containers of this host whose owner process is dead. Returns their ids.
 * Containers of other hosts (a shared engine) are left alone: their pids mean nothing here.
 */
export async function reapOrphans(docker?: Docker): Promise<string[]> {
  // Loaded here: a trainer on the host registers with this module without Docker.
  docker ??= await (await import("./docker.js")).dockerClient();
  const list = await docker.listContainers({ all: true, filters: { label: [`${LABEL_MANAGED}=1`] } });
  const host = hostname();
  const orphans = list.filter((c) => {
    const pid = Number(c.Labels[LABEL_PID]);
    return c.Labels[LABEL_HOST] === host && Number.isInteger(pid) && pid > 0 && pid !== process.pid && !processAlive(pid);
  });
  await Promise.allSettled(orphans.map((c) => docker.getContainer(c.Id).remove({ force: true })));
  return orphans.map((c) => c.Id);
}
