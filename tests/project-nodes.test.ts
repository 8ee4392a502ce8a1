import { copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sabuild, sabuildJson, tempDir } from "./helpers.js";
import { engineProject, runLog } from "./engine-project.js";
import { REPO } from "./helpers.js";
import { startNginx, type Nginx } from "./nginx.js";

type Stage = { id: string; scope?: string; status: string; key?: string; reasons: { type: string; stage?: string }[] };
type Doc = { ok?: boolean; stages: Stage[] };
const find = (d: Doc, id: string): Stage => d.stages.find((s) => s.id === id)!;
const NODE = "leaderboard:summary";

/** The engine project with a second subagent and the plugin whose project-level node reads both. */
function projectWithSummary(): string {
  const dir = engineProject({ tasks: 3 });
  const cfg = join(dir, "subagents.yaml");
  const text = readFileSync(cfg, "utf8").replace("plugins: [plugins/map-traces.mjs]", "plugins: [plugins/map-traces.mjs, plugins/project-summary.mjs]");
  const beta = text.slice(text.indexOf("  alpha:")).replace("  alpha:", "  beta:").replace("You answer questions.", "You answer other questions.");
  writeFileSync(cfg, `${text}${beta}`);
  copyFileSync(join(REPO, "tests/fixtures/plugins/project-summary.mjs"), join(dir, "plugins/project-summary.mjs"));
  return dir;
}

function clone(dir: string): string {
  const c = tempDir("sabuild-clone-");
  for (const f of ["subagents.yaml", "tasks.jsonl", "sabuild.lock"]) copyFileSync(join(dir, f), join(c, f));
  mkdirSync(join(c, "plugins"));
  for (const f of ["map-traces.mjs", "project-summary.mjs"]) copyFileSync(join(dir, "plugins", f), join(c, "plugins", f));
  return c;
}

let server: Nginx;
beforeAll(async () => {
  server = await startNginx();
});
afterAll(async () => {
  await server.stop();
});

describe("project-level nodes", () => {
  it("are planned, built from several subagents' outputs, locked, explained and shown by status", () => {
    const dir = projectWithSummary();
    const plan = sabuildJson<Doc>(dir, ["plan"]);
    expect(find(plan, NODE)).toMatchObject({ scope: "leaderboard", status: "will-run" });
    expect(find(plan, NODE).reasons.map((r) => r.stage).sort()).toEqual(["alpha:traces", "beta:traces"]);

    const log = join(dir, "summary.log");
    const build = sabuildJson<Doc>(dir, ["build", NODE], { SUMMARY_LOG: log });
    expect(build.__code).toBe(0);
    expect(find(build, NODE).status).toBe("built");
    expect(find(build, "beta:traces").status).toBe("built");
    const lock = JSON.parse(readFileSync(join(dir, "sabuild.lock"), "utf8")) as { stages: Record<string, { upstream: Record<string, string> }> };
    expect(Object.keys(lock.stages[NODE]!.upstream).sort()).toEqual(["alpha:traces", "beta:traces"]);

    const artifacts = sabuild(dir, ["artifacts", NODE]);
    expect(artifacts.code).toBe(0);
    expect(artifacts.stdout).toContain("summary.md");

    // A subagent's change reaches the project node through its upstream output.
    const cfg = join(dir, "subagents.yaml");
    writeFileSync(cfg, readFileSync(cfg, "utf8").replace("You answer other questions.", "You answer other questions, tersely."));
    writeFileSync(join(dir, "tasks.jsonl"), `${readFileSync(join(dir, "tasks.jsonl"), "utf8")}{"id":"t9","prompt":"one more"}\n`);
    expect(sabuild(dir, ["build", "beta:traces"]).code).toBe(0);
    const explain = sabuildJson<{ fields: { field: string; changed: boolean }[] }>(dir, ["explain", NODE]);
    expect(explain.fields.filter((f) => f.changed).map((f) => f.field).sort()).toEqual(["upstream.alpha:traces", "upstream.beta:traces"]);
    expect(sabuildJson<Doc>(dir, ["build"], { SUMMARY_LOG: log }).__code).toBe(0);
    expect(runLog(log)).toEqual(["ran", "ran"]);
    expect(sabuildJson<Doc>(dir, ["build", "leaderboard"], { SUMMARY_LOG: log }).stages.find((s) => s.id === NODE)!.status).toBe("up-to-date");

    const status = sabuildJson<{ projectScopes: { name: string; stages: Record<string, string> }[] }>(dir, ["status"]);
    expect(status.projectScopes).toEqual([{ name: "leaderboard", stages: { summary: "up-to-date" } }]);
    // Its own params (here: from the environment the fixture reads) make it stale as any node.
    expect(find(sabuildJson<Doc>(dir, ["plan"], { SUMMARY_TITLE: "Other" }), NODE).status).toBe("will-run");
    expect(sabuild(dir, ["build", "--locked"], { SUMMARY_TITLE: "Other" }).code).toBe(1);
  });

  it("round-trip through the remote cache and bundles, and survive gc", () => {
    const env = { SABUILD_REMOTE_CACHE: `${server.url}/project-nodes` };
    const dir = projectWithSummary();
    expect(sabuildJson<Doc>(dir, ["build"], env).ok).toBe(true);

    const fresh = clone(dir);
    expect(find(sabuildJson<Doc>(fresh, ["plan"], env), NODE).status).toBe("will-fetch");
    const log = join(fresh, "summary.log");
    const fetched = sabuildJson<Doc>(fresh, ["build", "--locked", NODE], { ...env, SUMMARY_LOG: log });
    expect(find(fetched, NODE).status).toBe("fetched");
    expect(runLog(log)).toEqual([]);

    const bundle = join(tempDir("sabuild-bundle-"), "b.tar");
    const exported = sabuildJson<{ stages: { id: string }[] }>(dir, ["cache", "export", "-o", bundle]);
    expect(exported.stages.map((s) => s.id)).toContain(NODE);
    const other = clone(dir);
    expect(sabuild(other, ["cache", "import", bundle]).code).toBe(0);
    expect(find(sabuildJson<Doc>(other, ["plan", NODE]), NODE).status).toBe("up-to-date");

    expect(sabuild(dir, ["gc", "--keep-builds", "0"]).code).toBe(0);
    expect(find(sabuildJson<Doc>(dir, ["plan"]), NODE).status).toBe("up-to-date");
    expect(existsSync(join(dir, "sabuild.lock"))).toBe(true);
  });

  it("reject a dependency on a node that does not exist, naming both", () => {
    const dir = projectWithSummary();
    const plugin = join(dir, "plugins/project-summary.mjs");
    writeFileSync(plugin, readFileSync(plugin, "utf8").replace("`${s.name}:traces`])", "`${s.name}:tracez`])"));
    const r = sabuild(dir, ["plan"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("leaderboard:summary depends on alpha:tracez, which is not a node of this project");
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });
});
