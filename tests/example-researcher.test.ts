import { spawnSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { connect } from "node:net";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import type { Trace } from "../src/traces/types.js";
import { copyExample, sabuild, sabuildJson, spawnSabuild, waitFor, exited } from "./helpers.js";
import { ensureDocker } from "./support/docker.js";
import { freePort } from "./nginx.js";

// The bundled example's researcher as the README's main command builds it: the stand-in
// teacher searches the committed Python docs with the local provider and reads the hits with
// WebFetch from the nginx that sabuild starts on loopback (web.search.serve). Its answers cite
// the pages it read. Only the port differs from the shipped config, so that a build elsewhere
// on the machine cannot hold it.

type Stages = { ok: boolean; stages: { id: string; status: string }[] };
let dir: string;
let base: string;

function traces(): Record<string, Trace> {
  const art = sabuildJson<{ files: { path: string; blob: string }[] }>(dir, ["artifacts", "researcher:traces"]);
  const out: Record<string, Trace> = {};
  for (const f of art.files) {
    const m = /^items\/([^/]+)\/trace\.json$/.exec(f.path);
    if (m) out[m[1]!] = JSON.parse(readFileSync(f.blob, "utf8")) as Trace;
  }
  return out;
}

/** The URLs a trace fetched without an error, and those its answer lists under "Sources:". */
function fetchedAndCited(t: Trace): { fetched: string[]; cited: string[] } {
  const results = new Map(t.messages.filter((m) => m.role === "tool").map((m) => [m.tool_call_id, String(m.content)]));
  const fetched = t.messages
    .flatMap((m) => m.tool_calls ?? [])
    .filter((c) => c.function.name === "WebFetch" && !results.get(c.id)?.startsWith("<tool_use_error>"))
    .map((c) => (JSON.parse(c.function.arguments) as { url: string }).url);
  const sources = /Sources:\n((?:- .+\n?)+)/.exec(t.final_answer ?? "")?.[1] ?? "";
  return { fetched, cited: [...sources.matchAll(/^- (\S+)/gm)].map((m) => m[1]!) };
}

function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ host: "127.0.0.1", port });
    s.once("connect", () => (s.destroy(), resolve(true)));
    s.once("error", () => resolve(false));
  });
}

beforeAll(async () => {
  await ensureDocker();
  dir = copyExample();
  const port = await freePort();
  base = `http://127.0.0.1:${port}/`;
  const cfg = join(dir, "subagents.yaml");
  writeFileSync(cfg, readFileSync(cfg, "utf8").replace("base_url: http://127.0.0.1:8631/", `base_url: ${base}`));
}, 120_000);

describe("the bundled example's researcher", () => {
  it("answers from the docs that sabuild serves with nginx, citing only pages it fetched; a second build does nothing", async () => {
    const build = sabuildJson<Stages>(dir, ["build", "researcher:traces"]);
    expect(build.ok, JSON.stringify(build.stages)).toBe(true);
    const all = traces();
    expect(Object.keys(all).sort()).toEqual(["bisect-right.s0", "dedent.s0", "fnmatchcase.s0", "recursive-glob.s0", "reset-token.s0"]);
    for (const [id, t] of Object.entries(all)) {
      expect(t.status, id).toBe("completed");
      const { fetched, cited } = fetchedAndCited(t);
      expect(fetched.length, id).toBeGreaterThan(0);
      expect(cited.length, `${id}: ${t.final_answer}`).toBeGreaterThan(0);
      for (const url of cited) {
        expect(fetched, `${id} cites ${url}`).toContain(url);
        expect(url.startsWith(base), url).toBe(true);
      }
      // Searched and fetched for real, and recorded: each call names its record.
      expect(t.recorded?.map((r) => `${r.kind}:${r.from}`), id).toEqual(["search:live", ...fetched.map(() => "fetch:live")]);
    }
    expect(all["reset-token.s0"]!.final_answer).toContain("The `secrets` module provides functions for generating secure tokens");
    expect(fetchedAndCited(all["reset-token.s0"]!).cited).toEqual([`${base}library/secrets.html`]);
    expect(fetchedAndCited(all["bisect-right.s0"]!).cited).toEqual([`${base}library/bisect.html`]);
    // The server ended with the build.
    expect(await listening(Number(new URL(base).port))).toBe(false);

    const again = sabuildJson<Stages>(dir, ["build", "researcher:traces"]);
    expect(again.stages.every((s) => s.status === "up-to-date"), JSON.stringify(again.stages)).toBe(true);
  }, 600_000);

  it("fetches an edited page anew, although the record mode keeps stored pages, and ends a server left by a killed build", async () => {
    // A build killed with -9 while its nginx serves: the server outlives it, holding the port.
    const page = join(dir, "example/docs/site/library/secrets.html");
    writeFileSync(page, readFileSync(page, "utf8").replace("<h2>Random numbers", "<p>Edited: the token functions suit password reset links.</p>\n<h2>Random numbers"));
    const killed = spawnSabuild(dir, ["build", "researcher:traces"]);
    const port = Number(new URL(base).port);
    await waitFor(() => spawnSync("curl", ["-s", "-o", "/dev/null", "-w", "%{http_code}", `${base}library/secrets.html`], { encoding: "utf8" }).stdout === "200", 120_000, "the build's nginx to serve the docs");
    killed.kill("SIGKILL");
    await exited(killed);
    expect(await listening(port)).toBe(true);

    // The next build ends that server, starts its own and reads the edited page.
    const edited = page.replace(/secrets\.html$/, "glob.html");
    writeFileSync(edited, readFileSync(edited, "utf8").replace("</h1>", "</h1>\n<p>Edited: recursive globbing with subdirectories.</p>"));
    const r = sabuild(dir, ["build", "researcher:traces"]);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    const t = traces()["reset-token.s0"]!;
    const fetchedPage = String(t.messages.filter((m) => m.role === "tool")[1]?.content);
    expect(fetchedPage).toContain("Edited: the token functions suit password reset links.");
    expect(t.recorded?.find((x) => x.kind === "fetch")?.from).toBe("live");
    expect(await listening(port)).toBe(false);
  }, 600_000);

  it("refuses serve without a loopback base_url, naming the file, line and key", () => {
    const cfg = join(dir, "subagents.yaml");
    const text = readFileSync(cfg, "utf8");
    writeFileSync(cfg, text.replace(`base_url: ${base}`, "base_url: https://docs.python.org/3/"));
    const r = sabuild(dir, ["plan", "researcher"]);
    writeFileSync(cfg, text);
    expect(r.code).toBe(2);
    const line = text.split("\n").findIndex((l) => l.trim() === "serve: true") + 1;
    expect(r.stderr).toContain(`subagents.yaml:${line}`);
    expect(r.stderr).toMatch(/serve needs base_url to be a plain http URL on loopback with a port, not "https:\/\/docs\.python\.org\/3\/"/);
    expect(r.stderr).toMatch(/http:\/\/127\.0\.0\.1:8631\//);
  });
});
