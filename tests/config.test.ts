import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it } from "vitest";
import {
  CONFIG_SCHEMA_ID,
  configJsonSchema,
  loadConfig,
  parseConfig,
  resolveTemplate,
  type ProjectConfig,
  type ResolvedSubagent,
} from "../src/config/index.js";
import { formatProblem, type Problem } from "../src/errors.js";

const FIXTURES = fileURLToPath(new URL("./fixtures/config/", import.meta.url));
const SCHEMA_FILE = fileURLToPath(new URL("../schema/subagents.schema.json", import.meta.url));
const FILE = "/project/subagents.yaml";

const yaml = (...lines: string[]): string => `${lines.join("\n")}\n`;

function problemsOf(text: string): Problem[] {
  const result = parseConfig(text, FILE);
  if (result.ok) throw new Error("expected problems, got a valid config");
  return result.error;
}

function configOf(text: string): ProjectConfig {
  const result = parseConfig(text, FILE);
  if (!result.ok) throw new Error(result.error.map(formatProblem).join("\n"));
  return result.value;
}

function subagent(config: ProjectConfig, name: string): ResolvedSubagent {
  const found = config.subagents.find((s) => s.name === name);
  if (!found) throw new Error(`no subagent ${name}`);
  return found;
}

/** `line:col key.path: message`, the part of a problem the tests pin down. */
const brief = (p: Problem): string => `${p.line}:${p.column} ${p.keyPath.join(".")}: ${p.message}`;

const AGENT = "    source: {agent: .claude/agents/a.md}";

describe("a valid config", () => {
  it("fills every default, keeps paths as written and subagents in file order", async () => {
    const result = await loadConfig(join(FIXTURES, "valid.yaml"));
    if (!result.ok) throw new Error(result.error.map(formatProblem).join("\n"));
    const config = result.value;
    expect(config.root).toBe(FIXTURES.replace(/\/$/, ""));
    expect(config.store).toBe(join(FIXTURES, ".sabuild-cache"));
    expect(config.plugins).toEqual([join(FIXTURES, "stages/lint.js")]);
    expect(config.subagents.map((s) => s.name)).toEqual(["reviewer", "strict-reviewer"]);

    const reviewer = subagent(config, "reviewer");
    expect(reviewer.source).toEqual({ agent: ".claude/agents/reviewer.md" });
    expect(reviewer.unsupported_tools).toBe("error");
    // Limits are overrides: unset, the recipe's manifest gives them.
    expect(reviewer.sandbox).toEqual({ recipe: "shell", base_image: "debian:bookworm-slim", setup: [], build_jobs: 2 });
    expect(reviewer.tasks.from).toEqual(["tasks/review.jsonl"]);
    expect(reviewer.tasks.seed).toEqual([
      { prompt: "Review the diff in HEAD~1" },
      { prompt: "Check ${HOME} handling in install.sh", id: "home", tags: ["shell"] },
    ]);
    expect(reviewer.tasks.generate).toEqual({ depth: 2, degree: 4, per_leaf: 5, dedup_threshold: 0.8, scope_check: false });
    expect(reviewer.traces.output_contract.tag).toBe("final_answer");
    expect(reviewer.train.lora).toEqual({ r: 8, alpha: 32, dropout: 0.05, target_modules: "all-linear" });
    expect(reviewer.train.learning_rate).toBe(2e-4);
    expect(reviewer.export.tools).toEqual({});
    expect(reviewer.eval).toEqual({ models: ["student", "base", "teacher"], gate: true, targets: {}, max_tokens: 1024, concurrency: 2 });
  });

  it("lists every environment variable the resolved subagents refer to, sorted", async () => {
    const result = await loadConfig(join(FIXTURES, "valid.yaml"));
    expect(result.ok && result.value.envRefs).toEqual(["JUDGE_KEY", "OPENAI_API_KEY", "OPENAI_ORG"]);
  });

  it("keeps ${...} templates unsubstituted in the resolved config", async () => {
    const result = await loadConfig(join(FIXTURES, "valid.yaml"));
    if (!result.ok) throw new Error("invalid fixture");
    const reviewer = subagent(result.value, "reviewer");
    expect(reviewer.teacher.api_key).toBe("${OPENAI_API_KEY}");
    expect(reviewer.teacher.headers).toEqual({ "X-Title": "sabuild", "X-Org": "${OPENAI_ORG}" });
  });

  it("keeps names that look like numbers in file order", () => {
    const config = configOf(yaml("version: 1", "subagents:", "  b:", AGENT, "  1:", AGENT));
    expect(config.subagents.map((s) => s.name)).toEqual(["b", "1"]);
  });
});

