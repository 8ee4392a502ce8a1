import { readdir, writeFile } from "node:fs/promises";
import { existsSync } from "node:fs";
import { join } from "node:path";
import type { EvalResult } from "../eval/types.js";
import { renderReportHtml } from "../report/html.js";
import { renderReportMarkdown } from "../report/markdown.js";
import type { ReportInput, StageSummary, TrainingSummary } from "../report/types.js";
import { ok } from "../result.js";
import type { Trace } from "../traces/types.js";
import type { RunContext } from "./types.js";

type Artifacts = typeof import("../artifacts/index.js");

/**
 * The traces stage's rollouts, by item id. One that is not a trace is left out with a warning,
 * as the dataset drops it (unreadable_trace).
 */
async function tracesOf(artifacts: Artifacts, dir: string, log: (line: string) => void): Promise<Trace[]> {
  const out: Trace[] = [];
  for (const id of (await readdir(join(dir, "items")).catch(() => [] as string[])).sort()) {
    const t = await artifacts.readTrace(dir, `items/${id}/trace.json`);
    if (t.ok) out.push(t.value);
    else log(`warning: left out of the report: ${artifacts.describeArtifactError(t.error)}`);
  }
  return out;
}

function countBy(xs: string[]): string {
  const m = new Map<string, number>();
  for (const x of xs) m.set(x, (m.get(x) ?? 0) + 1);
  return [...m].map(([k, v]) => `${v} ${k}`).join(", ");
}

/**
 * Everything the page shows, gathered from the upstream stages' outputs. A file an upstream did
 * not write is left off the page; one it wrote that is not its format fails the report.
 */
