// Summarises a V8 .cpuprofile (from `node --cpu-prof`): where the self time went, by function,
// by file and by package, and the inclusive (total) time of the heaviest functions.
// usage: node bench/profile-top.mjs PROFILE.cpuprofile [--top 25]
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { round, table } from "./lib.mjs";

const { values, positionals } = parseArgs({ options: { top: { type: "string", default: "25" } }, allowPositionals: true });
if (positionals.length !== 1) {
  process.stderr.write("usage: node bench/profile-top.mjs PROFILE.cpuprofile [--top 25]\n");
  process.exit(2);
}
const TOP = Number(values.top);
const profile = JSON.parse(readFileSync(positionals[0], "utf8"));

// Sample i lasted timeDeltas[i + 1]: attribute each delta to the node sampled before it.
const selfUs = new Map();
for (let i = 0; i < profile.samples.length - 1; i++) {
  const id = profile.samples[i];
  selfUs.set(id, (selfUs.get(id) ?? 0) + profile.timeDeltas[i + 1]);
}
const byId = new Map(profile.nodes.map((n) => [n.id, n]));
const parent = new Map();
for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);

function shortUrl(url) {
  if (!url) return "(native)";
  const nm = url.lastIndexOf("node_modules/");
  if (nm >= 0) return url.slice(nm + "node_modules/".length);
  const dist = url.lastIndexOf("/dist/");
  if (dist >= 0) return url.slice(dist + 1);
  return url.replace(/^file:\/\//, "");
}

function packageOf(url) {
  if (!url) return "(native/gc/idle)";
  if (url.startsWith("node:")) return "node: builtins";
  const nm = url.lastIndexOf("node_modules/");
  if (nm >= 0) {
    const parts = url.slice(nm + "node_modules/".length).split("/");
    return parts[0].startsWith("@") ? `${parts[0]}/${parts[1]}` : parts[0];
  }
  if (url.includes("/dist/")) return "sabuild dist/";
  return shortUrl(url);
}

const fnKey = (n) => `${n.callFrame.functionName || "(anonymous)"}  ${shortUrl(n.callFrame.url)}:${n.callFrame.lineNumber + 1}`;

const selfByFn = new Map();
const selfByFile = new Map();
const selfByPkg = new Map();
const totalByFn = new Map();
let totalUs = 0;
for (const [id, us] of selfUs) {
  const n = byId.get(id);
  totalUs += us;
  const add = (m, k) => m.set(k, (m.get(k) ?? 0) + us);
  add(selfByFn, fnKey(n));
  add(selfByFile, shortUrl(n.callFrame.url));
  add(selfByPkg, packageOf(n.callFrame.url));
  // Inclusive time: count each function once per stack, however deep its recursion.
  const seen = new Set();
  for (let cur = id; cur !== undefined; cur = parent.get(cur)) {
    const k = fnKey(byId.get(cur));
    if (seen.has(k)) continue;
    seen.add(k);
    add(totalByFn, k);
  }
}

function top(title, m, n = TOP) {
  const rows = [...m].sort((a, b) => b[1] - a[1]).slice(0, n);
  return `${title}\n${table([["ms", "%", "where"], ...rows.map(([k, us]) => [round(us / 1000), round((100 * us) / totalUs), k])])}\n`;
}

console.log(`profile: ${round(totalUs / 1000)} ms sampled, ${profile.samples.length} samples\n`);
console.log(top("self time by package", selfByPkg, 15));
console.log(top("self time by file", selfByFile, 20));
console.log(top("self time by function", selfByFn));
console.log(top("inclusive time by function", totalByFn));
