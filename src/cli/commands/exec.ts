import { mkdtemp, rm } from "node:fs/promises";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";
import { currentPreimage } from "../../engine/decide.js";
import { localExecutor, type ExecOrder } from "../../engine/executor.js";
import { computeKey, itemPreimage } from "../../engine/key.js";
import { Semaphore } from "../../engine/semaphore.js";
import { materializeUpstream, runStaged } from "../../engine/staging.js";
import type { EngineNode, RunHooks, UpstreamOutput } from "../../engine/types.js";
import { UserInputError } from "../../errors.js";
import { openProject, type Session } from "../../project.js";
import type { RemoteStore } from "../../remote/remote-store.js";
import { EXEC_EXIT, stopLine } from "../../executors/job-command.js";
import { parseCommandArgs, positiveInt } from "../args.js";

export const execHelp = `sabuild exec <node> --key <key> --order <base64> [--items <id,id,...>] [--inputs <base64>] [--store <dir>] [-j N]
  Runs one stage (or a slice of a map stage's items) as a local build would, for a build on
  another machine that submitted it (an executor's job), and uploads the results to the remote
  cache. Refuses to run when this checkout computes another key (exit 3); exits 4 when items
  stopped on a limit the stage enforces (a spend budget) and none failed.
  --order    what the submitting build computed the key with (upstream outputs, item keys)
  --items    the map items to run (default: a plain stage's run)
  --inputs   the project's inputs as a bundle in the remote cache (ship: bundle), unpacked into
             a scratch directory under the working directory, instead of a checkout (-C)
  --store    a store to keep between jobs (default: a temporary one, removed after)`;


export async function execCommand(argv: string[]): Promise<number> {
  const args = parseCommandArgs("exec", argv, { key: { type: "string" }, order: { type: "string" }, items: { type: "string" }, inputs: { type: "string" }, store: { type: "string" }, jobs: { type: "string", short: "j" } });
  if (args.help) return (console.log(execHelp), 0);
  const [id] = args.positionals;
  const key = args.values.key as string | undefined;
  if (!id || !key || typeof args.values.order !== "string") throw new UserInputError("sabuild exec needs <node>, --key and --order (the submitting build writes them)");
  const order = readOrder(args.values.order);
  const store = (args.values.store as string | undefined) ?? (await mkdtemp(join(tmpdir(), "sabuild-exec-")));
  let scratch: string | undefined;
  try {
    if (typeof args.values.inputs === "string") scratch = await unpack(args.values.inputs, store);
    const session = await openProject({ ...args.global, ...(scratch ? { dir: scratch } : {}), store });
    const node = session.nodes.find((n) => n.id === id);
    if (!node) throw new UserInputError(`sabuild exec: no node ${id} in this project`);
    const remote = session.remote;
    if (!remote?.canWrite) throw new UserInputError("sabuild exec needs a read-write remote cache (remote_cache in subagents.yaml, or SABUILD_REMOTE_CACHE): its results go back there");
    const jobs = positiveInt("jobs", args.values.jobs as string | undefined, 1);
    const items = typeof args.values.items === "string" ? args.values.items.split(",").filter(Boolean) : undefined;
    return await execNode(session, remote, node as EngineNode, key, order, items, jobs);
  } finally {
    if (scratch) await rm(scratch, { recursive: true, force: true });
    if (args.values.store === undefined) await rm(store, { recursive: true, force: true });
  }
}

/** ship: bundle: the project's inputs from the remote cache, in a scratch directory under the working directory. */
async function unpack(b64: string, storeDir: string): Promise<string> {
  const { decodeInputs, unpackInputs } = await import("../../executors/ship.js");
  const { resolveRemote } = await import("../../remote/settings.js");
  const { RemoteStore } = await import("../../remote/remote-store.js");
  const { openStore } = await import("../../store/index.js");
  const inputs = decodeInputs(b64);
  const settings = resolveRemote({ ...(inputs.remote_cache ? { remoteCache: inputs.remote_cache } : {}) }, process.env);
  if (!settings.ok) throw new UserInputError(`sabuild exec: remote cache: ${settings.error}`);
  if (!settings.value) throw new UserInputError("sabuild exec --inputs needs the remote cache the inputs were shipped through (remote_cache, or SABUILD_REMOTE_CACHE)");
  const store = await openStore(storeDir);
  const remote = new RemoteStore(settings.value, store, (text) => process.stderr.write(`warning: ${text}\n`));
  try {
    const dir = await unpackInputs(inputs, store, remote, process.cwd());
    say(`inputs ${inputs.tree.slice(0, 12)} unpacked in ${dir}`);
    return dir;
  } finally {
    remote.close();
  }
}

function readOrder(b64: string): ExecOrder {
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(b64, "base64").toString("utf8"));
  } catch {
    throw new UserInputError("sabuild exec: --order is not base64 JSON");
  }
  const o = parsed as Partial<ExecOrder>;
  if (typeof o !== "object" || o === null || typeof o.upstream !== "object" || o.upstream === null) throw new UserInputError("sabuild exec: --order lacks upstream");
  return { upstream: o.upstream, ...(o.items ? { items: o.items } : {}) };
}

