import type { ProjectConfig, ResolvedSubagent } from "../config/index.js";
import type { Problem } from "../errors.js";
import { didYouMean } from "../errors.js";
import { TARGET_METRICS, parseTargetName } from "../eval/metrics.js";
import type { Json } from "../engine/key.js";
import { teacherFiles, teacherParams } from "../llm/teacher-params.js";
import { err, ok, type Result } from "../result.js";
import { TOOLS_VERSION } from "../tools/version.js";
import { webFiles, webParams } from "../web/params.js";
import { judgeSetup, type JudgeSetup } from "../judge/settings.js";
import { configName } from "./config-name.js";
import { llamaToolchain, localModelDir, localModelFiles } from "./export.js";
import type { Stage } from "./types.js";

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
          // What WebSearch and WebFetch return: provider, mode, fetch limits and model (never the API
          // key). Absent without a web section, so such subagents keep the keys they had.
          ...(subagent.web ? { web: webParams(subagent.web) } : {}),
          // Whether MCP results may come live or only from the store (replay). Absent at the default
          // (record), so subagents without MCP servers keep the keys they had. The servers
          // themselves are in import's tools.json (declarations as written) and, for servers in the
          // sandbox, in the image the recipe installed them into: both upstream outputs.
          ...(subagent.mcp_mode !== "record" ? { mcp_mode: subagent.mcp_mode } : {}),
          // The untrained model converted and rolled out as "base" (its files are keyed below).
          base_model: e.models.includes("base") ? subagent.train.base_model : null,
          // The teacher rolls out (models: teacher) and is the judge's default endpoint. Its pricing
          // is left out: a trace's cost is what this build spent (replayed replies cost 0).
          teacher: usesTeacher ? teacherParams(subagent.teacher) : null,
          judge: judgeParams(subagent, setup?.ok ? setup.value : undefined),
        },
        files: [...(usesTeacher ? teacherFiles(subagent.teacher) : []), ...localModelFiles(project.root, base), ...webFiles(project.root, subagent.web)],
        toolchain: { "agent-tools": TOOLS_VERSION, ...tools.value },
      });
    },
    async run(ctx) {
      // The rollout code (Docker, model clients, the tools, llama-server) loads only when eval runs.
      await (await import("./eval-run.js")).runEval(ctx);
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

