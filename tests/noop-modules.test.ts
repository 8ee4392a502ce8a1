import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { CLI, REPO, sabuild, tempDir } from "./helpers.js";
import { engineProject } from "./engine-project.js";

/** The npm packages a command loaded, by name, read off the module trace. */
function packagesLoaded(dir: string, args: string[]): { code: number | null; packages: string[]; files: number } {
  const trace = join(tempDir("sabuild-modules-"), "modules.txt");
  const r = spawnSync(process.execPath, ["--import", join(REPO, "tests/support/trace-modules.mjs"), CLI, ...args], { cwd: dir, env: { ...process.env, SABUILD_TRACE_MODULES: trace }, encoding: "utf8" });
  const urls = readFileSync(trace, "utf8").split("\n").filter(Boolean);
  const packages = new Set(urls.flatMap((u) => {
    const m = /\/node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(u);
    return m ? [m[1]!] : [];
  }));
  return { code: r.status, packages: [...packages].sort(), files: urls.length };
}

describe("a no-op build", () => {
  it("loads no heavy library: stage implementations and their libraries load only when a stage runs", () => {
    const dir = engineProject({ tasks: 3 });
    expect(sabuild(dir, ["build"]).code).toBe(0);
    for (const args of [["build", "--json"], ["plan", "--json"], ["build"]]) {
      const { code, packages } = packagesLoaded(dir, args);
      expect(code).toBe(0);
      // hasha hashes input files through the stat cache; nothing else is needed to decide.
      expect({ args, packages }).toEqual({ args, packages: packages.filter((p) => p === "hasha") });
    }
  });
});