describe("merging", () => {
  const merged = async (): Promise<ProjectConfig> => {
    const result = await loadConfig(join(FIXTURES, "valid.yaml"));
    if (!result.ok) throw new Error("invalid fixture");
    return result.value;
  };

  it("merges mappings key by key across defaults, extends and the subagent", async () => {
    const child = subagent(await merged(), "strict-reviewer");
    expect(child.teacher.model).toBe("gpt-4.1-mini"); // from defaults
    expect(child.teacher.temperature).toBe(0.2); // from the parent
    expect(child.train.lora).toMatchObject({ r: 8, alpha: 64 }); // parent and child
    expect(child.train.epochs).toBe(3);
  });

  it("replaces lists whole", async () => {
    const config = await merged();
    expect(subagent(config, "reviewer").export.quantizations).toEqual(["Q4_K_M", "Q8_0"]);
    expect(subagent(config, "strict-reviewer").export.quantizations).toEqual(["Q5_K_M"]);
  });

  it("resets a key to its built-in default with null", async () => {
    const config = await merged();
    expect(subagent(config, "reviewer").base_model).toBe("Qwen/Qwen3-1.7B");
    expect(subagent(config, "strict-reviewer").base_model).toBe("Qwen/Qwen3-4B-Instruct-2507");
    expect(subagent(config, "strict-reviewer").teacher.headers).toEqual({ "X-Title": "sabuild" });
  });

  it("applies the extends chain from the furthest ancestor to the subagent", () => {
    const config = configOf(
      yaml(
        "version: 1",
        "defaults:",
        "  train: {epochs: 1, batch_size: 1, grad_accum: 1, seed: 1}",
        "subagents:",
        "  child:",
        "    extends: parent",
        "    train: {seed: 4}",
        "  parent:",
        "    extends: grandparent",
        "    train: {grad_accum: 3, seed: 3}",
        "  grandparent:",
        AGENT,
        "    train: {batch_size: 2, grad_accum: 2, seed: 2}",
      ),
    );
    expect(subagent(config, "child").train).toMatchObject({ epochs: 1, batch_size: 2, grad_accum: 3, seed: 4 });
    expect(subagent(config, "child").extends).toBe("parent");
    expect(subagent(config, "grandparent").train.seed).toBe(2);
  });

  it("inherits source through extends, replacing it whole", () => {
    const config = configOf(
      yaml(
        "version: 1",
        "subagents:",
        "  parent:",
        "    source: {plugin: plugins/review, name: reviewer}",
        "  child:",
        "    extends: parent",
        "  other:",
        "    extends: parent",
        "    source: {skill: skills/pdf}",
      ),
    );
    expect(subagent(config, "child").source).toEqual({ plugin: "plugins/review", name: "reviewer" });
    expect(subagent(config, "other").source).toEqual({ skill: "skills/pdf" });
  });

  it("does not take source from defaults", () => {
    const problems = problemsOf(
      yaml("version: 1", "defaults:", "  source: {agent: a.md}", "subagents:", "  a:", "    base_model: x"),
    );
    expect(problems.map(brief)).toEqual([
      '3:3 defaults.source: unknown key "source"',
      '5:3 subagents.a: missing required key "source"',
    ]);
    expect(problems[0]!.hint).toBe("source cannot be set in defaults; set it on each subagent");
  });

  it("uses base_model for training unless train.base_model overrides it", async () => {
    const config = await merged();
    expect(subagent(config, "reviewer").train.base_model).toBe("Qwen/Qwen3-1.7B");
    const own = configOf(
      yaml("version: 1", "subagents:", "  a:", AGENT, "    base_model: hf/model", "    train: {base_model: ./local}"),
    );
    expect(subagent(own, "a").base_model).toBe("hf/model");
    expect(subagent(own, "a").train.base_model).toBe("./local");
  });

  it("fills a judge's endpoint, key and model from the teacher", async () => {
    const judge = subagent(await merged(), "strict-reviewer").eval.judge;
    expect(judge).toEqual({
      model: "gpt-4o",
      api_key: "${JUDGE_KEY}",
      base_url: "https://api.openai.com/v1",
    });
  });
});