export async function gatherReport(ctx: RunContext): Promise<ReportInput> {
  const artifacts = await import("../artifacts/index.js");
  const up = ctx.upstream;
  const stages: StageSummary[] = [];
  const notes: string[] = [];
  if (ctx.subagent.teacher.standin) notes.push(`The teacher is a scripted stand-in (${ctx.subagent.teacher.standin}), not a model: these figures show the pipeline working, not a real teacher's quality.`);
  if (!ctx.subagent.eval.gate && ctx.subagent.eval.gate_reason) notes.push(`Targets do not gate the build: ${ctx.subagent.eval.gate_reason}.`);
  const spec = up.import ? artifacts.artifactOr(await artifacts.readSpec(up.import.dir), "import", undefined) : undefined;

  const tasks = up.tasks ? artifacts.artifactOr(await artifacts.readTaskSummary(up.tasks.dir), "tasks", undefined) : undefined;
  if (tasks) stages.push({ kind: "tasks", status: "built", detail: `${tasks.total} tasks (${tasks.train} train, ${tasks.heldout} held out${tasks.generated ? `, ${tasks.generated} generated` : ""})` });

  if (up.traces) {
    const traces = await tracesOf(artifacts, up.traces.dir, ctx.log);
    const cost = traces.reduce((n, t) => n + t.usage.cost_usd, 0);
    const ms = traces.reduce((n, t) => n + t.timings.duration_ms, 0);
    const verified = traces.filter((t) => t.verification);
    const tests = verified.length ? `; tests passed on ${verified.filter((t) => t.verification!.passed).length} of ${verified.length} verified` : "";
    stages.push({ kind: "traces", status: "built", durationMs: ms, costUsd: cost, detail: `${traces.length} rollouts: ${countBy(traces.map((t) => t.status))}${tests} (time: sum over rollouts)` });
  }

  if (up.dataset) {
    const st = artifacts.artifactOr(await artifacts.readDatasetStats(up.dataset.dir), "dataset", undefined);
    if (st) {
      const dropped = Object.entries(st.dropped.by_reason).map(([k, v]) => `${v} ${k}`).join(", ");
      const verified = st.verification.traces ? `, ${st.verification.rows} verified` : "";
      stages.push({ kind: "dataset", status: "built", detail: `${st.rows} rows (${st.splits.train.rows} train, ${st.splits.validation.rows} validation${verified}), ${st.dropped.total} dropped${dropped ? ` (${dropped})` : ""}` });
    }
  }

  let training: TrainingSummary | undefined;
  if (up.train) {
    const m = artifacts.artifactOr(await artifacts.readTrainMetrics(up.train.dir), "train", undefined);
    if (m) {
      training = {
        loss: m.loss_curve.flatMap((p) => (typeof p.loss === "number" ? [{ step: p.step, loss: p.loss }] : [])),
        ...(m.model ? { baseModel: m.model } : {}),
        ...(m.throughput?.tokens_per_s ? { tokensPerSecond: m.throughput.tokens_per_s } : {}),
        ...(m.throughput?.train_runtime_s ? { runtimeS: m.throughput.train_runtime_s } : {}),
      };
      const loss = m.first_loss !== undefined && m.final_loss !== undefined ? `loss ${Number(m.first_loss).toFixed(3)} → ${Number(m.final_loss).toFixed(3)}` : "";
      stages.push({ kind: "train", status: "built", ...(m.throughput?.wall_s ? { durationMs: m.throughput.wall_s * 1000 } : {}), detail: `${m.steps ?? "?"} steps on ${m.device ?? "?"}${loss ? `, ${loss}` : ""}` });
    }
  }

  if (up.export) {
    const ex = artifacts.artifactOr(await artifacts.readExportSummary(up.export.dir), "export", undefined);
    if (ex) {
      const ms = Object.values(ex.timings_ms ?? {}).reduce((n, b) => n + b, 0);
      const ggufs = ex.files.filter((f) => f.path.endsWith(".gguf")).map((f) => f.path);
      const detail = [ggufs.join(", "), ex.fidelity ? `fidelity ${ex.fidelity}` : ""].filter(Boolean).join("; ");
      stages.push({ kind: "export", status: "built", ...(ms ? { durationMs: ms } : {}), detail });
    }
  }

  let ev: EvalResult | undefined;
  const traces: Record<string, Trace> = {};
  if (up.eval) {
    const read = artifacts.artifactOr(await artifacts.readEvalResult(up.eval.dir), "eval", undefined);
    if (read) {
      ev = read;
      for (const t of read.tasks) {
        for (const r of Object.values(t.results)) {
          // eval.json names each rollout's trace; one that is there is read whole (the page shows it).
          if (!r || !existsSync(join(up.eval.dir, r.trace))) continue;
          traces[r.trace] = artifacts.expectArtifact(await artifacts.readTrace(up.eval.dir, r.trace), "eval");
        }
      }
      const evalMs = Object.values(traces).reduce((n, t) => n + t.timings.duration_ms, 0);
      const cost = Object.values(traces).reduce((n, t) => n + t.usage.cost_usd, 0);
      stages.push({ kind: "eval", status: read.gate.enabled ? (read.gate.passed ? "targets met" : "targets missed") : "built", durationMs: evalMs, costUsd: cost, detail: `${read.tasks.length} held-out tasks x ${Object.keys(read.models).length} models` });
      for (const n of read.notes) notes.push(n);
    }
  }
  const routing = up.router ? artifacts.artifactOr(await artifacts.readCurve(up.router.dir), "router", undefined) : undefined;
  return {
    subagent: ctx.subagent.name,
    generatedAt: new Date().toISOString().slice(0, 10),
    ...(spec?.description ? { description: spec.description } : {}),
    stages,
    ...(training ? { training } : {}),
    ...(ev ? { eval: ev } : {}),
    ...(routing ? { routing } : {}),
    traces,
    notes,
  };
}

/** Writes the report page and the markdown summary from the upstream outputs. */
export async function runReport(ctx: RunContext): Promise<void> {
  const input = await gatherReport(ctx);
  await writeFile(join(ctx.outDir, "report.html"), renderReportHtml(input));
  await writeFile(join(ctx.outDir, "summary.md"), renderReportMarkdown(input));
  ctx.log(`report: ${input.stages.length} stages, ${input.eval?.tasks.length ?? 0} eval tasks`);
}
