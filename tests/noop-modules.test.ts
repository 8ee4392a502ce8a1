import { spawnSync } from "node:child_process";
import { cpSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { CLI, REPO, sabuild, tempDir } from "./helpers.js";
import { engineProject } from "./engine-project.js";

/** What a command loaded, read off the module trace: npm packages by name, our own modules (dist/...) and Node's built-ins. */
function packagesLoaded(dir: string, args: string[]): { code: number | null; packages: string[]; files: number; own: string[]; builtins: string[] } {
  const trace = join(tempDir("sabuild-modules-"), "modules.txt");
  const r = spawnSync(process.execPath, ["--import", join(REPO, "tests/support/trace-modules.mjs"), CLI, ...args], { cwd: dir, env: { ...process.env, SABUILD_TRACE_MODULES: trace }, encoding: "utf8" });
  const lines = readFileSync(trace, "utf8").split("\n").filter(Boolean);
  const urls = lines.filter((l) => l.startsWith("file:"));
  const builtins = lines.filter((l) => l.startsWith("node:"));
  const own = urls.flatMap((u) => {
    const m = /\/dist\/(.*)\.js$/.exec(u);
    return m && !u.includes("/node_modules/") ? [m[1]!] : [];
  });
  const packages = new Set(urls.flatMap((u) => {
    const m = /\/node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(u);
    return m ? [m[1]!] : [];
  }));
  return { code: r.status, packages: [...packages].sort(), files: urls.length, own, builtins };
}

describe("a no-op build", () => {
  it("loads no heavy library: stage implementations and their libraries load only when a stage runs", () => {
    const dir = engineProject({ tasks: 3 });
    expect(sabuild(dir, ["build"]).code).toBe(0);
    for (const args of [["build", "--json"], ["plan", "--json"], ["build"]]) {
      const { code, packages, own, builtins } = packagesLoaded(dir, args);
      expect(code).toBe(0);
      // hasha hashes input files through the stat cache; nothing else is needed to decide.
      expect({ args, packages }).toEqual({ args, packages: packages.filter((p) => p === "hasha") });
      // The tasks stage has enough tasks: neither the teacher's modules nor sandbox.repos' load.
      const teacherOrRepos = /^(tasks\/(params|workspace|per-repo|repo-scopes|teacher-tasks|generate)|envs\/|llm\/client)/;
      expect({ args, own: own.filter((m) => teacherOrRepos.test(m)) }).toEqual({ args, own: [] });
      // The plugin provides traces: the built-in traces stage and its pricing are never loaded.
      // Staging and the map runner are for nodes that run.
      expect({ args, own: own.filter((m) => /^(stages\/traces|llm\/pricing|engine\/(staging|map-stage))$/.test(m)) }).toEqual({ args, own: [] });
      // node:crypto is required, not imported: its ES facade would load all of WebCrypto; and
      // nothing is spawned, so node:child_process stays unloaded.
      expect({ args, builtins: builtins.filter((b) => /webcrypto|^node:child_process$/.test(b)) }).toEqual({ args, builtins: [] });
      // Nor node:crypto at all: the verified lock's params are compared as text (store/verified.ts).
      expect({ args, builtins: builtins.filter((b) => b === "node:crypto") }).toEqual({ args, builtins: [] });
    }
  });

  it("that had to hash params it did not remember keeps their text, and the next one loads no hash code", () => {
    const dir = engineProject({ tasks: 3 });
    expect(sabuild(dir, ["build"]).code).toBe(0);
    // A record without params (an older sabuild's, or one whose memory was lost): hashed once.
    const verified = join(dir, "cache", "verified");
    for (const name of readdirSync(verified)) {
      const record = JSON.parse(readFileSync(join(verified, name), "utf8")) as Record<string, unknown>;
      expect(Object.keys(record.params as object).length).toBeGreaterThan(0);
      writeFileSync(join(verified, name), JSON.stringify({ ...record, params: {} }));
    }
    expect(packagesLoaded(dir, ["build", "--json"]).builtins).toContain("node:crypto");
    for (const args of [["build", "--json"], ["plan", "--json"]]) {
      const { code, builtins } = packagesLoaded(dir, args);
      expect({ args, code, crypto: builtins.includes("node:crypto") }).toEqual({ args, code: 0, crypto: false });
    }
  });

  it("with a library: planning loads neither the ranker nor the importers", () => {
    const dir = engineProject({ tasks: 3 });
    cpSync(join(REPO, "tests/fixtures/libraries/community-agents"), join(dir, "libs/community"), { recursive: true });
    expect(sabuild(dir, ["library", "add", "libs/community"]).code).toBe(0);
    expect(sabuild(dir, ["build"]).code).toBe(0);
    const { code, packages, own } = packagesLoaded(dir, ["plan", "--json"]);
    expect(code).toBe(0);
    expect(packages).toEqual(packages.filter((p) => p === "hasha"));
    expect(own.filter((m) => /^(libraries\/(scan|bm25|index-run|git)|importers\/(agent|skill|plugin))$/.test(m))).toEqual([]);
  });
});
