// Library benchmark: a generated library of N agents and skills (flat agent folders, SKILL.md
// folders, plugins listed in a marketplace.json), indexed and searched. Figures: index speed
// (entries/s) of the scan alone and of `sabuild library add` end to end (the library's index
// node and the search node over it), the ranker's build and load, query latency p50/p95 in
// process, and the whole-process time of `sabuild search` on an up-to-date index.
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { pathToFileURL } from "node:url";
import { log, options, positive, requireDist, round, summary, table, timed } from "./lib.mjs";

const USAGE = `node bench/library.mjs [options]
  --entries N    agents and skills generated (default 5000)
  --queries N    in-process queries timed (default 500)
  --runs N       runs of the sabuild search process (default 10)
  --dir PATH     work directory, wiped first (default /tmp/sabuild-bench-library)
  --keep         leave the work directory
  --json         print the figures as one JSON document on stdout`;

const opts = options(
  {
    entries: { type: "string", default: "5000" },
    queries: { type: "string", default: "500" },
    runs: { type: "string", default: "10" },
    dir: { type: "string", default: "/tmp/sabuild-bench-library" },
    keep: { type: "boolean", default: false },
    json: { type: "boolean", default: false },
  },
  USAGE,
);
const ENTRIES = positive("entries", opts.entries);
const QUERIES = positive("queries", opts.queries);
const RUNS = positive("runs", opts.runs);
const dist = requireDist();
const load = (p) => import(pathToFileURL(join(dist, p)).href);
const { scanLibrary } = await load("libraries/scan.js");
const { bm25Ranker } = await load("libraries/bm25.js");

// A deterministic generator (mulberry32): the same library on every run.
let seed = 42;
const rand = () => {
  seed = (seed + 0x6d2b79f5) | 0;
  let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
};
const pick = (xs) => xs[Math.floor(rand() * xs.length)];
const VOCAB = (
  "test tests testing review reviewer code python typescript rust go java kotlin swift react vue angular css html design layout typography color " +
  "database sql postgres mysql index query migration schema api rest graphql grpc endpoint service microservice kubernetes docker container helm " +
  "terraform aws gcp azure cloud deploy deployment release version changelog commit git branch merge rebase conflict security vulnerability audit " +
  "injection secret token auth oauth login session cache redis queue kafka stream event log logging metric monitoring alert incident debug bug " +
  "crash trace profile performance latency memory leak refactor cleanup lint format style documentation docs readme tutorial guide pdf excel " +
  "spreadsheet chart plot data pandas statistics model training dataset prompt llm agent tool mcp server browser playwright screenshot accessibility " +
  "seo marketing email slack notification mobile ios android flutter game unity shader audio video image resize compress archive backup"
).split(" ");
const sentence = (n) => Array.from({ length: n }, () => pick(VOCAB)).join(" ");
const CATEGORIES = ["development", "quality", "infrastructure", "data", "security", "docs", "design", "operations"];

rmSync(opts.dir, { recursive: true, force: true });
const lib = join(opts.dir, "project/libs/generated");
const write = (rel, text) => {
  mkdirSync(dirname(join(lib, rel)), { recursive: true });
  writeFileSync(join(lib, rel), text);
};
const marketplace = [];
for (let i = 0; i < ENTRIES; i++) {
  const name = `${pick(VOCAB)}-${pick(VOCAB)}-${i}`;
  const description = `${sentence(12)}.`;
  const body = Array.from({ length: 8 }, () => `${sentence(25)}.`).join("\n\n");
  const kind = i % 10;
  if (kind < 6) {
    write(`${pick(CATEGORIES)}/${name}.md`, `---\nname: ${name}\ndescription: ${description}\ntools: Read, Grep, Bash\ncategory: ${pick(CATEGORIES)}\n---\n\n${body}\n`);
  } else if (kind < 9) {
    write(`skills/${name}/SKILL.md`, `---\nname: ${name}\ndescription: ${description}\nlicense: MIT\n---\n\n# ${name}\n\n${body}\n`);
  } else {
    const plugin = `plugin-${i}`;
    write(`plugins/${plugin}/.claude-plugin/plugin.json`, JSON.stringify({ name: plugin, keywords: [pick(VOCAB), pick(VOCAB)] }));
    write(`plugins/${plugin}/agents/${name}.md`, `---\nname: ${name}\ndescription: ${description}\n---\n\n${body}\n`);
    marketplace.push({ name: plugin, source: `./plugins/${plugin}`, category: pick(CATEGORIES) });
  }
}
write(".claude-plugin/marketplace.json", JSON.stringify({ name: "generated", owner: { name: "bench" }, plugins: marketplace }));
const project = join(opts.dir, "project");
writeFileSync(join(project, "subagents.yaml"), "version: 1\nsubagents:\n  helper:\n    source: { inline: { description: helps, prompt: you help } }\n");
log(`generated ${ENTRIES} entries under ${lib}`);

