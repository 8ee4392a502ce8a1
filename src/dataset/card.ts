import { DROP_REASON_TEXT, type DatasetStats, type DropReason, type Summary } from "./types.js";

export interface Provenance {
  subagent: { name: string; description: string };
  /** Rows per teacher model (name, endpoint). */
  teachers: Map<string, number>;
  /** Rows per sandbox image (recipe, tag, image id). */
  sandboxes: Map<string, number>;
  /** Rows per task origin: a task file, inline seeds, generated. */
  origins: Map<string, number>;
}

const table = (head: string[], rows: (string | number)[][]): string[] => [
  `| ${head.join(" | ")} |`,
  `|${head.map(() => "---").join("|")}|`,
  ...rows.map((r) => `| ${r.join(" | ")} |`),
];

const counts = (m: Map<string, number>): (string | number)[][] => [...m].sort(([a], [b]) => a.localeCompare(b)).map(([k, n]) => [k, n]);

const tokens = (s: Summary): string => `min ${s.min}, mean ${s.mean}, max ${s.max}, total ${s.total}`;

/** What the task verifiers said, and what dataset.require_verified dropped; nothing when no trace has a verifier. */
function verificationSection(stats: DatasetStats): string[] {
  const v = stats.verification;
  if (!v.traces && !stats.settings.require_verified) return [];
  const failed = stats.dropped.by_reason.verifier_failed ?? 0;
  const unverified = stats.dropped.by_reason.unverified ?? 0;
  return [
    "## Verification",
    "",
    `${v.traces} of ${stats.traces} traces carry a task verifier result, ${v.passed} of them passed. ` +
      `${v.rows} of the ${stats.rows} rows are verified (\`meta.verified\`: their task's tests passed).`,
    "",
    stats.settings.require_verified
      ? `dataset.require_verified keeps only verified rollouts: the verifier dropped ${failed + unverified} ${failed + unverified === 1 ? "trace" : "traces"} (${failed} failed, ${unverified} without a verifier).`
      : "dataset.require_verified is off: a rollout whose verifier failed, or that has none, is kept when it passes the other checks.",
    "",
  ];
}

/** A short dataset card: where the rows came from, what was dropped and why, the split, sizes. */
export function datasetCard(stats: DatasetStats, from: Provenance): string {
  const s = stats.settings;
  const lines = [
    `# ${from.subagent.name}: distillation dataset`,
    "",
    from.subagent.description,
    "",
    `${stats.rows} rows from ${stats.traces} teacher traces over ${stats.tasks} tasks, in the OpenAI chat format`,
    "(`messages` with tool calls and tool results, `tools`, `meta`). Tool-call arguments are JSON strings.",
    s.keep_reasoning ? "Assistant reasoning is kept as `reasoning_content`." : "Assistant reasoning was stripped.",
    "",
    "## Sources",
    "",
    ...table(["teacher model", "rows"], counts(from.teachers)),
    "",
    ...table(["sandbox image", "rows"], counts(from.sandboxes)),
    "",
    ...table(["task origin", "rows"], counts(from.origins)),
    "",
    "## Dropped traces",
    "",
    stats.dropped.total
      ? `${stats.dropped.total} of ${stats.traces} traces were dropped:`
      : `None of the ${stats.traces} traces was dropped.`,
    "",
    ...(stats.dropped.total
      ? table(
          ["reason", "traces", "meaning"],
          Object.entries(stats.dropped.by_reason).map(([r, n]) => [r, n, DROP_REASON_TEXT[r as DropReason]]),
        )
      : []),
    ...(stats.dropped.total ? [""] : []),
    `Limits: ${s.max_tokens_per_row} tokens per row, at most ${s.max_repeated_tool_calls} identical tool calls per trace` +
      (s.judge_threshold !== null ? `, judge score >= ${s.judge_threshold}` : ", no judge threshold") +
      (s.require_verified ? ", only rollouts whose task verifier passed." : "."),
    "",
    ...verificationSection(stats),
    "## Split",
    "",
    `By a hash of the task id (validation fraction ${s.validation}); all samples of a task are on the same side.`,
    "",
    ...table(
      ["split", "rows", "tasks", "tokens per row"],
      [
        ["train", stats.splits.train.rows, stats.splits.train.tasks, tokens(stats.splits.train.tokens)],
        ["validation", stats.splits.validation.rows, stats.splits.validation.tasks, tokens(stats.splits.validation.tokens)],
      ],
    ),
    "",
    "## Size",
    "",
    `Tokens per row under the base model's tokenizer and chat template (${stats.tokenizer.base_model}): ${tokens(stats.tokens)}.`,
    `Turns per row: ${tokens(stats.turns)}.`,
    `Tool calls: ${stats.tool_calls.total}` +
      (stats.tool_calls.total ? ` (${Object.entries(stats.tool_calls.by_tool).map(([t, n]) => `${t} ${n}`).join(", ")})` : "") +
      `; tool errors seen by the teacher: ${stats.tool_errors}.`,
    "",
  ];
  return lines.join("\n");
}
