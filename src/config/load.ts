import { readFile } from "node:fs/promises";
import { basename, dirname, relative, resolve } from "node:path";
import * as z from "zod";
import { isAlias, isMap, isScalar, LineCounter, parseDocument, type Document } from "yaml";
import type { Problem } from "../errors.js";
import { err, ok, type Result } from "../result.js";
import { documentSchema, type RemoteCacheConfig, type ServeConfig } from "./file-schema.js";
import { interpolationProblems } from "./interpolation.js";
import { expectedText, issuesToProblems } from "./issues.js";
import { createLocator } from "./locate.js";
import { isMapping, mergeLayers, resolveChains, type Layer } from "./merge.js";
import { resolvedSubagentSchema, type ResolvedSubagent } from "./schema.js";
import type { ResolvedBenchmark } from "./benchmark-schema.js";
import type { ExecutorConfig } from "./executor-schema.js";
import type { ResolvedLibrary } from "./library-schema.js";
import { didYouMean } from "../errors.js";
import { templateRefs } from "./template.js";

export interface ProjectConfig {
  /** Absolute project directory: the directory of subagents.yaml. */
  root: string;
  /** Absolute path of subagents.yaml. */
  file: string;
  version: 1;
  /** Absolute path of the content store. */
  store: string;
  /** The shared HTTP cache, as written (templates unresolved); the environment may override it. */
  remoteCache?: RemoteCacheConfig;
  /** Absolute paths of stage plugin modules. */
  plugins: string[];
  /** `serve:`: whether and how `sabuild serve` records traffic (docs/traffic.md). */
  serve: ServeConfig;
  /** In file order, each with every default filled in. */
  subagents: ResolvedSubagent[];
  /** In file order; built as the project-level nodes bench/<name>. */
  benchmarks: ResolvedBenchmark[];
  /** The container engine of the machine that builds (`sandbox.engine`, top level). */
  sandboxEngine: "docker" | "podman";
  /** Named cluster executors (`executors:`); stages name them by kind in `executor:`. */
  executors: Record<string, ExecutorConfig>;
  /** In file order; each indexed as the project-level node library/<name>:index. */
  libraries: ResolvedLibrary[];
  /** Every environment variable the resolved config refers to, sorted. */
  envRefs: string[];
}

export async function loadConfig(file: string): Promise<Result<ProjectConfig, Problem[]>> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (cause) {
    const missing = (cause as NodeJS.ErrnoException).code === "ENOENT";
    const problem: Problem = {
      file: basename(file),
      line: 0,
      column: 0,
      keyPath: [],
      message: missing ? "config file not found" : `cannot read the config file: ${(cause as Error).message}`,
    };
    if (missing) problem.hint = "run `sabuild init`";
    return err([problem]);
  }
  return parseConfig(text, file);
}

