import { availableParallelism } from "node:os";
import { join, relative } from "node:path";
import { existsSync } from "node:fs";
import { rm } from "node:fs/promises";
import { buildNodes, type BuildEnv, type NodeOutcome } from "../../engine/build.js";
import { describeFailure, describeReason, type EngineEvent } from "../../engine/events.js";
import { localExecutor } from "../../engine/executor.js";
import { placementFor } from "../../executors/index.js";
import type { EngineNode } from "../../engine/types.js";
import { selectNodes } from "../../engine/graph.js";
import { readLockfile, writeLockfile, type LockEntries } from "../../engine/lockfile.js";
import { openProject, type Session } from "../../project.js";
import { writeFileAtomic } from "../../store/atomic.js";
import { markVerified, rememberParams } from "../../store/verified.js";
import { sameStamp, stampOf } from "../../store/stamp.js";
import { acquireStoreLock } from "../store-lock.js";
import { optimizeFromNowOn } from "../v8-flags.js";
import { jsonRenderer, type JsonRenderer } from "../../logging/json.js";
import type { Renderer } from "../../logging/types.js";
import { parseCommandArgs, positiveInt } from "../args.js";
import { formatBytes, formatDuration, printJson, printProblems } from "../output.js";

export const buildHelp = `sabuild build [targets] [-j N] [--locked] [--remote-cache off|read|readwrite] [--executor local] [--json] [--verbose]
  Builds the targets (<subagent>, <subagent>:<stage> or <stage>; default: everything available)
  and what they depend on, reusing every result already in the store.
  -j N        run at most N stages or map items at once (default: CPU count)
  --locked    fail if any stage's inputs drifted from sabuild.lock (for CI); never rewrites it
  --remote-cache MODE  use the remote cache (subagents.yaml remote_cache, or SABUILD_REMOTE_CACHE=<url>)
              read: fetch only (untrusted jobs, pull requests); readwrite: also upload; off
  --executor local  run every stage on this machine, whatever executor: says (subagents.yaml)
  --verbose   print every stage log line (plain output)`;

export interface BuildOptions {
  targets: string[];
  jobs: number;
  locked: boolean;
  json: boolean;
  verbose: boolean;
  /** `--executor`: one executor for every stage of this build (local: this machine). */
  executor?: string;
}

export interface BuildSummary {
  exitCode: number;
  outcomes: NodeOutcome[];
  durationMs: number;
  /** With --json: each stage as the JSON renderer saw its events. */
  stages?: Record<string, unknown>[];
}

export async function buildCommand(argv: string[]): Promise<number> {
  const args = parseCommandArgs("build", argv, { jobs: { type: "string", short: "j" }, locked: { type: "boolean" }, verbose: { type: "boolean", short: "v" }, executor: { type: "string" } });
  if (args.help) return (console.log(buildHelp), 0);
  const warnings: string[] = [];
  const session = await openProject({ ...args.global, warn: (text) => warnings.push(text) });
  const opts: BuildOptions = {
    targets: args.positionals,
    jobs: positiveInt("jobs", args.values.jobs as string | undefined, availableParallelism()),
    locked: args.values.locked === true,
    json: args.global.json,
    verbose: args.values.verbose === true,
    ...(typeof args.values.executor === "string" ? { executor: args.values.executor } : {}),
  };
  const summary = await runBuild(session, opts, process.argv.slice(2).join(" "), warnings);
  if (opts.json) {
    const outcomes = new Map(summary.outcomes.map((o) => [o.id, o]));
    printJson({
      ok: summary.exitCode === 0,
      durationMs: summary.durationMs,
      ...(session.remote ? { remote: { url: session.remote.settings.url, mode: session.remote.settings.mode, available: !session.remote.down, ...session.remote.stats } } : {}),
      stages: (summary.stages ?? []).map((st) => {
        const o = outcomes.get(st.id as string);
        // Added in place (a copy of each of 1,000 records was a no-op's garbage); problems with their config lines.
        if (o?.gateFailure) st.gate = o.gateFailure;
        if (o?.failure?.reason === "inputs") st.problems = o.failure.problems;
        return st;
      }),
    });
  }
  return summary.exitCode;
}