describe("problems point at the source", () => {
  it("reports an unknown key at the key, with did-you-mean", () => {
    const problems = problemsOf(yaml("version: 1", "subagents:", "  a:", AGENT, "    train:", "      epoch: 3"));
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatchObject({
      file: "subagents.yaml",
      line: 6,
      column: 7,
      keyPath: ["subagents", "a", "train", "epoch"],
      message: 'unknown key "epoch"',
      hint: 'did you mean "epochs"?',
      sourceLine: "      epoch: 3",
      length: 5,
    });
  });

  it("reports a wrong type at the value, with the expected text", () => {
    const problems = problemsOf(yaml("version: 1", "subagents:", "  a:", AGENT, "    train:", "      epochs: two"));
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatchObject({
      line: 6,
      column: 15,
      keyPath: ["subagents", "a", "train", "epochs"],
      message: "wrong type: got a string",
      expected: "a number > 0",
      length: 3,
    });
  });

  it("reports an out-of-range value and an enum typo", () => {
    const problems = problemsOf(
      yaml("version: 1", "subagents:", "  a:", AGENT, "    train: {lora: {r: 1.5}}", "    sandbox: {network: bridgee}"),
    );
    expect(problems.map(brief)).toEqual([
      "5:23 subagents.a.train.lora.r: invalid value 1.5",
      '6:24 subagents.a.sandbox.network: invalid value "bridgee"',
    ]);
    expect(problems[0]!.expected).toBe("a positive integer");
    expect(problems[1]!.expected).toBe('one of "none", "bridge"');
    expect(problems[1]!.hint).toBe('did you mean "bridge"?');
  });

  it("reports a route policy typo and an out-of-range threshold at their keys, with a hint", () => {
    const problems = problemsOf(yaml("version: 1", "subagents:", "  a:", AGENT, "    route: {policy: casade, threshold: 1.5, checks: {combine: every}}"));
    expect(problems.map(brief)).toEqual([
      '5:21 subagents.a.route.policy: invalid value "casade"',
      "5:40 subagents.a.route.threshold: invalid value 1.5",
      '5:63 subagents.a.route.checks.combine: invalid value "every"',
    ]);
    expect(problems[0]!.hint).toBe('did you mean "cascade"?');
    expect(problems[1]!.expected).toMatch(/0.*1/);
  });

  it("resolves route to fallback with the contract check by default", () => {
    const r = subagent(configOf(yaml("version: 1", "subagents:", "  a:", AGENT)), "a");
    expect(r.route).toEqual({ policy: "fallback", checks: { contract: true, hard_checks: false, combine: "any" }, threshold: 0.5, learn_from_benchmarks: true, drift: { window: 200, margin: 0.1 } });
  });

  it("reports every problem at once, in file order", async () => {
    const result = await loadConfig(join(FIXTURES, "many-problems.yaml"));
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.error.map(brief)).toEqual([
      '4:5 defaults.train.epoch: unknown key "epoch"',
      '9:16 subagents.reviewer.sandbox.network: invalid value "bridgee"',
      "11:17 subagents.reviewer.train.lora.r: invalid value 1.5",
      "12:15 subagents.reviewer.train.epochs: wrong type: got a string",
      '14:14 subagents.tester.extends: unknown subagent "reviewr"',
    ]);
    expect(result.error.every((p) => p.file === "many-problems.yaml")).toBe(true);
  });

  it("points an error in defaults at the defaults line, not at the subagents that inherit it", async () => {
    const result = await loadConfig(join(FIXTURES, "defaults-error.yaml"));
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.error.map(brief)).toEqual(["4:17 defaults.train.batch_size: invalid value 0"]);
    expect(result.error[0]!.expected).toBe("a positive integer");
  });

  it("points an error in an extended subagent at that subagent's line", () => {
    const problems = problemsOf(
      yaml("version: 1", "subagents:", "  parent:", AGENT, "    traces: {max_turns: -1}", "  child:", "    extends: parent"),
    );
    expect(problems.map(brief)).toEqual(["5:25 subagents.parent.traces.max_turns: invalid value -1"]);
  });

  it("reports a missing required key at the key of the mapping that lacks it", () => {
    const problems = problemsOf(
      yaml("version: 1", "subagents:", "  a:", "    source:", "      inline:", "        description: Reviews code"),
    );
    expect(problems.map(brief)).toEqual(['5:7 subagents.a.source.inline: missing required key "prompt"']);
  });

  it("requires a mapping with required keys to be complete where it is written", () => {
    const problems = problemsOf(
      yaml("version: 1", "defaults:", "  teacher:", "    pricing: {input_per_mtok: 2}", "subagents:", "  a:", AGENT),
    );
    expect(problems.map(brief)).toEqual(['4:5 defaults.teacher.pricing: missing required key "output_per_mtok"']);
  });

  it("points at the key of an empty value", () => {
    const problems = problemsOf(yaml("version: 1", "subagents:", "  a:", AGENT, "  b:"));
    expect(problems.map(brief)).toEqual(["5:3 subagents.b: wrong type: got null"]);
    expect(problems[0]!.expected).toBe("a mapping");
  });

  it("reports a missing source at the subagent's key", () => {
    const problems = problemsOf(yaml("version: 1", "subagents:", "  a:", AGENT, "  b:", "    base_model: x"));
    expect(problems.map(brief)).toEqual(['5:3 subagents.b: missing required key "source"']);
  });

  it("reports a source with two kinds, and a typo in a source kind", () => {
    const problems = problemsOf(
      yaml("version: 1", "subagents:", "  a:", "    source: {agent: a.md, skill: s}", "  b:", "    source: {agnet: a.md}"),
    );
    expect(problems.map(brief)).toEqual([
      '4:13 subagents.a.source: these keys do not go together: "agent", "skill"',
      '6:14 subagents.b.source.agnet: unknown key "agnet"',
    ]);
    expect(problems[0]!.expected).toBe("exactly one of agent, skill, plugin or inline");
    expect(problems[1]!.hint).toBe('did you mean "agent"?');
  });

  it("rejects a subagent name that is not lowercase, at the key", () => {
    const problems = problemsOf(yaml("version: 1", "subagents:", "  Code Reviewer:", AGENT));
    expect(problems.map(brief)).toEqual(['3:3 subagents.Code Reviewer: invalid name "Code Reviewer"']);
  });

  it("requires version and at least one subagent", () => {
    expect(problemsOf(yaml("subagents: {}")).map(brief)).toEqual([
      '1:1 : missing required key "version"',
      "1:12 subagents: no subagents defined",
    ]);
  });

  it("reports YAML syntax errors with their position", () => {
    const problems = problemsOf(
      yaml("version: 1", "subagents:", "  a:", AGENT, "    train:", "      epochs: 2", "      epochs: 3"),
    );
    expect(problems.map((p) => `${p.line}:${p.column} ${p.message}`)).toEqual(["7:7 Map keys must be unique"]);
  });

  it("reports an unclosed flow sequence where the parser gives up", () => {
    const problems = problemsOf(yaml("version: 1", "plugins: [a.js", "subagents: {}"));
    expect(problems.map((p) => `${p.line}:${p.column} ${p.message}`)).toEqual([
      "3:1 Flow sequence in block collection must be sufficiently indented and end with a ]",
    ]);
  });

  it("formats a problem as file:line:col with the source line and a squiggle", () => {
    const problems = problemsOf(yaml("version: 1", "subagents:", "  a:", AGENT, "    train:", "      epoch: 3"));
    expect(formatProblem(problems[0]!)).toBe(
      [
        'subagents.yaml:6:7: subagents.a.train.epoch: unknown key "epoch"',
        "  6 |       epoch: 3",
        "            ~~~~~",
        '  hint: did you mean "epochs"?',
      ].join("\n"),
    );
  });

  it("reports a missing file at line 0 with a hint to run init", async () => {
    const dir = await mkdtemp(join(tmpdir(), "sabuild-config-"));
    try {
      const result = await loadConfig(join(dir, "subagents.yaml"));
      expect(result).toEqual({
        ok: false,
        error: [
          {
            file: "subagents.yaml",
            line: 0,
            column: 0,
            keyPath: [],
            message: "config file not found",
            hint: "run `sabuild init`",
          },
        ],
      });
    } finally {
      await rm(dir, { recursive: true });
    }
  });
});

