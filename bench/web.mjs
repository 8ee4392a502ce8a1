// Web tools benchmark: WebFetch of N local pages from a real nginx on loopback, per page, against
// curl plus the same markdown conversion (what WebFetch adds is its guarded request in Node);
// then replayed searches per second from the store (record once against a loopback SearXNG
// stand-in, replay with it stopped).
import { nginxConf } from "../tests/support/nginx-conf.mjs";
import { spawn, spawnSync } from "node:child_process";
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { createServer as createHttpServer } from "node:http";
import { createServer } from "node:net";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { log, options, positive, requireDist, round, summary, table } from "./lib.mjs";

const USAGE = `node bench/web.mjs [options]
  --pages N      local pages fetched (default 100)
  --searches N   distinct searches recorded and replayed (default 200)
  --rounds N     replay rounds over the searches (default 5)
  --dir PATH     work directory, wiped first (default /tmp/sabuild-bench-web)
  --json         print the figures as one JSON document on stdout`;

const opts = options(
  {
    pages: { type: "string", default: "100" },
    searches: { type: "string", default: "200" },
    rounds: { type: "string", default: "5" },
    dir: { type: "string", default: "/tmp/sabuild-bench-web" },
    json: { type: "boolean", default: false },
  },
  USAGE,
);
const PAGES = positive("pages", opts.pages);
const SEARCHES = positive("searches", opts.searches);
const ROUNDS = positive("rounds", opts.rounds);
const dist = requireDist();
const load = (p) => import(pathToFileURL(join(dist, p)).href);
const { parseConfig } = await load("config/index.js");
const { openWeb } = await load("web/provider.js");
const { pageToMarkdown } = await load("web/markdown.js");
const { runToolCall, TOOLS } = await load("tools/index.js");

rmSync(opts.dir, { recursive: true, force: true });
const data = join(opts.dir, "nginx/data");
mkdirSync(data, { recursive: true });

/** A documentation page of ~20 KB: headings, paragraphs, code, a list, navigation and a footer. */
function page(i) {
  const sections = Array.from({ length: 12 }, (_, s) => `<h2>Section ${s} of page ${i}</h2>
<p>The function <code>frob_${i}_${s}()</code> takes an argument and returns a value; it raises <em>ValueError</em> when the argument is out of range. See <a href="page-${(i + 1) % PAGES}.html">the next page</a>.</p>
<pre><code>result = frob_${i}_${s}(42)\nprint(result)</code></pre>
<ul><li>first point about ${s}</li><li>second point about ${s}</li></ul>`).join("\n");
  return `<!doctype html><html><head><title>Page ${i}</title></head><body><nav><a href="/">Index</a> <a href="/modules.html">Modules</a></nav><article><h1>Page ${i}</h1>${sections}</article><footer>Copyright</footer></body></html>`;
}
for (let i = 0; i < PAGES; i++) writeFileSync(join(data, `page-${i}.html`), page(i));

const freePort = () => new Promise((resolve) => { const s = createServer(); s.listen(0, "127.0.0.1", () => { const p = s.address().port; s.close(() => resolve(p)); }); });
const port = await freePort();
const nginxDir = join(opts.dir, "nginx");
writeFileSync(join(nginxDir, "nginx.conf"), nginxConf({ dir: nginxDir, data, port }));
const nginx = spawn("nginx", ["-p", nginxDir, "-c", join(nginxDir, "nginx.conf")], { stdio: "ignore" });
const base = `http://127.0.0.1:${port}`;
for (let i = 0; i < 100 && spawnSync("curl", ["-s", "-o", "/dev/null", `${base}/page-0.html`]).status !== 0; i++) await new Promise((r) => setTimeout(r, 50));

const project = (web) => {
  const parsed = parseConfig(JSON.stringify({ version: 1, subagents: { r: { source: { inline: { description: "d", prompt: "p" } }, web } } }), join(opts.dir, "subagents.yaml"));
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.error));
  return openWeb(parsed.value, parsed.value.subagents[0], () => undefined);
};
const ctx = (web) => ({ sandbox: undefined, web });