/** One build of a project: lock the store, run, record. Shared by `build` and `watch`. */
export async function runBuild(session: Session, opts: BuildOptions, command: string, warnings: string[] = []): Promise<BuildSummary> {
  const started = Date.now();
  const { selected, byTarget } = selectNodes(session.nodes, opts.targets);
  const renderer = await pickRenderer(opts);
  for (const w of warnings) renderer.event({ type: "message", level: "warn", text: w });

  // A target that names only unavailable stages is refused. A subagent's stages past its
  // `until` (or a kind some subagents cannot run) are left out, as in a build of everything:
  // `build <subagent>` builds its pipeline as far as it goes.
  const unavailable = new Map(selected.filter((n) => n.stage.unavailable).map((n) => [n.id, n]));
  const explicitUnavailable = [...byTarget.values()].filter((ids) => ids.every((id) => unavailable.has(id))).flatMap((ids) => ids.map((id) => unavailable.get(id)!));
  if (explicitUnavailable.length) {
    for (const n of explicitUnavailable) process.stderr.write(`error: ${n.id}: ${n.stage.unavailable}\n`);
    return { exitCode: 1, outcomes: [], durationMs: Date.now() - started };
  }
  if (opts.locked) {
    const drift = await lockDrift(session, selected);
    if (drift.length) {
      process.stderr.write(`error: --locked: ${drift.length} stage(s) drifted from sabuild.lock:\n${drift.join("\n")}\nhint: run \`sabuild build\` without --locked and commit sabuild.lock\n`);
      return { exitCode: 1, outcomes: [], durationMs: Date.now() - started };
    }
  }

  const placement = await placementFor(session, selected, opts.executor);
  if (!placement.ok) {
    await printProblems(placement.error);
    return { exitCode: 2, outcomes: [], durationMs: Date.now() - started };
  }

  const lock = await acquireStoreLock(session.store.root, command);
  // Another build may have rewritten sabuild.lock while we waited for the store: start from its entries.
  // Unchanged by its stamp (inode, size, mtime, ctime): no need to read and hash it again.
  const fresh = session.lockStamp && sameStamp(stampOf(session.lockPath), session.lockStamp) ? undefined : await readLockfile(session.lockPath, "sabuild.lock");
  if (fresh?.ok && fresh.value.digest !== session.lockDigest) {
    session.lock = fresh.value.entries;
    session.env.lock = fresh.value.entries;
    session.lockDigest = fresh.value.digest;
    session.env.trustLock = false;
  }
  // Made when first asked for (a stage that runs, an interrupt): Node's AbortController module
  // costs a no-op build ~4 ms, and deciding that nothing runs only asks whether we were interrupted.
  let controller: AbortController | undefined;
  const control = (): AbortController => (controller ??= new AbortController());
  let interrupts = 0;
  const onSigint = (): void => {
    interrupts++;
    if (interrupts > 1) process.exit(130);
    process.stderr.write("\ninterrupted: stopping; finished work is kept (Ctrl-C again to quit at once)\n");
    control().abort(new Error("interrupted"));
  };
  process.on("SIGINT", onSigint);
  process.on("SIGTERM", onSigint);
  let outcomes: NodeOutcome[] = [];
  try {
    // Staging leftovers of a killed build: nobody else can be using them while we hold the lock.
    if (existsSync(session.store.cas.tmpDir)) await rm(session.store.cas.tmpDir, { recursive: true, force: true });
    renderer.start(selected.filter((n) => !n.stage.unavailable).map((n) => n.id));
    // Remote warnings go through the renderer, so they do not tear the listr2 tree.
    if (session.remote) session.remote.warn = (text) => renderer.event({ type: "message", level: "warn", text });
    const env: BuildEnv = {
      ...session.env,
      events: (e: EngineEvent) => {
        // Real work from here: V8's optimizing compilers back on (cli/v8-flags.ts).
        if (e.type === "stage-start") optimizeFromNowOn();
        renderer.event(e);
      },
      jobs: opts.jobs,
      get signal() {
        return control().signal;
      },
      interrupted: () => controller?.signal.aborted === true,
      executor: localExecutor,
      executorOf: placement.value,
    };
    outcomes = await buildNodes(env, selected);
    await checkGates(session, selected, outcomes, renderer);
    await renderer.stop();
    if (!opts.locked) await updateLockfile(session, outcomes);
    // A full, successful build has checked every output the lock names: later no-ops may trust it.
    const complete = opts.targets.length === 0 && outcomes.every((o) => o.status === "unavailable" || o.output !== undefined);
    if (complete && !opts.locked && !session.env.trustLock) await markVerified(session.store.root, session.project.root, session.lockDigest, session.lockPath, session.params, session.lock);
    // A no-op that had to hash some params keeps their text: the next one compares text only.
    else if (session.env.trustLock && session.params.learned) await rememberParams(session.store.root, session.project.root, session.lockDigest, session.params);
    await session.store.stat.save();
    await recordBuild(session, outcomes);
  } finally {
    process.off("SIGINT", onSigint);
    process.off("SIGTERM", onSigint);
    await lock.release();
  }
  const durationMs = Date.now() - started;
  const failed = outcomes.filter((o) => o.status === "failed");
  const gated = outcomes.filter((o) => o.gateFailure);
  // Problems about config values come from stages by key path: give them their line in the file.
  if (failed.some((o) => o.failure?.reason === "inputs")) {
    const { locateInConfig } = await import("../../config/positions.js");
    const shown = relative(session.project.root, session.project.file);
    for (const o of failed) if (o.failure?.reason === "inputs") o.failure = { reason: "inputs", problems: await locateInConfig(o.failure.problems, session.project.file, shown) };
  }
  const inputErrors = failed.filter((o) => o.failure?.reason === "inputs");
  if (!opts.json) {
    for (const o of gated) process.stderr.write(`error: ${o.id}: ${o.gateFailure}\n`);
    for (const o of failed) {
      if (o.failure?.reason === "inputs") await printProblems(o.failure.problems);
      else {
        const log = o.failure && "log" in o.failure && o.failure.log ? `\n  log: ${o.failure.log}` : "";
        process.stderr.write(`error: ${o.id}: ${o.failure ? describeFailure(o.failure) : "failed"}${log}\n`);
      }
    }
    const n = (s: string): number => outcomes.filter((o) => o.status === s).length;
    process.stderr.write(
      `${n("built")} built, ${n("restored")} restored, ${n("fetched") ? `${n("fetched")} fetched, ` : ""}${n("up-to-date")} up-to-date, ${n("unavailable")} unavailable` +
        `${failed.length ? `, ${failed.length} failed` : ""}${n("cancelled") ? `, ${n("cancelled")} cancelled` : ""} in ${formatDuration(durationMs)}\n`,
    );
    const remote = session.remote?.stats;
    if (remote && remote.fetchedBlobs + remote.uploadedBlobs > 0) {
      process.stderr.write(
        `remote cache: fetched ${remote.fetchedBlobs} blobs (${formatBytes(remote.fetchedBytes)}), uploaded ${remote.uploadedBlobs} (${formatBytes(remote.uploadedBytes)}), ${remote.skippedBlobs} already there\n`,
      );
    }
  }
  // A rebuilt stage whose output differs from the lock's makes its dependants drift too.
  const drifted = opts.locked ? outcomes.filter((o) => o.key && session.lock[o.id]?.key !== o.key) : [];
  if (drifted.length) {
    process.stderr.write(`error: --locked: rebuilt outputs differ from sabuild.lock: ${drifted.map((o) => o.id).join(", ")}\n`);
    return { exitCode: 1, outcomes, durationMs, ...stagesJson(opts, renderer) };
  }
  const exitCode = controller?.signal.aborted ? 130 : inputErrors.length && inputErrors.length === failed.length && !gated.length ? 2 : failed.length || gated.length ? 1 : 0;
  return { exitCode, outcomes, durationMs, ...stagesJson(opts, renderer) };
}

