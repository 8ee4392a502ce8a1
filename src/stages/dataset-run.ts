import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { UserInputError } from "../errors.js";
import { ok } from "../result.js";
import { type BaseModelRef } from "../dataset/base-model.js";
import { datasetCard } from "../dataset/card.js";
import { provenanceOf, taskOrigins } from "../dataset/provenance.js";
import type { DatasetTrace, ReadTrace } from "../dataset/read-traces.js";
import { verifierDrop, type RowOptions } from "../dataset/rows.js";
import { selectRows, type Selection } from "../dataset/select.js";
import { splitByTask } from "../dataset/split.js";
import { datasetStats, type CountedRow } from "../dataset/stats.js";
import { statsPython } from "../dataset/python.js";
import { countTokens, TokenizerUnavailable } from "../dataset/tokens.js";
import type { DatasetStats, DropReason, TrainingRow } from "../dataset/types.js";
import { configName } from "./config-name.js";
import type { RunContext } from "./types.js";
import type { Trace } from "../traces/types.js";
import { baseModelProblem, settingsOf } from "./dataset.js";

async function judgeTraces(ctx: RunContext, traces: ReadTrace[], options: Pick<RowOptions, "requireVerified">): Promise<ReadTrace[]> {
  const { judgeSetup, judgeMany, formatJudgeResult } = await import("../judge/index.js");
  const { judgeClient } = await import("../judge/client.js");
  const { describeArtifactError, readTrace } = await import("../artifacts/index.js");
  const setup = judgeSetup(ctx.subagent, configName(ctx.project));
  if (!setup.ok) throw new UserInputError("invalid judge settings", setup.error);
  const out = [...traces];
  // The judge reads the whole trace as the traces stage wrote it (the row's part is not enough).
  const candidates: { item: string; trace: DatasetTrace; whole: Trace }[] = [];
  for (const [i, t] of traces.entries()) {
    // Traces that already carry a score (an external judge, a plugin) keep it.
    if (!("trace" in t) || t.trace.judge || t.trace.status !== "completed" || !t.trace.contract.ok) continue;
    // A rollout dataset.require_verified drops anyway is not worth a judgment.
    if (verifierDrop(t.trace, options)) continue;
    const whole = await readTrace(ctx.upstream.traces!.dir, `items/${t.item}/trace.json`);
    if (whole.ok) candidates.push({ item: t.item, trace: t.trace, whole: whole.value });
    else out[i] = { item: t.item, problem: `not a whole trace for the judge: ${describeArtifactError(whole.error)}` };
  }
  if (!candidates.length) return out;
  const client = await judgeClient(ctx.project, ctx.subagent, setup.value, { stage: "dataset:judge", log: ctx.log });
  ctx.log(`judging ${candidates.length} rollouts with ${setup.value.model} (threshold ${ctx.subagent.dataset.judge_threshold})`);
  const results = await judgeMany(
    candidates.map((c) => c.whole),
    { client, model: setup.value.model, rubric: setup.value.rubric, concurrency: 2, signal: ctx.signal, onProgress: (p) => ctx.progress({ done: p.done, total: p.total, costUsd: p.costUsd }) },
  );
  await mkdir(join(ctx.outDir, "judge"), { recursive: true });
  for (const [i, c] of candidates.entries()) {
    const r = results[i]!;
    c.trace.judge = { score: r.score ?? 0 };
    await writeFile(join(ctx.outDir, "judge", `${c.item}.json`), formatJudgeResult(r));
  }
  return out;
}

