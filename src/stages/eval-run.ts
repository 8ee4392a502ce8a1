import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { checkTargets, isSuccess, ratios, summarize, type Outcome } from "../eval/metrics.js";
import type { EvalResult, EvalRole, ModelSummary, TaskOutcome } from "../eval/types.js";
import { Meter } from "../llm/accounting.js";
import { openTeacher } from "../llm/teacher.js";
import { baseGguf, serveGguf, type ServedModel } from "../eval/serve-gguf.js";
import { envId } from "../envs/identity.js";
import { openAgentRun, readAgentFiles } from "../traces/agent-run.js";
import type { Trace } from "../traces/types.js";
import { configName } from "./config-name.js";
import type { RunContext } from "./types.js";

function serve(ctx: RunContext, role: "student" | "base", gguf: string, meter: Meter): Promise<ServedModel> {
  // The export output is content-addressed: its digest names the model in the response cache.
  return serveGguf({ project: ctx.project, subagent: ctx.subagent, role, gguf, cacheId: ctx.upstream.export!.digest, parallel: ctx.subagent.eval.concurrency, meter, stage: `eval:${role}`, log: ctx.log, signal: ctx.signal });
}

export async function runEval(ctx: RunContext): Promise<void> {
  const s = ctx.subagent;
  const e = s.eval;
  const { artifactOr, expectArtifact, readExportSummary, readHeldOutTasks } = await import("../artifacts/index.js");
  const heldout = artifactOr(await readHeldOutTasks(ctx.upstream.tasks!.dir), "tasks", []);
  const notes: string[] = [];
  if (heldout.length === 0) notes.push("no held-out tasks: raise tasks.holdout or write more tasks");
  const agent = openAgentRun(await readAgentFiles(ctx.upstream.import!.dir, ctx.upstream.sandbox!), { project: ctx.project, subagent: s, log: ctx.log, signal: ctx.signal });
  // Every held-out task's environment, built (or found) before any model server starts, so a Docker problem fails fast.
  for (const env of new Set(heldout.map((t) => envId(t.env)))) await agent.image(env);
  const meter = new Meter();
  const exportSummary = expectArtifact(await readExportSummary(ctx.upstream.export!.dir), "export");
  const outcomes: Partial<Record<EvalRole, Outcome[]>> = {};
  const work = await mkdtemp(join(tmpdir(), "sabuild-eval-"));
  let done = 0;
  const total = heldout.length * e.models.length;
  try {
    for (const role of orderOf(e.models)) {
      if (heldout.length === 0) break;
      let served: ServedModel | undefined;
      try {
        if (role === "teacher") {
          const t = await openTeacher(ctx.project, s, { stage: "eval", meter, log: ctx.log, temperature: 0 });
          served = { client: t.client, model: { ...t.identity, role: "teacher" }, stop: async () => undefined };
        } else if (role === "student") {
          served = await serve(ctx, "student", join(ctx.upstream.export!.dir, exportSummary.shipped), meter);
        } else {
          const base = await baseGguf(ctx.project, s, work, exportSummary.gguf_outtype, ctx);
          if (!base.ok) {
            notes.push(`base model not evaluated: ${base.error}`);
            ctx.log(`warning: base model not evaluated: ${base.error}`);
            continue;
          }
          served = await serve(ctx, "base", base.value, meter);
        }
        const current = served;
        const results: Outcome[] = new Array(heldout.length);
        let next = 0;
        const worker = async (): Promise<void> => {
          while (next < heldout.length) {
            const i = next++;
            const task = heldout[i]!;
            const trace = await agent.rollout({
              task: { id: task.id, prompt: task.prompt, tags: task.tags },
              env: envId(task.env),
              ...(task.verify ? { verify: task.verify } : {}),
              sample: 0,
              client: current.client,
              model: current.model,
              sampling: { temperature: 0, max_tokens: role === "teacher" ? s.teacher.max_tokens : e.max_tokens },
            });
            results[i] = { trace, judgePass: true };
            ctx.progress({ done: ++done, total, costUsd: meter.total().cost_usd });
            ctx.log(`${role} ${task.id}: ${trace.status} in ${trace.turns} turns`);
          }
        };
        await Promise.all(Array.from({ length: Math.min(e.concurrency, heldout.length) }, worker));
        outcomes[role] = results;
      } finally {
        await served?.stop();
      }
    }
  } finally {
    await rm(work, { recursive: true, force: true });
  }

  await countAnswers(outcomes, s.traces.output_contract.tag);
  if (e.judge && heldout.length) await judgeOutcomes(ctx, outcomes, meter);

  const models: Partial<Record<EvalRole, ModelSummary>> = {};
  for (const role of e.models) if (outcomes[role]) models[role] = summarize(role, outcomes[role]!, s.traces.max_turns);
  const r = ratios(models.student, models.teacher);
  const targets = checkTargets(e.targets, models.student, r);
  const tasks: TaskOutcome[] = heldout.map((t, i) => ({
    id: t.id,
    prompt: t.prompt,
    results: Object.fromEntries(
      (Object.entries(outcomes) as [EvalRole, Outcome[]][]).map(([role, os]) => {
        const o = os[i]!;
        return [role, { status: o.trace.status, success: isSuccess(o), ...(o.judge?.score !== undefined && o.judge.score !== null ? { score: o.judge.score } : {}), trace: `traces/${role}/${t.id}.json`, ...(o.judge ? { judge: `judge/${role}/${t.id}.json` } : {}), ...(o.answerTokens !== undefined ? { answer_tokens: o.answerTokens } : {}) }];
      }),
    ),
  }));
  const result: EvalResult & { notes: string[]; spend: ReturnType<Meter["summary"]> } = {
    version: 1,
    subagent: s.name,
    models,
    ratios: r,
    targets,
    gate: { enabled: e.gate, ...(e.gate_reason ? { reason: e.gate_reason } : {}), passed: targets.every((t) => t.ok) },
    tasks,
    notes,
    spend: meter.summary(),
  };
  for (const [role, os] of Object.entries(outcomes) as [EvalRole, Outcome[]][]) {
    await mkdir(join(ctx.outDir, "traces", role), { recursive: true });
    if (os.some((o) => o.judge)) await mkdir(join(ctx.outDir, "judge", role), { recursive: true });
    for (const [i, o] of os.entries()) {
      await writeFile(join(ctx.outDir, "traces", role, `${heldout[i]!.id}.json`), `${JSON.stringify(o.trace, null, 1)}\n`);
      if (o.judge) await writeFile(join(ctx.outDir, "judge", role, `${heldout[i]!.id}.json`), `${JSON.stringify(o.judge, null, 1)}\n`);
    }
  }
  await writeFile(join(ctx.outDir, "eval.json"), `${JSON.stringify(result, null, 2)}\n`);
  for (const role of e.models) {
    const m = models[role];
    if (m) ctx.log(`${role}: success ${(m.success_rate * 100).toFixed(0)}% over ${m.tasks} tasks${m.judge ? `, judge ${m.judge.score.toFixed(2)}` : ""}, ${m.turns_mean} turns, p50 ${m.latency_ms.p50} ms`);
  }
  for (const t of targets) ctx.log(`target ${t.name} ${t.expected}: ${t.ok ? "met" : "missed"} (actual ${t.actual ?? "n/a"})`);
}

