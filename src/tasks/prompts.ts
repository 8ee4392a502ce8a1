import type { SubagentSpec } from "../importers/types.js";
import type { ChatRequest } from "../llm/types.js";

/** What the teacher is told about the subagent whose tasks it writes. */
export interface SubagentContext {
  name: string;
  description: string;
  /** The subagent's system prompt. */
  instructions: string;
  tools: string[];
  /** Where the workspace lives inside the sandbox, when known. */
  workdir?: string;
  /** A short listing of the workspace's files, so tasks name files that exist. */
  files: string[];
}

/** The teacher settings that shape a request (and so the stage's key). */
export interface TeacherRequestSettings {
  model: string;
  temperature: number;
  max_tokens: number;
}

const INSTRUCTIONS_CHARS = 2000;
const LISTED_FILES = 60;

export function contextFromSpec(spec: SubagentSpec, workspace: { workdir?: string; files: string[] }): SubagentContext {
  const tools = spec.tools.all ? ["every tool of its harness"] : [...spec.tools.allowed, ...spec.tools.mcp];
  return {
    name: spec.name,
    description: spec.description,
    instructions: spec.prompt,
    tools,
    ...(workspace.workdir ? { workdir: workspace.workdir } : {}),
    files: workspace.files,
  };
}

const SYSTEM =
  "You plan training data for a coding subagent: an AI agent that works with tools in a sandboxed workspace. " +
  "Follow the requested output format exactly: a JSON list and nothing else.";

function describe(ctx: SubagentContext): string {
  const instructions =
    ctx.instructions.length > INSTRUCTIONS_CHARS ? `${ctx.instructions.slice(0, INSTRUCTIONS_CHARS)}\n[...]` : ctx.instructions;
  const files = ctx.files.slice(0, LISTED_FILES);
  const more = ctx.files.length > files.length ? `\n  ... and ${ctx.files.length - files.length} more` : "";
  return [
    `The subagent "${ctx.name}": ${ctx.description}`,
    "",
    "Its instructions:",
    "<<<",
    instructions.trim(),
    ">>>",
    "",
    `Its tools: ${ctx.tools.length ? ctx.tools.join(", ") : "none"}.`,
    files.length
      ? `Its workspace${ctx.workdir ? ` (${ctx.workdir})` : ""} holds:\n${files.map((f) => `  ${f}`).join("\n")}${more}`
      : "Its workspace listing is not known; keep tasks to what the instructions describe.",
  ].join("\n");
}

/** The root of the topic tree is the subagent itself; a path names the topics below it. */
export function topicLabel(ctx: SubagentContext, path: readonly string[]): string {
  return [ctx.name, ...path].join(" > ");
}

function request(teacher: TeacherRequestSettings, user: string): ChatRequest {
  return {
    model: teacher.model,
    messages: [
      { role: "system", content: SYSTEM },
      { role: "user", content: user },
    ],
    temperature: teacher.temperature,
    max_tokens: teacher.max_tokens,
  };
}

export function subtopicsRequest(teacher: TeacherRequestSettings, ctx: SubagentContext, path: readonly string[], degree: number): ChatRequest {
  const what = path.length ? `the topic "${path.at(-1)}" (path: ${topicLabel(ctx, path)})` : "the work this subagent does";
  return request(
    teacher,
    [
      describe(ctx),
      "",
      `List ${degree} distinct subtopics of ${what}: kinds of requests this subagent gets.`,
      "Each is a short noun phrase (2 to 8 words); they do not overlap, and together they cover the topic.",
      `Reply with a JSON list of ${degree} strings and nothing else.`,
    ].join("\n"),
  );
}

export function tasksRequest(
  teacher: TeacherRequestSettings,
  ctx: SubagentContext,
  path: readonly string[],
  count: number,
  avoid: readonly string[],
): ChatRequest {
  return request(
    teacher,
    [
      describe(ctx),
      "",
      `Topic: ${topicLabel(ctx, path)}`,
      `Write ${count} distinct tasks that a user would hand to this subagent on this topic.`,
      "Each task is one self-contained request of one to three sentences, in the user's words; it is concrete",
      "(it names files, functions or commands of the workspace where that fits) and the subagent can carry it out",
      "with its tools inside its workspace. Vary the wording and the difficulty.",
      ...(avoid.length ? ["Tasks already written for this topic; do not repeat or paraphrase them:", ...avoid.map((t) => `- ${t}`)] : []),
      `Reply with a JSON list of ${count} strings and nothing else.`,
    ].join("\n"),
  );
}

export function scopeRequest(teacher: TeacherRequestSettings, ctx: SubagentContext, tasks: readonly string[]): ChatRequest {
  return request(
    { ...teacher, temperature: 0 },
    [
      describe(ctx),
      "",
      "For each numbered task below, answer true when this subagent, with its instructions and tools, could",
      "carry it out inside its workspace, and false when it is out of its scope.",
      ...tasks.map((t, i) => `${i + 1}. ${t}`),
      `Reply with a JSON list of ${tasks.length} booleans, in order, and nothing else.`,
    ].join("\n"),
  );
}