// The index node's work in process: read every file into entries.
let t0 = performance.now();
const index = await scanLibrary("generated", null, lib);
const scanMs = performance.now() - t0;
if (index.entries.length !== ENTRIES) throw new Error(`indexed ${index.entries.length} of ${ENTRIES} entries: ${JSON.stringify(index.warnings.slice(0, 3))}`);
t0 = performance.now();
const serialized = bm25Ranker.build(index.entries);
const buildMs = performance.now() - t0;
t0 = performance.now();
const ranker = bm25Ranker.load(serialized);
const loadMs = performance.now() - t0;

const queries = Array.from({ length: QUERIES }, () => sentence(2 + Math.floor(rand() * 4)));
for (const q of queries.slice(0, 20)) ranker.search(q, { limit: 10 });
const latencies = queries.map((q) => {
  const s = performance.now();
  ranker.search(q, { limit: 10 });
  return performance.now() - s;
});

// End to end: `library add` indexes the library through its nodes (cold store), then searches run as users run them.
const cli = join(dist, "cli/main.js");
const add = timed(process.execPath, [cli, "library", "add", "libs/generated", "--json"], { cwd: project, env: { ...process.env, CI: "1" } });
const first = timed(process.execPath, [cli, "search", "debug a memory leak in a kubernetes service", "--json"], { cwd: project, env: { ...process.env, CI: "1" } });
const processes = [];
for (let r = 0; r < RUNS; r++) processes.push(timed(process.execPath, [cli, "search", queries[r % queries.length]], { cwd: project, env: { ...process.env, CI: "1" } }).ms);
const noop = [];
for (let r = 0; r < RUNS; r++) noop.push(timed(process.execPath, [cli, "--version"], { cwd: project }).ms);

const p = (xs, q) => round([...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * q))], 2);
const figures = {
  entries: ENTRIES,
  scan_ms: round(scanMs),
  scan_entries_per_s: round((ENTRIES / scanMs) * 1000, 0),
  ranker_build_ms: round(buildMs),
  ranker_json_bytes: serialized.length,
  ranker_load_ms: round(loadMs),
  library_add_ms: round(add.ms),
  library_add_entries_per_s: round((ENTRIES / add.ms) * 1000, 0),
  query_ms: { p50: p(latencies, 0.5), p95: p(latencies, 0.95), max: p(latencies, 1) },
  search_first_process_ms: round(first.ms),
  search_process_ms: summary(processes),
  node_version_process_ms: summary(noop),
};
if (opts.json) console.log(JSON.stringify(figures, null, 1));
else {
  log(table([
    ["what", "figure"],
    [`scan ${ENTRIES} entries (in process)`, `${figures.scan_ms} ms, ${figures.scan_entries_per_s} entries/s`],
    ["BM25 index build / load", `${figures.ranker_build_ms} ms / ${figures.ranker_load_ms} ms (${round(serialized.length / 1048576)} MiB JSON)`],
    ["sabuild library add (index + search nodes, whole process)", `${figures.library_add_ms} ms, ${figures.library_add_entries_per_s} entries/s`],
    ["query, in process, p50 / p95", `${figures.query_ms.p50} / ${figures.query_ms.p95} ms`],
    ["sabuild search, whole process, median (min-max)", `${figures.search_process_ms.median} ms (${figures.search_process_ms.min}-${figures.search_process_ms.max})`],
    ["sabuild --version, whole process, median", `${figures.node_version_process_ms.median} ms`],
  ]));
}
if (!opts.keep) rmSync(opts.dir, { recursive: true, force: true });