describe("extends", () => {
  it("reports an unknown name at the value, with did-you-mean", () => {
    const problems = problemsOf(yaml("version: 1", "subagents:", "  reviewer:", AGENT, "  b:", "    extends: reviewr"));
    expect(problems.map(brief)).toEqual(['6:14 subagents.b.extends: unknown subagent "reviewr"']);
    expect(problems[0]!.hint).toBe('did you mean "reviewer"?');
  });

  it("reports a cycle once, listing it", () => {
    const problems = problemsOf(
      yaml(
        "version: 1",
        "subagents:",
        "  a:",
        "    extends: b",
        "  b:",
        "    extends: c",
        "  c:",
        "    extends: a",
        "  d:",
        "    extends: b",
        "  e:",
        "    extends: e",
      ),
    );
    expect(problems.map(brief)).toEqual([
      "4:14 subagents.a.extends: extends cycle: a -> b -> c -> a",
      "12:14 subagents.e.extends: extends cycle: e -> e",
    ]);
  });
});

describe("${ENV} interpolation", () => {
  it("is allowed in base URLs, api keys and headers, and in prompt text", () => {
    const config = configOf(
      yaml(
        "version: 1",
        "subagents:",
        "  a:",
        "    source: {inline: {description: Runs scripts, prompt: 'Use ${HOME} and $PATH'}}",
        "    teacher:",
        "      base_url: ${LLM_URL}/v1",
        "      api_key: ${LLM_KEY}",
        "      headers: {Authorization: 'Bearer ${LLM_TOKEN}'}",
      ),
    );
    expect(config.envRefs).toEqual(["LLM_KEY", "LLM_TOKEN", "LLM_URL"]);
    expect(subagent(config, "a").teacher.base_url).toBe("${LLM_URL}/v1");
  });

  it("is an error anywhere else, at the value", () => {
    const problems = problemsOf(
      yaml("version: 1", "subagents:", "  a:", AGENT, "    base_model: ${MODEL}", "    sandbox: {memory: '${MEM}'}"),
    );
    expect(problems.map(brief)).toEqual([
      "5:17 subagents.a.base_model: interpolation is only allowed in api keys, base URLs and headers",
      "6:23 subagents.a.sandbox.memory: interpolation is only allowed in api keys, base URLs and headers",
    ]);
  });

  it("rejects a malformed reference", () => {
    const problems = problemsOf(yaml("version: 1", "subagents:", "  a:", AGENT, "    teacher: {base_url: '${URL'}"));
    expect(problems.map(brief)).toEqual(['5:25 subagents.a.teacher.base_url: malformed environment reference "${URL"']);
  });

  it("rejects a literal api key without echoing it", () => {
    const problems = problemsOf(
      yaml("version: 1", "defaults:", "  teacher:", "    api_key: sk-live-1234", "subagents:", "  a:", AGENT),
    );
    expect(problems.map(brief)).toEqual(["4:14 defaults.teacher.api_key: api_key must not be a literal key"]);
    expect(problems[0]!.hint).toContain("environment variable");
    expect(problems[0]!.sourceLine).toBe("    api_key: ************");
    expect(formatProblem(problems[0]!)).not.toContain("sk-live");
  });

  it("accepts an empty api key for servers that need none", () => {
    const config = configOf(yaml("version: 1", "subagents:", "  a:", AGENT, "    teacher: {api_key: ''}"));
    expect(subagent(config, "a").teacher.api_key).toBe("");
    expect(config.envRefs).toEqual([]);
  });
});