// WebFetch, live (nothing stored): guarded request, Readability, turndown.
const fetchWeb = project({ mode: "live", fetch: { allow: ["127.0.0.0/8"], max_chars: 1_000_000 } });
const ours = [];
for (let i = 0; i < PAGES; i++) {
  const t = performance.now();
  const r = await runToolCall(TOOLS, "WebFetch", JSON.stringify({ url: `${base}/page-${i}.html`, prompt: "x" }), ctx(fetchWeb));
  ours.push(performance.now() - t);
  if (r.isError) throw new Error(r.content);
}
// curl (a process per page, as a script would) plus the same conversion in this process.
const curl = [];
const curlOnly = [];
for (let i = 0; i < PAGES; i++) {
  const t = performance.now();
  const r = spawnSync("curl", ["-s", "--fail", `${base}/page-${i}.html`], { maxBuffer: 1 << 26 });
  const fetched = performance.now();
  if (r.status !== 0) throw new Error(`curl exited ${r.status}`);
  pageToMarkdown(r.stdout, "text/html", `${base}/page-${i}.html`);
  curl.push(performance.now() - t);
  curlOnly.push(fetched - t);
}
// The conversion alone, per page (already fetched).
const bodies = Array.from({ length: PAGES }, (_, i) => Buffer.from(page(i)));
const convert = bodies.map((b, i) => { const t = performance.now(); pageToMarkdown(b, "text/html", `${base}/page-${i}.html`); return performance.now() - t; });
nginx.kill("SIGTERM");

// Searches: record against a loopback SearXNG stand-in, then replay with it stopped.
const searx = createHttpServer((req, res) => {
  const q = new URL(req.url, "http://x").searchParams.get("q");
  res.writeHead(200, { "content-type": "application/json" });
  res.end(JSON.stringify({ query: q, results: Array.from({ length: 10 }, (_, k) => ({ title: `${q} ${k}`, url: `https://example.org/${encodeURIComponent(q)}/${k}`, content: `About ${q}, result ${k}.` })) }));
});
await new Promise((r) => searx.listen(0, "127.0.0.1", r));
const searxUrl = `http://127.0.0.1:${searx.address().port}`;
const queries = Array.from({ length: SEARCHES }, (_, i) => `query number ${i}`);
const record = project({ mode: "record", search: { provider: "searxng", base_url: searxUrl } });
let t0 = performance.now();
for (const q of queries) await runToolCall(TOOLS, "WebSearch", JSON.stringify({ query: q }), ctx(record));
const recordMs = performance.now() - t0;
await new Promise((r) => searx.close(r));
const replay = project({ mode: "replay", search: { provider: "searxng", base_url: searxUrl } });
const rates = [];
for (let round = 0; round < ROUNDS; round++) {
  t0 = performance.now();
  for (const q of queries) {
    const r = await runToolCall(TOOLS, "WebSearch", JSON.stringify({ query: q }), ctx(replay));
    if (r.isError) throw new Error(r.content);
  }
  rates.push((SEARCHES / (performance.now() - t0)) * 1000);
}

const p = (xs, q) => round([...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * q))], 2);
const figures = {
  pages: PAGES,
  webfetch_ms: { p50: p(ours, 0.5), p95: p(ours, 0.95) },
  curl_plus_conversion_ms: { p50: p(curl, 0.5), p95: p(curl, 0.95) },
  curl_only_ms: { p50: p(curlOnly, 0.5) },
  conversion_ms: { p50: p(convert, 0.5), p95: p(convert, 0.95) },
  searches: SEARCHES,
  record_searches_per_s: round((SEARCHES / recordMs) * 1000),
  replay_searches_per_s: summary(rates),
};
if (opts.json) console.log(JSON.stringify(figures, null, 1));
else {
  log(table([
    ["per page (ms)", "p50", "p95"],
    ["WebFetch (guarded GET + Readability + turndown)", figures.webfetch_ms.p50, figures.webfetch_ms.p95],
    ["curl + the same conversion", figures.curl_plus_conversion_ms.p50, figures.curl_plus_conversion_ms.p95],
    ["  of which curl", figures.curl_only_ms.p50, ""],
    ["conversion alone", figures.conversion_ms.p50, figures.conversion_ms.p95],
  ]));
  log(`searches: recorded ${figures.record_searches_per_s}/s; replayed ${figures.replay_searches_per_s.median}/s median of ${ROUNDS} rounds (min ${figures.replay_searches_per_s.min}, max ${figures.replay_searches_per_s.max})`);
}
rmSync(opts.dir, { recursive: true, force: true });
