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
import { parseCommandArgs, positiveInt } from "../args.js";

export const execHelp = `sabuild exec <node> --key <key> --order <base64> [--items <id,id,...>] [--store <dir>] [-j N]
  Runs one stage (or a slice of a map stage's items) as a local build would, for a build on
  another machine that submitted it (an executor's job), and uploads the results to the remote
  cache. Refuses to run when this checkout computes another key (exit 3).
  --order    what the submitting build computed the key with (upstream outputs, item keys)
  --items    the map items to run (default: a plain stage's run)
  --store    a store to keep between jobs (default: a temporary one, removed after)`;

/** Exit code of a refusal: this checkout or toolchain computes another key than the build's. */
const KEY_MISMATCH = 3;

export async function execCommand(argv: string[]): Promise<number> {
  const args = parseCommandArgs("exec", argv, { key: { type: "string" }, order: { type: "string" }, items: { type: "string" }, store: { type: "string" }, jobs: { type: "string", short: "j" } });
  if (args.help) return (console.log(execHelp), 0);
  const [id] = args.positionals;
  const key = args.values.key as string | undefined;
  if (!id || !key || typeof args.values.order !== "string") throw new UserInputError("sabuild exec needs <node>, --key and --order (the submitting build writes them)");
  const order = readOrder(args.values.order);
  const store = (args.values.store as string | undefined) ?? (await mkdtemp(join(tmpdir(), "sabuild-exec-")));
  try {
    const session = await openProject({ ...args.global, store });
    const node = session.nodes.find((n) => n.id === id);
    if (!node) throw new UserInputError(`sabuild exec: no node ${id} in this project`);
    const remote = session.remote;
    if (!remote?.canWrite) throw new UserInputError("sabuild exec needs a read-write remote cache (remote_cache in subagents.yaml, or SABUILD_REMOTE_CACHE): its results go back there");
    const jobs = positiveInt("jobs", args.values.jobs as string | undefined, 1);
    const items = typeof args.values.items === "string" ? args.values.items.split(",").filter(Boolean) : undefined;
    return await execNode(session, remote, node as EngineNode, key, order, items, jobs);
  } finally {
    if (args.values.store === undefined) await rm(store, { recursive: true, force: true });
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
    return KEY_MISMATCH;
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
            const r = await runStaged(env.store, signal, `${node.id}[${itemId}]`, itemPre, itemKey, [], async (outDir) => {
              const outcome = await localExecutor.runItem(node, opened, hooks(outDir, itemUps, `[${itemId}] `), item);
              if (outcome.outcome === "stopped") throw new Error(`stopped: ${outcome.why}`);
            });
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
  return mismatched ? KEY_MISMATCH : failed ? 1 : 0;
}