function stagesJson(opts: BuildOptions, renderer: Renderer): { stages?: Record<string, unknown>[] } {
  return opts.json ? { stages: (renderer as JsonRenderer).stages() } : {};
}

async function pickRenderer(opts: BuildOptions): Promise<Renderer> {
  // With --json, stdout is the JSON document; warnings still reach the user on stderr.
  if (opts.json) return jsonRenderer();
  if (process.stderr.isTTY && !process.env.CI) return (await import("../../logging/listr.js")).listrRenderer();
  return (await import("../../logging/plain.js")).plainRenderer({ verbose: opts.verbose });
}

/** Stages whose inputs no longer match sabuild.lock (a missing output is not drift: it is rebuilt). */
/** Stages with a gate (eval targets) check their output, built or cached; a miss fails the build. */
async function checkGates(session: Session, selected: Session["nodes"], outcomes: NodeOutcome[], renderer: Renderer): Promise<void> {
  if (!selected.some((n) => n.stage.gate)) return;
  const byId = new Map<string, EngineNode>(selected.map((n) => [n.id, n]));
  for (const o of outcomes) {
    const node = byId.get(o.id);
    if (!node?.stage.gate || !o.output || o.status === "failed" || o.status === "cancelled") continue;
    const dir = await session.store.cas.materialize(o.output);
    const message = await node.stage.gate(dir, node.context);
    if (message) {
      o.gateFailure = message;
      renderer.event({ type: "message", level: "warn", text: `${o.id}: ${message}` });
    }
  }
}

