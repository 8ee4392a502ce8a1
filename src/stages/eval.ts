import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { ProjectConfig, ResolvedSubagent } from "../config/index.js";
import type { Problem } from "../errors.js";
import { didYouMean } from "../errors.js";
import { checkTargets, isSuccess, ratios, summarize, TARGET_METRICS, parseTargetName, type Outcome } from "../eval/metrics.js";
import type { EvalResult, EvalRole, ModelSummary, TaskOutcome } from "../eval/types.js";
import type { Json } from "../engine/key.js";
import { sha256 } from "../engine/key.js";
import { Meter } from "../llm/accounting.js";
import { createChatClient } from "../llm/client.js";
import { openTeacher, teacherFiles, teacherParams } from "../llm/teacher.js";
import type { ChatClient } from "../llm/types.js";
import { err, ok, type Result } from "../result.js";
import { ensureImage, openSandbox, projectLabels } from "../sandbox/index.js";
import { runToolCall, toolsNamed, toOpenAiTools, TOOLS_VERSION } from "../tools/index.js";
import { rollout } from "../traces/rollout.js";
import type { Trace } from "../traces/types.js";
import { judgeSetup, type JudgeSetup } from "../judge/settings.js";
import { configName } from "./config-name.js";
import { llamaToolchain, localModelDir, localModelFiles } from "./export.js";
import { installSkill, instructionsOf } from "./traces.js";
import type { RunContext, Stage } from "./types.js";

/** Problems with eval.targets: unknown metric names, located at their key. */
function targetProblems(project: ProjectConfig, subagent: ResolvedSubagent): Problem[] {
  const problems: Problem[] = [];
  for (const name of Object.keys(subagent.eval.targets)) {
    const { metric } = parseTargetName(name);
    if ((TARGET_METRICS as readonly string[]).includes(metric)) continue;
    const guess = didYouMean(metric, [...TARGET_METRICS]);
    problems.push({
      file: configName(project),
      line: 0,
      column: 0,
      keyPath: ["subagents", subagent.name, "eval", "targets", name],
      message: `unknown eval metric "${metric}"${guess ? ` (did you mean "${guess}"?)` : ""}`,
      hint: `one of ${TARGET_METRICS.join(", ")}; prefix max_ or min_ to say which way a bare number bounds it`,
    });
  }
  return problems;
}

function judgeParams(subagent: ResolvedSubagent, setup: JudgeSetup | undefined): Json {
  const j = subagent.eval.judge;
  if (!j || !setup) return null;
  // Every judge setting but the key; the endpoint as written, or the stand-in it resolves to.
  // The rubric digest carries the prompt version and the answer rule: a changed grader re-judges.
  return {
    ...(j as Record<string, Json>),
    api_key: null,
    base_url: subagent.teacher.standin && j.base_url === subagent.teacher.base_url ? `standin:${subagent.teacher.standin}` : j.base_url,
    rubric_digest: setup.rubric.digest,
  };
}

/**
 * The held-out tasks, rolled out by the distilled student (the exported GGUF on llama-server),
 * the untrained base model and the teacher, in the same sandbox with the same tools; judged
 * when a judge is configured; summarised per model with the student's ratios to the teacher and
 * the targets from subagents.yaml. Missed targets fail the build (see `gate`), and the results
 * stay in the store for the report either way.
 */
