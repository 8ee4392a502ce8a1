import type { ResolvedSubagent } from "../config/index.js";
import type { SpendEstimate } from "../engine/types.js";
import { estimateCost, rolloutTokens } from "../llm/pricing.js";
import { teacherFiles, teacherParams } from "../llm/teacher-params.js";
import { ok } from "../result.js";
import { TOOLS_VERSION } from "../tools/version.js";
import { webFiles, webParams } from "../web/params.js";
import type { Stage } from "./types.js";

export { installSkill, instructionsOf, SKILL_DIR } from "../traces/skill.js";

/**
 * Teacher rollouts, one map item per task x sample: the teacher plays the subagent with its
 * tools running in a fresh container of the sandbox image. Each item's trace is cached on its
 * own, so adding tasks runs only the new rollouts and a budget stop keeps what was done. The
 * rollout code (Docker, the teacher's client, the tools) loads only when items are listed.
 */
export function tracesStage(): Stage {
  return {
    kind: "traces",
    // 2: items are keyed on the import and sandbox outputs too (version 1 items reused traces
    // of an old prompt, tool list or image), so results built under version 1 are not trusted.
    // 3: a task runs in its own environment and its verifier's result is in the trace.
    // 4: an item needs its environment's sandbox item (keyed on that item's output digest) and
    // starts when that image is built, not when every environment is.
    version: "4",
    deps: ["import", "sandbox", "tasks"],
    async inputs({ project, subagent }) {
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
          // What WebSearch and WebFetch return: provider, mode, fetch limits and model (never the API
          // key). Absent without a web section, so such subagents keep the keys they had.
          ...(subagent.web ? { web: webParams(subagent.web) } : {}),
          // Whether MCP results may come live or only from the store (replay). Absent at the default
          // (record), so subagents without MCP servers keep the keys they had. The servers
          // themselves are in import's tools.json (declarations as written) and, for servers in the
          // sandbox, in the image the recipe installed them into: both upstream outputs.
          ...(subagent.mcp_mode !== "record" ? { mcp_mode: subagent.mcp_mode } : {}),
        },
        // The stand-in's policy module (it writes every reply) and the local search corpus.
        files: [...teacherFiles(subagent.teacher), ...webFiles(project.root, subagent.web)],
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
      // Each item carries its task and needs its environment's sandbox item, not the whole of either stage.
      over: ["tasks", "sandbox"],
      // A rollout waits for its own environment only.
      stream: ["sandbox"],
      async open(ctx) {
        return (await import("./traces-run.js")).openTraces(ctx);
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