export async function buildDataset(ctx: RunContext, base: BaseModelRef): Promise<void> {
  const settings = settingsOf(ctx.subagent);
  const { artifactOr, expectArtifact, readHeldOutTasks, readSpec, readTrainTasks } = await import("../artifacts/index.js");
  const { readTraces } = await import("../dataset/read-traces.js");
  // Every upstream file is read first: a bad one fails the stage before any tokenizer loads.
  const spec = expectArtifact(await readSpec(ctx.upstream.import!.dir), "import");
  const tasksDir = ctx.upstream.tasks?.dir;
  const tasks = tasksDir ? [...artifactOr(await readTrainTasks(tasksDir), "tasks", []), ...artifactOr(await readHeldOutTasks(tasksDir), "tasks", [])] : [];
  let traces = await readTraces(ctx.upstream.traces!.dir);
  const options: RowOptions = {
    judgeThreshold: settings.judge_threshold,
    maxRepeatedToolCalls: settings.max_repeated_tool_calls,
    keepReasoning: settings.keep_reasoning,
    requireVerified: settings.require_verified,
  };
  if (settings.judge_threshold !== null) {
    if (ctx.subagent.eval.judge) traces = await judgeTraces(ctx, traces, options);
    else if (traces.some((t) => "trace" in t && !t.trace.judge)) ctx.log("warning: dataset.judge_threshold is set but no judge is configured (eval.judge): traces without a judge score are kept");
  }
  if (settings.require_verified && traces.length && !traces.some((t) => "trace" in t && t.trace.verification)) {
    ctx.log("warning: dataset.require_verified is set but no trace carries a verifier result (the tasks have no `verify`): every rollout is dropped");
  }
  const d = ctx.subagent.dataset;
  let escalated = 0;
  if (d.include_escalations) {
    const { escalationTraces } = await import("../traffic/rows.js");
    const recorded = await escalationTraces(ctx.project.store, ctx.subagent.name, { holdout: ctx.subagent.tasks.holdout, contractTag: ctx.subagent.traces.output_contract.tag });
    escalated = recorded.length;
    traces = [...traces, ...recorded];
  }
  const unreadable = traces.filter((t) => "problem" in t);
  for (const t of unreadable.slice(0, 5)) ctx.log(`warning: ${t.problem}`);
  if (unreadable.length > 5) ctx.log(`warning: ${unreadable.length - 5} more traces are unreadable`);
  const selection = selectRows(traces, options);
  const { dropped, verification } = selection;
  const drop = (reason: DropReason): void => void dropped.set(reason, (dropped.get(reason) ?? 0) + 1);
  for (const c of selection.candidates) if (c.row.meta.trace_item.startsWith("traffic-")) c.row.meta.escalation = true;
  const answers = d.max_answer_tokens !== undefined ? await limitAnswers(selection.candidates, d.max_answer_tokens, d.long_answers, ctx.subagent.traces.output_contract.tag) : undefined;
  if (answers?.action === "drop") for (let i = 0; i < answers.long; i++) drop("long_answer");
  const candidates = answers?.kept ?? selection.candidates;
  ctx.progress({ done: 0, total: candidates.length });
  const tokens = await tokenise(ctx, base, candidates.map((c) => c.row));
  ctx.progress({ done: candidates.length, total: candidates.length });

  const kept: (CountedRow & { trace: DatasetTrace })[] = [];
  candidates.forEach((c, i) => {
    const n = tokens[i]!;
    if (n > settings.max_tokens_per_row) drop("too_long");
    else kept.push({ row: c.row, tokens: n, turns: c.trace.turns, toolErrors: c.trace.tool_errors, trace: c.trace });
  });
  const { train, validation } = splitByTask(kept, (k) => k.row.meta.task_id, settings.validation);
  const stats: DatasetStats = datasetStats({ traces: traces.length, train, validation, dropped, verification, baseModel: base.kind === "local" ? `local directory, tokenizer ${base.identity}` : base.id, settings });
  if (answers) stats.answers = { max_tokens: d.max_answer_tokens!, action: answers.action, long: answers.long };
  if (d.include_escalations) stats.escalations = { traces: escalated, rows: kept.filter((k) => k.row.meta.escalation).length };
  // Weights repeat rows in train.jsonl only: validation measures, it does not teach.
  const weighted = train.flatMap((r) => Array<CountedRow>(r.row.meta.escalation ? d.weights.escalations : d.weights.traces).fill(r));
  if (weighted.length !== train.length) stats.weighted_train_rows = weighted.length;
  const card = datasetCard(stats, provenanceOf({ name: spec.name, description: spec.description }, kept.map((k) => k.trace), taskOrigins(tasks)));

  const jsonl = (rows: CountedRow[]): string => rows.map((r) => `${JSON.stringify(r.row)}\n`).join("");
  await writeFile(join(ctx.outDir, "train.jsonl"), jsonl(weighted));
  await writeFile(join(ctx.outDir, "validation.jsonl"), jsonl(validation));
  await writeFile(join(ctx.outDir, "stats.json"), `${JSON.stringify(stats, null, 2)}\n`);
  await writeFile(join(ctx.outDir, "card.md"), card);
  const reasons = Object.entries(stats.dropped.by_reason).map(([r, n]) => `${r} ${n}`).join(", ");
  ctx.log(`${stats.rows} rows (${train.length} train, ${validation.length} validation) from ${traces.length} traces; dropped ${stats.dropped.total}${reasons ? ` (${reasons})` : ""}`);
  if (verification.traces) ctx.log(`verifier: ${verification.passed} of ${verification.traces} traces passed; ${stats.verification.rows} of ${stats.rows} rows verified`);
  if (!stats.rows) ctx.log("warning: no training rows: see card.md for why each trace was dropped");
  if (stats.escalations) ctx.log(`escalations: ${stats.escalations.rows} rows from ${stats.escalations.traces} recorded delegations the teacher answered`);
  if (stats.answers) ctx.log(`answers over ${stats.answers.max_tokens} tokens: ${stats.answers.long} ${stats.answers.action === "drop" ? "dropped" : "flagged (kept)"}`);
}