/** Checks every layer where it is written, then merges; returns every problem, in file order. */
export function parseConfig(text: string, file: string): Result<ProjectConfig, Problem[]> {
  const root = dirname(file);
  const shownFile = relative(root, file);
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false });
  const locate = createLocator(shownFile, text, doc, lines);

  if (doc.errors.length > 0) {
    return err(inFileOrder(doc.errors.map((e) => locate.atOffset(e.pos[0], e.pos[1], { message: e.message }))));
  }
  if (doc.contents === null) {
    const expected = "a mapping with version and subagents";
    return err([{ file: shownFile, line: 0, column: 0, keyPath: [], message: "empty config file", expected }]);
  }
  let data: unknown;
  try {
    data = doc.toJS();
  } catch (cause) {
    // yaml refuses documents whose aliases expand without bound ("billion laughs").
    return err([{ file: shownFile, line: 0, column: 0, keyPath: [], message: (cause as Error).message }]);
  }

  const checked = documentSchema.safeParse(data, { error: expectedText });
  const misplaced = interpolationProblems(doc, locate);
  // A misplaced ${...} also fails its field's format; the placement is the problem to report.
  const misplacedAt = new Set(misplaced.map((p) => JSON.stringify(p.keyPath)));
  const problems = checked.success
    ? []
    : issuesToProblems(checked.error.issues, { data, schema: documentSchema, locate }).filter(
        (p) => !misplacedAt.has(JSON.stringify(p.keyPath)),
      );
  problems.push(...misplaced);

  const subagents = isMapping(data) && isMapping(data.subagents) ? data.subagents : {};
  // A project may start from its libraries alone: search them, then `sabuild add` what to distill.
  const libraries = isMapping(data) && isMapping(data.libraries) ? Object.keys(data.libraries) : [];
  if (isMapping(data) && isMapping(data.subagents) && Object.keys(subagents).length === 0 && libraries.length === 0) {
    problems.push(locate.at(["subagents"], "value", { message: "no subagents defined", expected: "at least one subagent", hint: "declare one (see docs/config.md), or add a library to pick from with `sabuild library add`" }));
  }
  const order = subagentOrder(doc);
  const { chains, problems: chainProblems } = resolveChains(subagents, order, locate);
  problems.push(...chainProblems);
  for (const [name, chain] of chains) {
    // A subagent that is not a mapping already has its problem; a missing source would be noise.
    if (!chain.every((n) => isMapping(subagents[n]))) continue;
    if (chain.some((n) => sourceOf(subagents[n]) !== undefined)) continue;
    problems.push(
      locate.at(["subagents", name], "key", {
        message: 'missing required key "source"',
        expected: "a source (agent, skill, plugin or inline), here or in a subagent it extends",
        hint: "add `source: {agent: path/to/agent.md}`, or extends: another subagent",
      }),
    );
  }
  if (checked.success) problems.push(...benchmarkProblems(checked.data.benchmarks, order, locate));
  if (checked.success) problems.push(...executorNameProblems(data, Object.keys(checked.data.executors), locate));
  if (checked.success) problems.push(...librarySourceProblems(subagents, Object.keys(checked.data.libraries), locate));
  if (!checked.success || problems.length > 0) return err(inFileOrder(problems));

  // The raw layer, not zod's output: that would carry the documented defaults as if written.
  const defaults = isMapping(data) && isMapping(data.defaults) ? data.defaults : {};
  const resolved = order.map((name) => resolveSubagent(name, chains.get(name)!, subagents, defaults));
  return ok({
    root,
    file,
    version: 1,
    store: resolve(root, checked.data.store),
    plugins: checked.data.plugins.map((p) => resolve(root, p)),
    ...(checked.data.remote_cache ? { remoteCache: checked.data.remote_cache } : {}),
    serve: checked.data.serve,
    subagents: resolved,
    executors: checked.data.executors,
    sandboxEngine: checked.data.sandbox.engine,
    benchmarks: Object.entries(checked.data.benchmarks).map(([name, b]) => ({ name, ...b })),
    libraries: Object.entries(checked.data.libraries).map(([name, l]) => ({ name, ...l })),
    envRefs: envRefsOf(resolved, checked.data.remote_cache, Object.values(checked.data.benchmarks)),
  });
}

/**
 * effective = built-in defaults < `defaults` < furthest ancestor < ... < parent < the subagent.
 * `source` is not a setting: it comes whole from the nearest subagent in the chain that has one.
 */
function resolveSubagent(name: string, chain: string[], subagents: Layer, defaults: Layer): ResolvedSubagent {
  const own = subagents[name] as Layer;
  const layers = [defaults, ...chain.toReversed().map((n) => settingsOf(subagents[n] as Layer))];
  const input = {
    name,
    ...(own.extends === undefined ? {} : { extends: own.extends }),
    source: chain.map((n) => sourceOf(subagents[n])).find((s) => s !== undefined),
    ...mergeLayers(layers),
  };
  const parsed = resolvedSubagentSchema.safeParse(input);
  // Every layer was checked on its own and merging cannot make a valid layer invalid.
  if (!parsed.success) throw new Error(`bug: merged subagent ${name} is invalid:\n${z.prettifyError(parsed.error)}`);
  return parsed.data;
}

function settingsOf(layer: Layer): Layer {
  const { source: _source, extends: _extends, ...settings } = layer;
  return settings;
}

function sourceOf(layer: unknown): unknown {
  return isMapping(layer) ? layer.source : undefined;
}