describe("resolveTemplate", () => {
  it("substitutes every reference", () => {
    expect(resolveTemplate("${HOST}:${PORT}/v1", { HOST: "http://localhost", PORT: "8000" })).toEqual({
      ok: true,
      value: "http://localhost:8000/v1",
    });
  });

  it("names a missing variable", () => {
    expect(resolveTemplate("${OPENAI_API_KEY}", {})).toEqual({
      ok: false,
      error: "environment variable OPENAI_API_KEY is not set",
    });
    expect(resolveTemplate("${A}${B}", { A: "x" })).toEqual({ ok: false, error: "environment variable B is not set" });
  });
});

describe("JSON Schema", () => {
  it("is committed and current (SABUILD_UPDATE_SCHEMA=1 rewrites it)", async () => {
    const generated = `${JSON.stringify(configJsonSchema(), null, 2)}\n`;
    if (process.env.SABUILD_UPDATE_SCHEMA === "1") await writeFile(SCHEMA_FILE, generated);
    expect(await readFile(SCHEMA_FILE, "utf8")).toBe(generated);
  });

  it("names itself and keeps optional keys optional", () => {
    const schema = configJsonSchema() as {
      $id: string;
      title: string;
      required: string[];
      properties: Record<string, unknown>;
    };
    expect(schema.$id).toBe(CONFIG_SCHEMA_ID);
    expect(schema.title).toBe("sabuild subagents.yaml");
    expect(schema.required).toEqual(["version", "subagents"]);
    expect(Object.keys(schema.properties)).toEqual(["version", "store", "plugins", "remote_cache", "executors", "sandbox", "serve", "defaults", "subagents", "benchmarks", "libraries"]);
  });
});