async function lockDrift(session: Session, selected: Session["nodes"]): Promise<string[]> {
  const { planNodes } = await import("../../engine/plan.js");
  const { planned } = await planNodes(session.env, selected);
  return planned
    .filter((s) => s.status === "cached" || ((s.status === "will-run" || s.status === "will-fetch") && !s.reasons.every((r) => r.type === "missing-output" || r.type === "upstream-will-run")) || s.status === "error")
    .map((s) => `  ${s.id}: ${s.reasons.map(describeReason).join("; ")}`);
}

async function updateLockfile(session: Session, outcomes: NodeOutcome[]): Promise<void> {
  const ids = new Set(session.nodes.map((n) => n.id));
  // A no-op: every outcome holds its node's own entry, and the lock names no node the graph lost.
  if (outcomes.every((o) => !o.lockEntry || session.lock[o.id] === o.lockEntry) && namesOnly(session.lock, ids)) return;
  const entries: LockEntries = {};
  for (const [id, e] of Object.entries(session.lock)) if (ids.has(id)) entries[id] = e;
  let changed = Object.keys(entries).length !== Object.keys(session.lock).length;
  for (const o of outcomes) {
    if (!o.lockEntry) continue;
    const old = entries[o.id];
    changed ||= !old || old.key !== o.lockEntry.key || old.output.digest !== o.lockEntry.output.digest;
    entries[o.id] = o.lockEntry;
  }
  // Rendering ~1,000 entries only to find them equal is a tenth of a no-op build: skip it.
  if (changed) session.lockDigest = await writeLockfile(session.lockPath, entries);
  session.lock = entries;
  session.env.lock = entries;
}

function namesOnly(lock: LockEntries, ids: ReadonlySet<string>): boolean {
  for (const id in lock) if (!ids.has(id)) return false;
  return true;
}

/** Remembered for `gc`: the last builds' results stay even when sabuild.lock moves on. */
async function recordBuild(session: Session, outcomes: NodeOutcome[]): Promise<void> {
  // A build that only found everything up to date changes nothing gc needs to know.
  if (!outcomes.some((o) => o.status === "built" || o.status === "restored")) return;
  const stages = outcomes.filter((o) => o.key && o.output).map((o) => ({ id: o.id, key: o.key!, output: o.output! }));
  const name = `${new Date().toISOString().replace(/[:.]/g, "-")}-${process.pid}.json`;
  await writeFileAtomic(join(session.store.root, "builds", name), `${JSON.stringify({ project: session.project.root, stages }, null, 1)}\n`);
}
