import { readFile, writeFile } from "node:fs/promises";
import { dirname, join, posix } from "node:path";
import type { ProjectConfig, ResolvedSubagent } from "../config/index.js";
import type { SubagentSpec } from "../importers/types.js";
import { Budget, Meter } from "../llm/accounting.js";
import { BudgetExceededError } from "../llm/types.js";
import { estimateCost, rolloutTokens } from "../llm/pricing.js";
import type { SpendEstimate } from "../engine/events.js";
import { openTeacher, teacherFiles, teacherParams, type OpenedTeacher } from "../llm/teacher.js";
import { ok } from "../result.js";
import { ensureImage, openSandbox, projectLabels } from "../sandbox/index.js";
import type { SandboxImage, SandboxSession } from "../sandbox/types.js";
import { runToolCall, toolsNamed, toOpenAiTools, TOOLS_VERSION } from "../tools/index.js";
import type { AgentTool, FunctionToolDef } from "../tools/types.js";
import { rollout } from "../traces/rollout.js";
import type { MapItem, RunContext, Stage } from "./types.js";

/** Where a skill's bundled files (scripts/, references/) are put in the sandbox. */
export const SKILL_DIR = "/tmp/sabuild-skill";

/** What one stage run shares between its items: the teacher, the budget, the tools. */
interface RunState {
  spec: SubagentSpec;
  instructions: string;
  tools: AgentTool[];
  toolDefs: FunctionToolDef[];
  image: Promise<SandboxImage>;
  teacher: Promise<OpenedTeacher>;
  meter: Meter;
  total: number;
}

const runs = new Map<string, RunState>();

function runKey(project: ProjectConfig, subagent: ResolvedSubagent): string {
  return `${project.root}\0${subagent.name}`;
}

/** The subagent's instructions as the teacher sees them: an agent's body, or a skill's. */
export function instructionsOf(spec: SubagentSpec): string {
  if (spec.provenance.format === "skill" || spec.provenance.format === "plugin-skill") {
    const files = spec.bundle.length ? `\n\nThe skill's bundled files are in ${SKILL_DIR}/${spec.name}/ (${spec.bundle.map((b) => b.path).join(", ")}).` : "";
    return `You are a subagent that follows the "${spec.name}" skill: ${spec.description}${files}\n\n${spec.prompt}`;
  }
  return spec.prompt;
}