describe("benchmarks", () => {
  const base = ["version: 1", "subagents:", "  runner:", "    source: { inline: { description: d, prompt: p } }", "benchmarks:", "  fix:", "    tasks: { from: bench.jsonl }"];

  it("fills in the defaults: every arm, one sample, the built-in orchestrator tools", () => {
    const parsed = parseConfig(yaml(...base, "    subagents: [runner]"), FILE);
    if (!parsed.ok) throw new Error(JSON.stringify(parsed.error));
    const [b] = parsed.value.benchmarks;
    expect(b).toMatchObject({ name: "fix", subagents: ["runner"], arms: ["none", "teacher", "base", "student"], samples: 1, concurrency: 4, tasks: { from: ["bench.jsonl"], format: "auto" } });
    expect(b!.orchestrator.tools).toEqual(["Read", "Grep", "Glob", "Edit", "Write", "Bash"]);
  });

  it("points at an offered subagent the file does not declare, with a guess", () => {
    const [p, ...rest] = problemsOf(yaml(...base, "    subagents: [runer]"));
    expect(rest).toEqual([]);
    expect(p).toMatchObject({ line: 8, keyPath: ["benchmarks", "fix", "subagents", 0] });
    expect(p!.message).toMatch(/runer/);
    expect(p!.hint ?? p!.message).toMatch(/runner/);
  });

  it("rejects an unknown arm and a bad serving cost at their keys", () => {
    const problems = problemsOf(yaml(...base, "    subagents: [runner]", "    arms: [none, robot]", "    serving: { usd_per_day: 3 }"));
    expect(problems.map((p) => p.keyPath.join("."))).toEqual(expect.arrayContaining(["benchmarks.fix.arms.1", "benchmarks.fix.serving.usd_per_day"]));
  });

  it("takes Claude Code (pinned) or a command as the orchestrator, and says what each needs", () => {
    const parsed = configOf(yaml(...base, "    subagents: [runner]", "    orchestrator:", "      kind: claude-code", "      base_url: https://api.anthropic.com", '      api_key: "${ANTHROPIC_API_KEY}"'));
    expect(parsed.benchmarks[0]!.orchestrator).toMatchObject({ kind: "claude-code", claude_code_version: expect.stringMatching(/^\d+\.\d+\.\d+$/) });
    expect(configOf(yaml(...base, "    subagents: [runner]")).benchmarks[0]!.orchestrator.kind).toBe("builtin");
    const problems = problemsOf(yaml(...base, "    subagents: [runner]", "    orchestrator:", "      kind: command"));
    expect(problems.map((p) => [p.keyPath.join("."), p.message])).toEqual([["benchmarks.fix.orchestrator.command", "kind: command needs a command to run"]]);
    // Claude Code speaks Anthropic's API: the teacher-shaped default (OpenAI's) would only fail later.
    const openai = problemsOf(yaml(...base, "    subagents: [runner]", "    orchestrator:", "      kind: claude-code"));
    expect(openai.map((p) => p.keyPath.join("."))).toEqual(["benchmarks.fix.orchestrator.base_url"]);
    expect(problemsOf(yaml(...base, "    subagents: [runner]", "    orchestrator:", "      kind: claude-code", "      standin: main.mjs", "      claude_code_version: latest"))[0]!.keyPath.join(".")).toBe(
      "benchmarks.fix.orchestrator.claude_code_version",
    );
  });
});

