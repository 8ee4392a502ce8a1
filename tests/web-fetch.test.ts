import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { startStandin, type Standin } from "../src/standin/server.js";
import { tempDir } from "./helpers.js";
import { startNginx, type Nginx } from "./nginx.js";
import { callTool, providerOf } from "./support/web.js";

/**
 * WebFetch on the host against a real nginx on loopback: pages as markdown, redirects followed
 * by our own loop, the size cap, and the address guard (loopback refused unless allow-listed,
 * also when a redirect leads there). nginx is reached as "localhost" so that the allow list can
 * name that host while 127.0.0.1 itself stays refused.
 */

const PAGE = `<!doctype html><html><head><title>json — JSON encoder and decoder</title></head><body>
<nav><a href="/">Index</a> | <a href="/modules.html">Modules</a></nav>
<article><h1>json — JSON encoder and decoder</h1>
<p><strong>Source code:</strong> <a href="lib/json/__init__.py">Lib/json/__init__.py</a></p>
<p>JSON (JavaScript Object Notation) is a lightweight data interchange format inspired by JavaScript object literal syntax.</p>
<h2>Basic Usage</h2>
<p>Serialize <em>obj</em> as a JSON formatted stream to <em>fp</em> using this conversion table.</p>
<pre><code>json.dumps(['foo', {'bar': ('baz', None, 1.0, 2)}])</code></pre>
<ul><li>indent: pretty-print with that indent level</li><li>sort_keys: output dictionaries sorted by key</li></ul>
</article><footer>© Copyright 2001 Python Software Foundation.</footer></body></html>`;

const REDIRECTS = `
    location = /old.html { return 301 /library/json.html; }
    location = /hop1 { return 302 /hop2; }
    location = /hop2 { return 302 /hop3; }
    location = /hop3 { return 302 /library/json.html; }
    location = /to-loopback { return 302 http://127.0.0.1:$PORT/library/json.html; }
    location = /to-metadata { return 302 http://169.254.169.254/latest/meta-data/; }
    location = /to-file { return 302 file:///etc/passwd; }
    location = /logo.png { default_type image/png; }`;

