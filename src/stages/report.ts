import { readdir, readFile, writeFile } from "node:fs/promises";
import { existsSync } from "node:fs";
import { join } from "node:path";
import type { EvalResult } from "../eval/types.js";
import { renderReportHtml } from "../report/html.js";
import { renderReportMarkdown } from "../report/markdown.js";
import type { ReportInput, StageSummary, TrainingSummary } from "../report/types.js";
import { ok } from "../result.js";
import type { Trace } from "../traces/types.js";
import type { RunContext, Stage } from "./types.js";

async function readJson<T>(path: string): Promise<T | undefined> {
  try {
    return JSON.parse(await readFile(path, "utf8")) as T;
  } catch {
    return undefined;
  }
}

async function tracesOf(dir: string): Promise<Trace[]> {
  const items = join(dir, "items");
  const out: Trace[] = [];
  for (const id of (await readdir(items).catch(() => [] as string[])).sort()) {
    const t = await readJson<Trace>(join(items, id, "trace.json"));
    if (t) out.push(t);
  }
  return out;
}

function countBy(xs: string[]): string {
  const m = new Map<string, number>();
  for (const x of xs) m.set(x, (m.get(x) ?? 0) + 1);
  return [...m].map(([k, v]) => `${v} ${k}`).join(", ");
}