describe("executors", () => {
  const base = ["version: 1", "executors:", "  cpu: { type: slurm, partition: debug, items_per_task: 5 }", "  gpu: { type: ray, num_gpus: 1, resources: { A100: 1 } }"];

  it("names an executor per stage kind in defaults, overridden per subagent, with resources filled in", () => {
    const config = configOf(yaml(...base, "defaults:", "  executor: { traces: cpu, train: gpu }", "subagents:", "  a:", AGENT, "  b:", AGENT, "    executor: { traces: local }"));
    expect(subagent(config, "a").executor).toEqual({ traces: "cpu", train: "gpu" });
    expect(subagent(config, "b").executor).toEqual({ traces: "local", train: "gpu" });
    expect(config.executors.cpu).toMatchObject({ type: "slurm", partition: "debug", items_per_task: 5, poll_s: 2, sbatch: [] });
    expect(config.executors.gpu).toMatchObject({ type: "ray", address: "auto", num_gpus: 1, resources: { A100: 1 }, items_per_task: 1 });
  });

  it("points at an executor name that is not defined, with a guess", () => {
    const problems = problemsOf(yaml(...base, "subagents:", "  a:", AGENT, "    executor: { train: gpuu }"));
    expect(problems.map(brief)).toEqual(['8:24 subagents.a.executor.train: unknown executor "gpuu"']);
    expect(problems[0]!.hint).toBe('did you mean "gpu"?');
  });

  it("rejects an unknown engine and an unknown stage kind at their keys", () => {
    const problems = problemsOf(yaml("version: 1", "executors:", "  k8s: { type: kubernetes }", "defaults:", "  executor: { trian: k8s }", "subagents:", "  a:", AGENT));
    expect(problems.map((p) => p.keyPath.join("."))).toEqual(expect.arrayContaining(["executors.k8s.type", "defaults.executor.trian"]));
  });
});

describe("libraries", () => {
  const sha = "0123456789abcdef0123456789abcdef01234567";
  const base = ["version: 1", "subagents:", "  runner:", "    source: { skill: skills/pdf, library: team }", "libraries:"];

  it("reads a local folder and a git repository pinned at a commit, in file order", () => {
    const parsed = parseConfig(yaml(...base, "  team: { git: https://example.com/skills.git, commit: " + sha + ", ref: main }", "  mine: { path: ../agents }"), FILE);
    if (!parsed.ok) throw new Error(JSON.stringify(parsed.error));
    expect(parsed.value.libraries).toEqual([
      { name: "team", git: "https://example.com/skills.git", commit: sha, ref: "main" },
      { name: "mine", path: "../agents" },
    ]);
    expect(parsed.value.subagents[0]!.source).toEqual({ skill: "skills/pdf", library: "team" });
  });

  it("defaults to none", () => {
    const parsed = parseConfig(yaml("version: 1", "subagents:", "  runner:", "    source: { inline: { description: d, prompt: p } }"), FILE);
    if (!parsed.ok) throw new Error(JSON.stringify(parsed.error));
    expect(parsed.value.libraries).toEqual([]);
  });

  it("points at a source's unknown library with its line and a guess", () => {
    const [p, ...rest] = problemsOf(yaml(...base, "  teams: { path: lib }"));
    expect(rest).toEqual([]);
    expect(p).toMatchObject({ line: 4, keyPath: ["subagents", "runner", "source", "library"] });
    expect(p!.message).toContain('unknown library "team"');
    expect(p!.hint).toContain('did you mean "teams"?');
  });

  it("rejects a short commit and a library that is neither a folder nor a repository, at their keys", () => {
    const problems = problemsOf(yaml(...base, "  team: { git: https://example.com/x.git, commit: abc123 }", "  other: { url: x }"));
    expect(problems.map((p) => p.keyPath.join("."))).toEqual(expect.arrayContaining(["libraries.team.commit", "libraries.other.url"]));
    expect(problems.find((p) => p.keyPath.join(".") === "libraries.team.commit")!.line).toBe(6);
  });
});