export function evalStage(): Stage {
  return {
    kind: "eval",
    // 2: results judged before the answer rule (an errored trace scored 0.64) are not reused.
    // 3: keyed on the llama.cpp tools that serve the student and the base model, the base model's
    // files, concurrency and gate_reason: a version 2 result may come from another llama-server.
    version: "3",
    deps: ["import", "sandbox", "tasks", "export"],
    async inputs({ project, subagent }) {
      const e = subagent.eval;
      const setup = e.judge ? judgeSetup(subagent, configName(project)) : undefined;
      const problems = [...targetProblems(project, subagent), ...(setup && !setup.ok ? setup.error : [])];
      // llama-server serves the student and the base model; the base model is converted first.
      const servesGguf = e.models.includes("student") || e.models.includes("base");
      const tools: Result<Record<string, string>, Problem[]> = servesGguf ? await llamaToolchain(project, subagent) : ok({});
      if (!tools.ok) problems.push(...tools.error);
      if (problems.length || !tools.ok) return err(problems);
      const usesTeacher = e.models.includes("teacher") || e.judge !== undefined;
      const base = e.models.includes("base") ? localModelDir(project.root, subagent.train.base_model) : undefined;
      return ok({
        params: {
          // Which models are rolled out, and the targets and gate eval.json records.
          models: e.models,
          targets: e.targets as Json,
          gate: e.gate,
          gate_reason: e.gate_reason ?? null,
          // Completion tokens of each student and base model reply.
          max_tokens: e.max_tokens,
          // llama-server's --parallel: its slots share the context, so how long a rollout may grow.
          concurrency: servesGguf ? e.concurrency : null,
          // The rollout loop's turn cap and output contract, as in traces.
          max_turns: subagent.traces.max_turns,
          contract: subagent.traces.output_contract.tag,
          // The untrained model converted and rolled out as "base" (its files are keyed below).
          base_model: e.models.includes("base") ? subagent.train.base_model : null,
          // The teacher rolls out (models: teacher) and is the judge's default endpoint. Its pricing
          // is left out: a trace's cost is what this build spent (replayed replies cost 0).
          teacher: usesTeacher ? teacherParams(subagent.teacher) : null,
          judge: judgeParams(subagent, setup?.ok ? setup.value : undefined),
        },
        files: [...(usesTeacher ? teacherFiles(subagent.teacher) : []), ...localModelFiles(project.root, base)],
        toolchain: { "agent-tools": TOOLS_VERSION, ...tools.value },
      });
    },
    async run(ctx) {
      await runEval(ctx);
    },
    async gate(outDir, { subagent }) {
      // eval.gate is keyed (params.gate): an output built without a gate has none to check, and
      // a no-op build of it loads no reader (zod).
      if (!subagent.eval.gate) return undefined;
      const { expectArtifact, readEvalResult } = await import("../artifacts/index.js");
      const result = expectArtifact(await readEvalResult(outDir), "eval");
      if (!result.gate.enabled) return undefined;
      const missed = result.targets.filter((t) => !t.ok);
      if (!missed.length) return undefined;
      return `eval targets missed: ${missed.map((t) => `${t.name} ${t.expected} (actual ${t.actual ?? "n/a"})`).join(", ")}; the results are kept for \`sabuild report ${result.subagent}\`. Set eval.gate: false (with gate_reason) to report without failing`;
    },
    async estimate({ subagent }) {
      if (!subagent.eval.models.includes("teacher")) return undefined;
      const { estimateRollouts } = await import("./traces.js");
      return estimateRollouts(subagent, Math.max(1, Math.round(subagent.tasks.count * subagent.tasks.holdout)));
    },
  };
}

/** A model server for the student or the base model, stopped when eval ends. */
interface Served {
  client: ChatClient;
  model: Trace["model"];
  stop(): Promise<void>;
}

async function serveGguf(ctx: RunContext, role: "student" | "base", gguf: string, meter: Meter): Promise<Served> {
  const { ensureLlamaTools } = await import("../toolchain/llamacpp.js");
  const { trainerPython } = await import("../toolchain/dirs.js");
  const tools = await ensureLlamaTools(ctx.project.root, ctx.subagent.export.tools, { log: ctx.log, signal: ctx.signal, python: trainerPython(ctx.project.root) });
  ctx.log(`${role}: serving ${gguf.split("/").pop()} with llama-server (${tools.server.where})`);
  const server = await tools.server.start({ model: gguf, args: ["--parallel", String(ctx.subagent.eval.concurrency)], log: ctx.log, signal: ctx.signal });
  // The export output is content-addressed: its digest names the model in the response cache.
  const digest = sha256(`${ctx.upstream.export!.digest}:${gguf.split("/").pop()}`);
  const client = createChatClient({
    baseUrl: `${server.url}/v1`,
    apiKey: "",
    model: role,
    temperature: 0,
    max_tokens: ctx.subagent.eval.max_tokens,
    concurrency: ctx.subagent.eval.concurrency,
    cache: ctx.project.store,
    cacheEndpoint: `gguf:${role}:${digest}`,
    meter,
    label: { subagent: ctx.subagent.name, stage: `eval:${role}` },
    retry: { maxRetries: 2 },
    warn: ctx.log,
  });
  return { client, model: { name: `${role}:${gguf.split("/").pop()}`, base_url: "llama-server", role }, stop: () => server.stop() };
}