/** Copies a skill's bundle into the container, so its scripts can run where the tools run. */
export async function installSkill(session: SandboxSession, project: ProjectConfig, spec: SubagentSpec): Promise<void> {
  if (!spec.bundle.length || !spec.provenance.path) return;
  const skillDir = dirname(join(project.root, spec.provenance.path));
  for (const file of spec.bundle) {
    const target = posix.join(SKILL_DIR, spec.name, file.path);
    const content = await readFile(join(skillDir, file.path));
    const r = await session.exec(["sh", "-c", 'mkdir -p "$(dirname "$1")" && cat > "$1" && chmod "$2" "$1"', "sh", target, /^scripts\//.test(file.path) ? "755" : "644"], { stdin: content });
    if (r.exitCode !== 0) throw new Error(`cannot copy the skill file ${file.path} into the sandbox: ${r.stderr.trim()}`);
  }
}

/**
 * Teacher rollouts, one map item per task x sample: the teacher plays the subagent with its
 * tools running in a fresh container of the sandbox image. Each item's trace is cached on its
 * own, so adding tasks runs only the new rollouts and a budget stop keeps what was done.
 */
export function tracesStage(): Stage {
  return {
    kind: "traces",
    // 2: items are keyed on the import and sandbox outputs too (version 1 items reused traces
    // of an old prompt, tool list or image), so results built under version 1 are not trusted.
    version: "2",
    deps: ["import", "sandbox", "tasks"],
    async inputs({ subagent }) {
      const tr = subagent.traces;
      return ok({
        params: {
          // Who plays the subagent: model, endpoint as written (or the stand-in) and reply cap.
          // Its pricing is left out: a trace's cost is what this build spent (a replayed reply costs 0).
          teacher: teacherParams(subagent.teacher),
          // The sampling temperature every request of a rollout is sent with.
          temperature: tr.temperature ?? subagent.teacher.temperature,
          // How many items each task fans out to.
          samples_per_task: tr.samples_per_task,
          // The rollout loop: its turn cap and the output contract checked on the answer.
          max_turns: tr.max_turns,
          contract: tr.output_contract.tag,
        },
        // The stand-in's policy module: it writes every reply.
        files: teacherFiles(subagent.teacher),
        // What the tools do and say: every tool result of a rollout.
        toolchain: { "agent-tools": TOOLS_VERSION },
      });
    },
    async estimate({ subagent }, run) {
      // Before tasks exist, assume tasks.count minus the held-out share.
      const items = run.items ?? Math.round(subagent.tasks.count * (1 - subagent.tasks.holdout)) * subagent.traces.samples_per_task;
      return estimateRollouts(subagent, items);
    },
    map: {
      over: "tasks",
      async items(ctx) {
        const { artifactOr, readTrainTasks } = await import("../artifacts/index.js");
        const tasks = artifactOr(await readTrainTasks(ctx.upstream.tasks!.dir), "tasks", []);
        const items: MapItem[] = [];
        for (const task of tasks) {
          for (let sample = 0; sample < ctx.subagent.traces.samples_per_task; sample++) {
            items.push({ id: `${task.id}.s${sample}`, input: { task: { id: task.id, prompt: task.prompt, tags: task.tags }, sample } });
          }
        }
        runs.set(runKey(ctx.project, ctx.subagent), await prepareRun(ctx, items.length));
        return items;
      },
      async runItem(ctx, item) {
        const state = runs.get(runKey(ctx.project, ctx.subagent))!;
        const input = item.input as { task: { id: string; prompt: string; tags: string[] }; sample: number };
        const [image, teacher] = await Promise.all([state.image, state.teacher]);
        let trace: Awaited<ReturnType<typeof rollout>>;
        try {
          trace = await rollout({
            subagent: ctx.subagent.name,
            task: input.task,
            sample: input.sample,
            instructions: state.instructions,
            contractTag: ctx.subagent.traces.output_contract.tag,
            maxTurns: ctx.subagent.traces.max_turns,
            client: teacher.client,
            model: { ...teacher.identity, role: "teacher" },
            sampling: { temperature: ctx.subagent.traces.temperature ?? ctx.subagent.teacher.temperature, max_tokens: ctx.subagent.teacher.max_tokens },
            tools: state.tools,
            toolDefs: state.toolDefs,
            runTool: (name, args, toolCtx) => runToolCall(state.tools, name, args, toolCtx),
            openSandbox: async () => {
              const session = await openSandbox(image, { labels: projectLabels(ctx.project.root), signal: ctx.signal });
              try {
                await installSkill(session, ctx.project, state.spec);
              } catch (e) {
                await session.close();
                throw e;
              }
              return session;
            },
            image,
            signal: ctx.signal,
          });
        } catch (e) {
          // The budget is the user's limit, not a fault of this rollout: the item stops, unwritten.
          if (e instanceof BudgetExceededError) return { outcome: "stopped", why: "budget reached", hint: `Raise subagents.${ctx.subagent.name}.traces.budget in subagents.yaml and build again: finished items are reused and cost nothing.` };
          throw e;
        }
        await writeFile(join(ctx.outDir, "trace.json"), `${JSON.stringify(trace, null, 1)}\n`);
        const cost = state.meter.total().cost_usd;
        ctx.progress({ done: 0, total: state.total, costUsd: cost });
        ctx.log(`${trace.status} in ${trace.turns} turns, ${trace.tool_calls} tool calls${trace.usage.cached_requests === trace.usage.requests ? " (replayed from the response cache)" : ""}${cost ? `; $${cost.toFixed(4)} so far` : ""}`);
      },
    },
  };
}

/**
 * Rough spend of `items` rollouts: half the turn cap (at least 2) calls each; the first prompt
 * is the instructions plus ~1,500 tokens of tool schemas and the task, each turn adds ~200
 * completion tokens and ~600 tokens of tool results that later calls send again.
 */
export function estimateRollouts(subagent: ResolvedSubagent, items: number): SpendEstimate {
  const turns = Math.max(2, Math.ceil(subagent.traces.max_turns / 2));
  const perCall = rolloutTokens({ turns, initialPromptTokens: 2000, completionTokensPerTurn: 200, toolResultTokensPerTurn: 600 });
  const model = subagent.teacher.model;
  return estimateCost({ model, ...(subagent.teacher.pricing ? { pricing: subagent.teacher.pricing } : {}), calls: items * turns, ...perCall });
}

async function prepareRun(ctx: RunContext, total: number): Promise<RunState> {
  const { expectArtifact, readImportedTools, readSandboxImage, readSpec } = await import("../artifacts/index.js");
  const importDir = ctx.upstream.import!.dir;
  const spec = expectArtifact(await readSpec(importDir), "import");
  const imported = expectArtifact(await readImportedTools(importDir), "import");
  const tools = toolsNamed(imported.resolved);
  const recorded = expectArtifact(await readSandboxImage(ctx.upstream.sandbox!.dir), "sandbox");
  const meter = new Meter();
  const b = ctx.subagent.traces.budget;
  const budget = b ? new Budget(b, `subagents.${ctx.subagent.name}.traces.budget`) : undefined;
  // Started lazily and shared: a build whose items are all cached touches neither Docker nor the teacher.
  let image: Promise<SandboxImage> | undefined;
  let teacher: Promise<OpenedTeacher> | undefined;
  const state: RunState = {
    spec,
    instructions: instructionsOf(spec),
    tools,
    toolDefs: toOpenAiTools(tools),
    meter,
    total,
    get image() {
      return (image ??= ensureImage(recorded, { projectRoot: ctx.project.root, log: ctx.log, signal: ctx.signal }));
    },
    get teacher() {
      return (teacher ??= openTeacher(ctx.project, ctx.subagent, {
        stage: "traces",
        meter,
        ...(budget ? { budget } : {}),
        log: ctx.log,
        ...(ctx.subagent.traces.temperature !== undefined ? { temperature: ctx.subagent.traces.temperature } : {}),
      }));
    },
  };
  return state;
}