function say(line: string): void {
  process.stdout.write(`${line}\n`);
}

async function fetchTrees(remote: RemoteStore, digests: Iterable<string>): Promise<void> {
  for (const d of new Set(digests)) if (!(await remote.fetchTree(d))) throw new Error(`an input (${d.slice(0, 12)}) is not in the remote cache${remote.down ? " (unavailable)" : ""}`);
}

async function execNode(session: Session, remote: RemoteStore, node: EngineNode, key: string, order: ExecOrder, items: string[] | undefined, jobs: number): Promise<number> {
  const env = session.env;
  // Which devices the scheduler gave the job: the first thing to check in a GPU job's log.
  say(`sabuild exec ${node.id} on ${hostname()}${items ? ` (${items.length} items)` : ""}, CUDA_VISIBLE_DEVICES=${process.env.CUDA_VISIBLE_DEVICES ?? ""}`);
  await fetchTrees(remote, Object.values(order.upstream));
  const pre = await currentPreimage(env, node, order.upstream);
  if (!pre.ok) throw new UserInputError(`sabuild exec: the inputs of ${node.id}`, pre.error);
  const here = computeKey(pre.value);
  if (here !== key) {
    process.stderr.write(`error: key mismatch for ${node.id}: this checkout computes ${here}, the build asked for ${key}\nhint: the node's checkout, config or toolchain differs from the submitting machine's; point the executor's workdir at the same revision\n`);
    return EXEC_EXIT.keyMismatch;
  }
  const signal = new AbortController().signal;
  const log: string[] = [];
  const ups = await materializeUpstream(env.store, order.upstream);
  const hooks = (outDir: string, upstream: Record<string, UpstreamOutput>, prefix = ""): RunHooks => ({
    outDir,
    upstream,
    signal,
    log: (line) => {
      log.push(prefix + line);
      say(prefix + line);
    },
    progress: () => {},
  });
  if (!node.stage.map) {
    if (items?.length) throw new UserInputError(`sabuild exec: ${node.id} is not a map stage; --items does not apply`);
    const result = await runStaged(env.store, signal, node.id, pre.value, key, log, (outDir) => localExecutor.run(node, hooks(outDir, ups)));
    await remote.upload(result);
    if (remote.down) return (process.stderr.write(`error: ${node.id} built, but its result could not be uploaded\n`), 1);
    say(`${node.id}: built and uploaded (${result.output.slice(0, 12)})`);
    return 0;
  }
  const map = node.stage.map;
  const streamed = new Set(map.stream ?? []);
  const shared = Object.fromEntries(Object.entries(ups).filter(([name]) => !streamed.has(name)));
  const opened = await map.open({ ...node.context, ...hooks("", shared), fileDigests: pre.value.files });
  let failed = 0;
  let stopped = 0;
  let mismatched = false;
  try {
    const byId = new Map(opened.items.map((i) => [i.id, i]));
    const slots = new Semaphore(jobs);
    await Promise.all(
      (items ?? []).map((itemId) =>
        slots.run(async () => {
          try {
            const item = byId.get(itemId);
            const wanted = order.items?.[itemId];
            if (!item || !wanted) throw new Error(`${node.id} has no item ${itemId} here`);
            const needs = wanted.needs ?? {};
            await fetchTrees(remote, Object.values(needs));
            const itemPre = itemPreimage(pre.value, item, map.over, needs, map.overFiles, map.overParams);
            const itemKey = computeKey(itemPre);
            if (itemKey !== wanted.key) mismatched = true;
            if (itemKey !== wanted.key) throw new Error(`key mismatch for item ${itemId}: this checkout computes ${itemKey}, the build asked for ${wanted.key}`);
            const itemUps = { ...shared, ...(await materializeUpstream(env.store, needs)) };
            let stop: { why: string; hint?: string } | undefined;
            const r = await runStaged(env.store, signal, `${node.id}[${itemId}]`, itemPre, itemKey, [], async (outDir) => {
              const outcome = await localExecutor.runItem(node, opened, hooks(outDir, itemUps, `[${itemId}] `), item);
              // As in a local build: nothing of a stopped item is kept (throwing leaves its staging unadopted).
              if (outcome.outcome === "stopped") throw new Error(`stopped: ${(stop = outcome).why}`);
            }).catch((e: unknown) => {
              if (stop) return undefined;
              throw e;
            });
            if (!r) {
              stopped++;
              // The build reads this line back from the job's log: the item ends stopped there too.
              say(stopLine(itemId, stop!.why, stop!.hint));
              return;
            }
            await remote.upload(r);
            if (remote.down) throw new Error("its result could not be uploaded");
            say(`[${itemId}] built and uploaded`);
          } catch (e) {
            failed++;
            process.stderr.write(`error: ${node.id} item ${itemId}: ${e instanceof Error ? e.message : String(e)}\n`);
          }
        }),
      ),
    );
  } finally {
    await opened.close?.();
  }
  return mismatched ? EXEC_EXIT.keyMismatch : failed ? 1 : stopped ? EXEC_EXIT.stopped : 0;
}