async function runEval(ctx: RunContext): Promise<void> {
  const s = ctx.subagent;
  const e = s.eval;
  const { artifactOr, expectArtifact, readExportSummary, readHeldOutTasks, readImportedTools, readSandboxImage, readSpec } = await import("../artifacts/index.js");
  const heldout = artifactOr(await readHeldOutTasks(ctx.upstream.tasks!.dir), "tasks", []);
  const notes: string[] = [];
  if (heldout.length === 0) notes.push("no held-out tasks: raise tasks.holdout or write more tasks");
  const importDir = ctx.upstream.import!.dir;
  const spec = expectArtifact(await readSpec(importDir), "import");
  const imported = expectArtifact(await readImportedTools(importDir), "import");
  const tools = toolsNamed(imported.resolved);
  const toolDefs = toOpenAiTools(tools);
  const recorded = expectArtifact(await readSandboxImage(ctx.upstream.sandbox!.dir), "sandbox");
  const image = heldout.length ? await ensureImage(recorded, { projectRoot: ctx.project.root, log: ctx.log, signal: ctx.signal }) : recorded;
  const meter = new Meter();
  const exportSummary = expectArtifact(await readExportSummary(ctx.upstream.export!.dir), "export");
  const outcomes: Partial<Record<EvalRole, Outcome[]>> = {};
  const work = await mkdtemp(join(tmpdir(), "sabuild-eval-"));
  let done = 0;
  const total = heldout.length * e.models.length;
  try {
    for (const role of orderOf(e.models)) {
      if (heldout.length === 0) break;
      let served: Served | undefined;
      try {
        if (role === "teacher") {
          const t = await openTeacher(ctx.project, s, { stage: "eval", meter, log: ctx.log, temperature: 0 });
          served = { client: t.client, model: { ...t.identity, role: "teacher" }, stop: async () => undefined };
        } else if (role === "student") {
          served = await serveGguf(ctx, "student", join(ctx.upstream.export!.dir, exportSummary.shipped), meter);
        } else {
          const base = await baseGguf(ctx, work, exportSummary.gguf_outtype);
          if (!base.ok) {
            notes.push(`base model not evaluated: ${base.error}`);
            ctx.log(`warning: base model not evaluated: ${base.error}`);
            continue;
          }
          served = await serveGguf(ctx, "base", base.value, meter);
        }
        const current = served;
        const results: Outcome[] = new Array(heldout.length);
        let next = 0;
        const worker = async (): Promise<void> => {
          while (next < heldout.length) {
            const i = next++;
            const task = heldout[i]!;
            const trace = await rollout({
              subagent: s.name,
              task: { id: task.id, prompt: task.prompt, tags: task.tags },
              sample: 0,
              instructions: instructionsOf(spec),
              contractTag: s.traces.output_contract.tag,
              maxTurns: s.traces.max_turns,
              client: current.client,
              model: current.model,
              sampling: { temperature: 0, max_tokens: role === "teacher" ? s.teacher.max_tokens : e.max_tokens },
              tools,
              toolDefs,
              runTool: (name, args, toolCtx) => runToolCall(tools, name, args, toolCtx),
              openSandbox: async () => {
                const session = await openSandbox(image, { labels: projectLabels(ctx.project.root), signal: ctx.signal });
                await installSkill(session, ctx.project, spec).catch(async (x: unknown) => {
                  await session.close();
                  throw x;
                });
                return session;
              },
              image,
              signal: ctx.signal,
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
        return [role, { status: o.trace.status, success: isSuccess(o), ...(o.judge?.score !== undefined && o.judge.score !== null ? { score: o.judge.score } : {}), trace: `traces/${role}/${t.id}.json`, ...(o.judge ? { judge: `judge/${role}/${t.id}.json` } : {}) }];
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

/** Teacher first: its traces are the judge's reference for the others. */
function orderOf(models: readonly EvalRole[]): EvalRole[] {
  return (["teacher", "student", "base"] as const).filter((m) => models.includes(m));
}

async function baseGguf(ctx: RunContext, work: string, outtype: string): Promise<{ ok: true; value: string } | { ok: false; error: string }> {
  const { localModelDir, convertToGguf } = await import("./export.js");
  const dir = localModelDir(ctx.project.root, ctx.subagent.train.base_model);
  if (!dir) return { ok: false, error: `${ctx.subagent.train.base_model} is not a local directory (download it, and set base_model to its path)` };
  const { ensureLlamaTools } = await import("../toolchain/llamacpp.js");
  const { trainerPython } = await import("../toolchain/dirs.js");
  const tools = await ensureLlamaTools(ctx.project.root, ctx.subagent.export.tools, { log: ctx.log, signal: ctx.signal, python: trainerPython(ctx.project.root) });
  const out = join(work, `base-${outtype}.gguf`);
  ctx.log(`base: converting ${ctx.subagent.train.base_model} to GGUF (${outtype})`);
  await convertToGguf(tools, dir, out, outtype, { log: ctx.log, signal: ctx.signal });
  return { ok: true, value: out };
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
