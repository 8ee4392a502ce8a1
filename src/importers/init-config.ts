import { stringify } from "yaml";
import type { DiscoveredSource, SourceRef } from "./sources.js";
import type { SourceFormat } from "./types.js";

const FORMAT_LABEL: Record<SourceFormat, string> = {
  "claude-agent": "Claude Code agent",
  skill: "Agent Skill",
  "plugin-agent": "agent from a Claude Code plugin",
  "plugin-skill": "skill from a Claude Code plugin",
  inline: "inline subagent",
};

/**
 * Renders the commented subagents.yaml that `sabuild init` writes: one subagent per discovered
 * source. Text rather than a stringified object, because the comments are the point: they tell
 * a first-time user what each block is for and what to fill in.
 */
export function renderInitConfig(found: DiscoveredSource[]): string {
  const out = [
    "# sabuild: distill Claude Code subagents and skills into small local models.",
    "# Written by `sabuild init`; edit freely. Run `sabuild plan` to see what would be built.",
    "version: 1",
    "",
    "# Settings every subagent starts from; its own keys override them. Uncomment to use.",
    "defaults:",
    "  # teacher:  # the OpenAI-compatible model that writes tasks and traces",
    "  #   base_url: https://api.openai.com/v1",
    '  #   api_key: "${OPENAI_API_KEY}"',
    "  #   model: gpt-4.1",
    "  # base_model: Qwen/Qwen3-4B-Instruct-2507  # the small model that is fine-tuned",
    "",
  ];
  if (found.length === 0) {
    out.push(
      "# No agents, skills or plugins were found. Add subagents like this:",
      "#   my-agent:",
      "#     source:",
      "#       agent: .claude/agents/my-agent.md",
      "#     tasks:",
      "#       from: tasks/my-agent.jsonl",
      "subagents: {}",
    );
    return `${out.join("\n")}\n`;
  }
  out.push(
    "# One small model per subagent. tasks.from is a JSONL file of tasks, one per line: a JSON",
    '# string, or an object with a "prompt". Write a few dozen tasks like those the subagent gets.',
    "subagents:",
  );
  const taken = new Set<string>();
  for (const item of found) {
    const key = uniqueName(sanitizeName(item.name), taken);
    out.push(
      `  ${key}:`,
      `    # ${FORMAT_LABEL[item.format]}: ${item.path.replace(/[\r\n]+/g, " ")}`,
      "    source:",
      ...sourceLines(item.source).map((l) => `      ${l}`),
      "    tasks:",
      `      from: ${scalar(`tasks/${key}.jsonl`)}`,
    );
  }
  return `${out.join("\n")}\n`;
}

function sourceLines(source: SourceRef): string[] {
  if ("agent" in source) return [`agent: ${scalar(source.agent)}`];
  if ("skill" in source) return [`skill: ${scalar(source.skill)}`];
  if ("plugin" in source) {
    return [`plugin: ${scalar(source.plugin)}`, ...(source.name === undefined ? [] : [`name: ${scalar(source.name)}`])];
  }
  return stringify({ inline: source.inline }, { lineWidth: 0 }).trimEnd().split("\n");
}

/** A one-line YAML scalar: plain where that reads back as the same string, quoted otherwise. */
function scalar(text: string): string {
  const yaml = stringify(text, { lineWidth: 0 }).trimEnd();
  // JSON strings are valid YAML double-quoted scalars and never span lines.
  return yaml.includes("\n") ? JSON.stringify(text) : yaml;
}

/** Subagent names become directory and file names, so they are kept to /^[a-z0-9][a-z0-9_-]*$/. */
export function sanitizeName(name: string): string {
  const cleaned = name
    .toLowerCase()
    .replace(/[^a-z0-9_-]+/g, "-")
    .replace(/-{2,}/g, "-")
    .replace(/^[^a-z0-9]+/, "")
    .replace(/-+$/, "");
  return cleaned || "subagent";
}

function uniqueName(name: string, taken: Set<string>): string {
  let candidate = name;
  for (let n = 2; taken.has(candidate); n++) candidate = `${name}-${n}`;
  taken.add(candidate);
  return candidate;
}
