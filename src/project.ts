import { relative, resolve } from "node:path";
import type { ProjectConfig } from "./config/index.js";
import { loadConfigCached } from "./config/cached.js";
import { UserInputError } from "./errors.js";
import type { EvalEnv } from "./engine/decide.js";
import { buildGraph, type PipelineNode } from "./stages/pipeline.js";
import { readLockfile, type LockEntries } from "./engine/lockfile.js";
import { loadPlugins } from "./plugins.js";
import { builtinStages, stageMap } from "./stages/index.js";
import { openStore, type Store } from "./store/index.js";
import { isVerified, paramsMemory, verifiedLockDigest, verifiedLockEntries, type ParamsMemory } from "./store/verified.js";
import { stampOf, type FileStamp } from "./store/stamp.js";
import { ok } from "./result.js";
import type { RemoteStore } from "./remote/remote-store.js";
import { resolveRemote, type RemoteMode } from "./remote/settings.js";

export interface Session {
  project: ProjectConfig;
  store: Store;
  lockPath: string;
  lock: LockEntries;
  /** sha256 of sabuild.lock's text as read ("" when there is none). */
  lockDigest: string;
  /** sabuild.lock's stamp as read: a build that finds it unchanged after taking the store need not read it again. */
  lockStamp?: FileStamp;
  nodes: PipelineNode[];
  /** The remote cache, with its settings and counters (the engine sees it as env.remote). */
  remote?: RemoteStore;
  env: EvalEnv;
  /** Params texts remembered with the verified lock (env.knownParams), to keep what a build learns. */
  params: ParamsMemory;
}

export interface OpenOptions {
  /** Project directory (`-C`). */
  dir: string;
  /** Config file, relative to dir (default subagents.yaml). */
  config?: string;
  /** `--remote-cache=<mode>`: overrides the environment and subagents.yaml. */
  remoteMode?: RemoteMode;
  /** A store other than the project's (`sabuild exec` on a cluster node keeps its own). */
  store?: string;
  /** Where warnings found while opening go (a build hands them to its renderer); default stderr. */
  warn?: (text: string) => void;
}

/** Loads config, plugins, store and lock file: everything a command needs. Bad input throws UserInputError. */
export async function openProject(opts: OpenOptions): Promise<Session> {
  const file = resolve(opts.dir, opts.config ?? "subagents.yaml");
  const loaded = await loadConfigCached(file);
  if (!loaded.ok) {
    const shown = relative(process.cwd(), file);
    throw new UserInputError(`invalid ${shown && !shown.startsWith("..") ? shown : file}`, loaded.error);
  }
  const project = loaded.value;
  if (project.sandboxEngine !== "docker") (await import("./sandbox/engine.js")).useEngine(project.sandboxEngine);
  const store = await openStore(opts.store ?? project.store);
  const plugins = await loadPlugins(project.root, project.plugins, store.stat);
  const stages = stageMap([...(await builtinStages(new Set(plugins.stages.map((s) => s.kind)))), ...plugins.stages]);
  const lockPath = resolve(project.root, "sabuild.lock");
  // A lock verified as it is now is trusted by its stamp, without hashing it, and read from the
  // record's one-line entries, without parsing it (store/verified.ts, engine/lock-line.ts).
  const stamp = stampOf(lockPath);
  const recorded = stamp ? verifiedLockEntries(store.root, project.root, stamp) : undefined;
  let trusted = recorded !== undefined;
  const lock = recorded
    ? ok({ entries: recorded.entries, digest: recorded.digest, stamp: stamp! })
    : await readLockfile(lockPath, "sabuild.lock", (stamp) => {
        const digest = verifiedLockDigest(store.root, project.root, stamp);
        trusted = digest !== undefined;
        return digest;
      });
  if (!lock.ok) throw new UserInputError("invalid sabuild.lock", lock.error);
  // Benchmarks are project-level nodes; their module loads only for a project that declares one.
  const benchmarks = project.benchmarks.length ? (await import("./stages/bench.js")).benchmarkStages(project) : [];
  const libraries = project.libraries.length ? (await import("./stages/library.js")).libraryStages(project) : [];
  const nodes = buildGraph(project, stages, [...benchmarks, ...libraries, ...plugins.projectStages], store.stat);
  const warn = opts.warn ?? ((text: string) => process.stderr.write(`warning: ${text}\n`));
  let remote = resolveRemote(project, process.env, opts.remoteMode);
  if (!remote.ok) {
    // Asked for on the command line, a remote that cannot be set up is an error; configured in
    // the file, it must not stop someone without the cache's credentials from building locally.
    if (opts.remoteMode) throw new UserInputError(`remote cache: ${remote.error}`);
    warn(`remote cache disabled: ${remote.error}`);
    remote = { ok: true, value: undefined };
  }
  // Loaded only when a remote cache is configured: its HTTP client costs a no-op build ~25 ms.
  const remoteStore = remote.value ? new (await import("./remote/remote-store.js")).RemoteStore(remote.value, store, (text) => process.stderr.write(`warning: ${text}\n`)) : undefined;
  const params = paramsMemory(store.root, project.root, nodes.map((n) => n.id));
  const env: EvalEnv = {
    root: project.root,
    store,
    lock: lock.value.entries,
    trustLock: trusted || (lock.value.digest !== "" && isVerified(store.root, project.root, lock.value.digest)),
    knownParams: params,
    toolchainOf: (node) => plugins.identity.get(node.id) ?? plugins.identity.get(node.kind) ?? {},
    ...(remoteStore ? { remote: remoteStore } : {}),
  };
  return { project, store, lockPath, lock: lock.value.entries, lockDigest: lock.value.digest, ...(lock.value.stamp ? { lockStamp: lock.value.stamp } : {}), nodes, env, params, ...(remoteStore ? { remote: remoteStore } : {}) };
}