/**
 * dataset.max_answer_tokens: the final answer of each row (what the orchestrator would read) is
 * counted; a longer one is dropped, or kept with meta.long_answer for long_answers: flag.
 */
async function limitAnswers(candidates: Selection["candidates"], max: number, action: "drop" | "flag", tag: string): Promise<{ kept: Selection["candidates"]; long: number; action: "drop" | "flag" }> {
  const { answerText, countAnswerTokens } = await import("../traces/answer-tokens.js");
  const texts = candidates.map((c) => {
    const last = c.row.messages.at(-1);
    return last?.role === "assistant" && !last.tool_calls?.length ? answerText(last.content, tag) : "";
  });
  const counts = await countAnswerTokens(texts);
  const kept: Selection["candidates"] = [];
  let long = 0;
  candidates.forEach((c, i) => {
    if (counts[i]! <= max) return void kept.push(c);
    long++;
    if (action === "flag") {
      c.row.meta.long_answer = true;
      kept.push(c);
    }
  });
  return { kept, long, action };
}

/** Token counts per row, or none to count: the tokenizer is only loaded when there are rows. */
async function tokenise(ctx: RunContext, base: BaseModelRef, rows: TrainingRow[]): Promise<number[]> {
  if (!rows.length) return [];
  const tmp = await mkdtemp(join(tmpdir(), "sabuild-dataset-"));
  try {
    const rowsFile = join(tmp, "rows.jsonl");
    await writeFile(rowsFile, rows.map((r) => `${JSON.stringify(r)}\n`).join(""));
    ctx.log(`counting tokens of ${rows.length} rows with the tokenizer of ${base.kind === "local" ? base.dir : base.id}`);
    const venv = await statsPython(ctx.project.root, ctx.log, ctx.signal);
    return await countTokens({ python: venv.python, model: base.kind === "local" ? base.dir : base.id, rowsFile, rows: rows.length, signal: ctx.signal, log: ctx.log });
  } catch (e) {
    if (e instanceof TokenizerUnavailable) throw new UserInputError(e.message, [baseModelProblem(ctx.project, ctx.subagent, e)]);
    throw e;
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}