describe("WebFetch", () => {
  let nginx: Nginx;
  let base: string;
  let dir: string;
  let model: Standin;

  beforeAll(async () => {
    nginx = await startNginx({ locations: REDIRECTS });
    base = nginx.url.replace("127.0.0.1", "localhost");
    const { mkdirSync } = await import("node:fs");
    mkdirSync(join(nginx.data, "library"));
    writeFileSync(join(nginx.data, "library/json.html"), PAGE);
    writeFileSync(join(nginx.data, "notes.md"), "# Notes\n\nPlain markdown is returned as it is.\n");
    writeFileSync(join(nginx.data, "logo.png"), Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 0]));
    writeFileSync(join(nginx.data, "big.html"), `<html><body><p>${"x".repeat(300_000)}</p></body></html>`);
    dir = tempDir("sabuild-web-fetch-");
    model = await startStandin({
      policy: (request) => {
        const text = String(request.messages[0]?.content ?? "");
        return { content: text.includes("lightweight data interchange format") ? "JSON is a lightweight data interchange format (from the page)." : "the page was not in the request" };
      },
    });
  });

  afterAll(async () => {
    await nginx?.stop();
    await model?.close();
  });

  const fetchWith = (fetch: Record<string, unknown>, mode = "live") => providerOf(dir, { mode, fetch });

  test("a page as markdown: the article (no navigation or footer), headings, code and lists; cut to max_chars and saying so", async () => {
    const web = fetchWith({ allow: ["localhost"], max_chars: 100_000 });
    const result = await callTool(web, "WebFetch", { url: `${base}/library/json.html`, prompt: "What is JSON?" });
    expect(result.isError, result.content).toBe(false);
    expect(result.content).toMatch(/^\[No model is configured to answer the prompt \(web\.fetch\.model\): the page's markdown follows\.\]\n\n# json — JSON encoder and decoder/);
    expect(result.content).toContain("JSON (JavaScript Object Notation) is a lightweight data interchange format");
    expect(result.content).toContain("## Basic Usage");
    expect(result.content).toContain("```\njson.dumps(['foo', {'bar': ('baz', None, 1.0, 2)}])\n```");
    expect(result.content).toContain("-   indent: pretty-print");
    expect(result.content).toContain(`**Source code:** [Lib/json/\\_\\_init\\_\\_.py](${base}/library/lib/json/__init__.py)`);
    expect(result.content).not.toContain("Copyright");

    const cut = await callTool(fetchWith({ allow: ["localhost"], max_chars: 120 }), "WebFetch", { url: `${base}/library/json.html`, prompt: "What is JSON?" });
    expect(cut.content).toMatch(/^\[No model is configured to answer the prompt \(web\.fetch\.model\): the page's markdown follows, cut at 120 of \d+ characters\.\]/);
    expect(cut.content).toMatch(/\[\.\.\. cut: \d+ more characters\]$/);

    const md = await callTool(web, "WebFetch", { url: `${base}/notes.md`, prompt: "notes?" });
    expect(md.content).toContain("# Notes\n\nPlain markdown is returned as it is.");
  });

  test("redirects are followed hop by hop, and the answer names where they ended; too many is an error", async () => {
    const web = fetchWith({ allow: ["localhost"] });
    const moved = await callTool(web, "WebFetch", { url: `${base}/old.html`, prompt: "What is JSON?" });
    expect(moved.content).toMatch(new RegExp(`^Fetched ${base}/library/json\\.html \\(redirected from ${base}/old\\.html\\)`));
    const chain = await callTool(fetchWith({ allow: ["localhost"], max_redirects: 2 }), "WebFetch", { url: `${base}/hop1`, prompt: "x" });
    expect(chain.isError).toBe(true);
    expect(chain.content).toContain(`more than 2 redirects (${base}/hop1 -> ${base}/hop2 -> ${base}/hop3)`);
  });

  test("binary content is refused", async () => {
    const result = await callTool(fetchWith({ allow: ["localhost"] }), "WebFetch", { url: `${base}/logo.png`, prompt: "x" });
    expect(result.content).toBe(`<tool_use_error>${base}/logo.png is image/png content; WebFetch reads web pages and text, not binary files</tool_use_error>`);
  });

  test("a page over max_bytes is refused, naming the limit", async () => {
    const result = await callTool(fetchWith({ allow: ["localhost"], max_bytes: 100_000 }), "WebFetch", { url: `${base}/big.html`, prompt: "x" });
    expect(result.isError).toBe(true);
    expect(result.content).toContain(`${base}/big.html is larger than web.fetch.max_bytes (100000 bytes; the page is 300`);
  });

  test("loopback, link-local (metadata) and private addresses are refused unless allow-listed, after DNS and on every redirect", async () => {
    const none = fetchWith({});
    // http is upgraded to https for hosts that are not allow-listed, as Claude Code does.
    const direct = await callTool(none, "WebFetch", { url: `${nginx.url}/library/json.html`, prompt: "x" });
    expect(direct.content).toBe(`<tool_use_error>refused to fetch ${nginx.url.replace("http:", "https:")}/library/json.html: 127.0.0.1 is a loopback address; add the host or its range to web.fetch.allow in subagents.yaml to permit it</tool_use_error>`);
    // A name is judged by what it resolves to.
    const named = await callTool(none, "WebFetch", { url: `${base}/library/json.html`, prompt: "x" });
    expect(named.content).toMatch(/refused to fetch .*: localhost resolves to (127\.0\.0\.1|::1) is a loopback address/);
    for (const url of ["http://169.254.169.254/latest/meta-data/", "http://10.1.2.3/", "http://[::1]/", "http://[::ffff:127.0.0.1]/", "http://0.0.0.0/"]) {
      const r = await callTool(none, "WebFetch", { url, prompt: "x" });
      expect(r.content, url).toMatch(/<tool_use_error>refused to fetch/);
    }
    // localhost is allowed by name; the redirect to 127.0.0.1 is not.
    const viaRedirect = await callTool(fetchWith({ allow: ["localhost"] }), "WebFetch", { url: `${base}/to-loopback`, prompt: "x" });
    expect(viaRedirect.content).toContain(`refused to fetch ${nginx.url}/library/json.html: 127.0.0.1 is a loopback address`);
    const metadata = await callTool(fetchWith({ allow: ["localhost"] }), "WebFetch", { url: `${base}/to-metadata`, prompt: "x" });
    expect(metadata.content).toContain("169.254.169.254 is a link-local (cloud metadata services live here) address");
    const file = await callTool(fetchWith({ allow: ["localhost"] }), "WebFetch", { url: `${base}/to-file`, prompt: "x" });
    expect(file.content).toContain("only http and https URLs can be fetched, not file");
    // A CIDR range allows the address itself, redirects included.
    const ranged = await callTool(fetchWith({ allow: ["localhost", "127.0.0.0/8"] }), "WebFetch", { url: `${base}/to-loopback`, prompt: "x" });
    expect(ranged.isError, ranged.content).toBe(false);
  });

  test("the prompt is answered by the configured small model over the page's markdown", async () => {
    const web = fetchWith({ allow: ["localhost"], model: { base_url: model.url, model: "small" } });
    const result = await callTool(web, "WebFetch", { url: `${base}/library/json.html`, prompt: "What is JSON?" });
    expect(result).toEqual({ isError: false, content: "JSON is a lightweight data interchange format (from the page)." });
    const asked = String(model.stats.bodies.at(-1)!.messages[0]!.content);
    expect(asked).toContain("What is JSON?");
    expect(asked).toContain("## Basic Usage");
  });

  test("record, then replay with nginx stopped: the same result, and a page never recorded fails the rollout clearly", async () => {
    const store = tempDir("sabuild-web-fetch-replay-");
    const web = (mode: string) => providerOf(store, { mode, fetch: { allow: ["localhost"] } });
    const recorded = await callTool(web("record"), "WebFetch", { url: `${base}/old.html#intro`, prompt: "x" });
    expect(recorded.isError, recorded.content).toBe(false);
    await nginx.stop();
    const replayed = await callTool(web("replay"), "WebFetch", { url: `${base}/old.html`, prompt: "x" });
    expect(replayed).toEqual(recorded);
    await expect(callTool(web("replay"), "WebFetch", { url: `${base}/notes.md`, prompt: "x" })).rejects.toThrow(
      new RegExp(`web\\.mode is replay and the store holds no recorded result for WebFetch ${base}/notes\\.md`),
    );
    const live = await callTool(web("live"), "WebFetch", { url: `${base}/old.html`, prompt: "x" });
    expect(live.content).toContain("fetching");
  });
});