/** The length of what each rollout hands back to the orchestrator, in tokens (before judging: the judge is shown it). */
async function countAnswers(outcomes: Partial<Record<EvalRole, Outcome[]>>, tag: string): Promise<void> {
  const all = Object.values(outcomes).flat();
  const { answerText, countAnswerTokens } = await import("../traces/answer-tokens.js");
  const counts = await countAnswerTokens(all.map((o) => answerText(o.trace.messages.at(-1)?.content, tag, o.trace.final_answer)));
  all.forEach((o, i) => (o.answerTokens = counts[i]!));
}

/** Teacher first: its traces are the judge's reference for the others. */
function orderOf(models: readonly EvalRole[]): EvalRole[] {
  return (["teacher", "student", "base"] as const).filter((m) => models.includes(m));
}

async function judgeOutcomes(ctx: RunContext, outcomes: Partial<Record<EvalRole, Outcome[]>>, meter: Meter): Promise<void> {
  const { judgeSetup, judgeMany, judgeVerdict } = await import("../judge/index.js");
  const s = ctx.subagent;
  const setup = judgeSetup(s, configName(ctx.project));
  if (!setup.ok) throw new Error(setup.error.map((p) => p.message).join("; "));
  const j = setup.value;
  const { judgeClient } = await import("../judge/client.js");
  const client = await judgeClient(ctx.project, s, j, { stage: "eval:judge", meter, log: ctx.log });
  const teacherTraces = outcomes.teacher?.map((o) => o.trace);
  const policy = { ...(s.eval.judge?.threshold !== undefined ? { threshold: s.eval.judge.threshold } : {}), failOnFlags: s.eval.judge?.fail_on_flags ?? ["hallucinated_tool_output" as const] };
  for (const [role, os] of Object.entries(outcomes) as [EvalRole, Outcome[]][]) {
    ctx.log(`judging the ${role}'s ${os.length} traces with ${j.model}`);
    const results = await judgeMany(
      os.map((o) => o.trace),
      {
        client,
        model: j.model,
        rubric: j.rubric,
        concurrency: 2,
        signal: ctx.signal,
        referenceOf: (_t, i) => (role === "teacher" ? undefined : teacherTraces?.[i]),
      },
    );
    results.forEach((r, i) => {
      os[i]!.judge = r;
      os[i]!.judgePass = judgeVerdict(r, policy).pass;
    });
  }
}