/** Names in the order written (plain object keys would put names like "1" first). */
function subagentOrder(doc: Document): string[] {
  const node = doc.get("subagents", true);
  const map = isAlias(node) ? node.resolve(doc) : node;
  if (!isMap(map)) return [];
  return map.items.flatMap((pair) => (isScalar(pair.key) ? [String(pair.key.value)] : []));
}

/** A benchmark offers subagents by name: each must be one of the file's. */
function benchmarkProblems(benchmarks: Record<string, { subagents: string[] }>, names: string[], locate: ReturnType<typeof createLocator>): Problem[] {
  const problems: Problem[] = [];
  for (const [bench, b] of Object.entries(benchmarks)) {
    b.subagents.forEach((name, i) => {
      if (names.includes(name)) return;
      const guess = didYouMean(name, names);
      problems.push(
        locate.at(["benchmarks", bench, "subagents", i], "value", {
          message: `unknown subagent "${name}"`,
          expected: `one of ${names.join(", ")}`,
          hint: guess ? `did you mean "${guess}"?` : "offer subagents defined under subagents:",
        }),
      );
    });
  }
  return problems;
}

/** Each `executor:` of defaults and of every subagent names local or an executor of `executors:`. */
function executorNameProblems(data: unknown, names: string[], locate: ReturnType<typeof createLocator>): Problem[] {
  if (!isMapping(data)) return [];
  const layers: [(string | number)[], unknown][] = [[["defaults"], data.defaults]];
  if (isMapping(data.subagents)) for (const [name, layer] of Object.entries(data.subagents)) layers.push([["subagents", name], layer]);
  const problems: Problem[] = [];
  for (const [at, layer] of layers) {
    if (!isMapping(layer) || !isMapping(layer.executor)) continue;
    for (const [kind, name] of Object.entries(layer.executor)) {
      if (typeof name !== "string" || name === "local" || names.includes(name)) continue;
      const guess = didYouMean(name, ["local", ...names]);
      problems.push(
        locate.at([...at, "executor", kind], "value", {
          message: `unknown executor "${name}"`,
          expected: `local${names.length ? ` or one of ${names.join(", ")}` : ""}`,
          hint: guess ? `did you mean "${guess}"?` : "define it under executors: (type: slurm or type: ray)",
        }),
      );
    }
  }
  return problems;
}

/** A source taken from a library names one declared under libraries:. */
function librarySourceProblems(subagents: Layer, libraries: string[], locate: ReturnType<typeof createLocator>): Problem[] {
  const problems: Problem[] = [];
  for (const [name, layer] of Object.entries(subagents)) {
    const source = sourceOf(layer);
    const library = isMapping(source) ? source.library : undefined;
    if (typeof library !== "string" || libraries.includes(library)) continue;
    const guess = didYouMean(library, libraries);
    problems.push(
      locate.at(["subagents", name, "source", "library"], "value", {
        message: `unknown library "${library}"`,
        expected: libraries.length ? `one of ${libraries.join(", ")}` : "a library declared under libraries:",
        hint: guess ? `did you mean "${guess}"?` : "add it with `sabuild library add <path | git URL>`",
      }),
    );
  }
  return problems;
}

function envRefsOf(subagents: readonly ResolvedSubagent[], remote?: RemoteCacheConfig, benchmarks: readonly Omit<ResolvedBenchmark, "name">[] = []): string[] {
  const templates = [...(remote ? [remote.url, remote.hmac_key ?? "", ...Object.values(remote.headers)] : []), ...benchmarks.flatMap((b) => [b.orchestrator.base_url, b.orchestrator.api_key, ...Object.values(b.orchestrator.headers ?? {})]), ...subagents.flatMap((s) => [
    s.teacher.base_url,
    s.teacher.api_key,
    ...Object.values(s.teacher.headers ?? {}),
    ...(s.eval.judge ? [s.eval.judge.base_url, s.eval.judge.api_key] : []),
  ])];
  const refs = templates.flatMap((t) => {
    const parsed = templateRefs(t);
    return parsed.ok ? parsed.value : [];
  });
  return [...new Set(refs)].sort();
}

function inFileOrder(problems: Problem[]): Problem[] {
  return problems.toSorted((a, b) => a.line - b.line || a.column - b.column);
}