/** Everything the page shows, gathered from the upstream stages' outputs. */
export async function gatherReport(ctx: RunContext): Promise<ReportInput> {
  const up = ctx.upstream;
  const stages: StageSummary[] = [];
  const notes: string[] = [];
  if (ctx.subagent.teacher.standin) notes.push(`The teacher is a scripted stand-in (${ctx.subagent.teacher.standin}), not a model: these figures show the pipeline working, not a real teacher's quality.`);
  if (!ctx.subagent.eval.gate && ctx.subagent.eval.gate_reason) notes.push(`Targets do not gate the build: ${ctx.subagent.eval.gate_reason}.`);
  const spec = up.import ? await readJson<{ description?: string }>(join(up.import.dir, "spec.json")) : undefined;

  const tasks = up.tasks ? await readJson<{ total: number; train: number; heldout: number; duplicates_dropped?: number; generated?: number }>(join(up.tasks.dir, "summary.json")) : undefined;
  if (tasks) stages.push({ kind: "tasks", status: "built", detail: `${tasks.total} tasks (${tasks.train} train, ${tasks.heldout} held out${tasks.generated ? `, ${tasks.generated} generated` : ""})` });

  if (up.traces) {
    const traces = await tracesOf(up.traces.dir);
    const cost = traces.reduce((a, t) => a + t.usage.cost_usd, 0);
    const ms = traces.reduce((a, t) => a + t.timings.duration_ms, 0);
    stages.push({ kind: "traces", status: "built", durationMs: ms, costUsd: cost, detail: `${traces.length} rollouts: ${countBy(traces.map((t) => t.status))} (time: sum over rollouts)` });
  }

  if (up.dataset) {
    const st = await readJson<{ rows: number; splits: { train: { rows: number }; validation: { rows: number } }; dropped: { total: number; by_reason: Record<string, number> }; tokens: { mean: number } }>(join(up.dataset.dir, "stats.json"));
    if (st) {
      const dropped = Object.entries(st.dropped.by_reason).map(([k, v]) => `${v} ${k}`).join(", ");
      stages.push({ kind: "dataset", status: "built", detail: `${st.rows} rows (${st.splits.train.rows} train, ${st.splits.validation.rows} validation), ${st.dropped.total} dropped${dropped ? ` (${dropped})` : ""}` });
    }
  }

  let training: TrainingSummary | undefined;
  if (up.train) {
    const m =
      (await readJson<Record<string, any>>(join(up.train.dir, "metrics.json"))) ?? (await readJson<Record<string, any>>(join(up.train.dir, "adapter", "metrics.json")));
    if (m) {
      const curve = (m.loss_curve ?? []) as { step: number; loss: number; eval_loss?: number }[];
      training = {
        loss: curve.filter((p) => typeof p.loss === "number").map((p) => ({ step: p.step, loss: p.loss })),
        ...(m.model ? { baseModel: String(m.model) } : {}),
        ...(m.throughput?.tokens_per_s ? { tokensPerSecond: m.throughput.tokens_per_s } : {}),
        ...(m.throughput?.train_runtime_s ? { runtimeS: m.throughput.train_runtime_s } : {}),
      };
      const loss = m.first_loss !== undefined && m.final_loss !== undefined ? `loss ${Number(m.first_loss).toFixed(3)} → ${Number(m.final_loss).toFixed(3)}` : "";
      stages.push({ kind: "train", status: "built", ...(m.throughput?.wall_s ? { durationMs: m.throughput.wall_s * 1000 } : {}), detail: `${m.steps ?? "?"} steps on ${m.device ?? "?"}${loss ? `, ${loss}` : ""}` });
    }
  }

  if (up.export) {
    const ex = await readJson<{ shipped: string; files: { path: string; bytes: number }[]; fidelity: string; timings_ms?: Record<string, number> }>(join(up.export.dir, "export.json"));
    if (ex) {
      const ms = Object.values(ex.timings_ms ?? {}).reduce((a, b) => a + b, 0);
      stages.push({ kind: "export", status: "built", ...(ms ? { durationMs: ms } : {}), detail: `${ex.files.filter((f) => f.path.endsWith(".gguf")).map((f) => f.path).join(", ")}; fidelity ${ex.fidelity}` });
    }
  }

  let ev: EvalResult | undefined;
  const traces: Record<string, Trace> = {};
  if (up.eval) {
    ev = await readJson<EvalResult>(join(up.eval.dir, "eval.json"));
    if (ev) {
      for (const t of ev.tasks) {
        for (const r of Object.values(t.results)) {
          if (!r || !existsSync(join(up.eval.dir, r.trace))) continue;
          const trace = await readJson<Trace>(join(up.eval.dir, r.trace));
          if (trace) traces[r.trace] = trace;
        }
      }
      const evalMs = Object.values(traces).reduce((a, t) => a + t.timings.duration_ms, 0);
      const cost = Object.values(traces).reduce((a, t) => a + t.usage.cost_usd, 0);
      stages.push({ kind: "eval", status: ev.gate.enabled ? (ev.gate.passed ? "targets met" : "targets missed") : "built", durationMs: evalMs, costUsd: cost, detail: `${ev.tasks.length} held-out tasks x ${Object.keys(ev.models).length} models` });
      for (const n of (ev as EvalResult & { notes?: string[] }).notes ?? []) notes.push(n);
    }
  }
  return {
    subagent: ctx.subagent.name,
    generatedAt: new Date().toISOString().slice(0, 10),
    ...(spec?.description ? { description: spec.description } : {}),
    stages,
    ...(training ? { training } : {}),
    ...(ev ? { eval: ev } : {}),
    traces,
    notes,
  };
}

/** The report page (HTML with inline SVG) and a markdown summary for CI comments. */
export function reportStage(): Stage {
  return {
    kind: "report",
    version: "1",
    deps: ["import", "tasks", "traces", "dataset", "train", "export", "eval"],
    async inputs({ subagent }) {
      return ok({
        params: {
          // The notes the page shows: a stand-in teacher, and targets that do not gate (with why).
          standin: subagent.teacher.standin ?? null,
          gate: subagent.eval.gate,
          gate_reason: subagent.eval.gate_reason ?? null,
        },
        files: [],
      });
    },
    async run(ctx) {
      const input = await gatherReport(ctx);
      await writeFile(join(ctx.outDir, "report.html"), renderReportHtml(input));
      await writeFile(join(ctx.outDir, "summary.md"), renderReportMarkdown(input));
      ctx.log(`report: ${input.stages.length} stages, ${input.eval?.tasks.length ?? 0} eval tasks`);
    },
  };
}
