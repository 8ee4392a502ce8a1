import { spawnSync } from "node:child_process";
import { cpSync, readFileSync } from "node:fs";
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
