import { spawnSync } from "node:child_process";
import { cpSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { CLI, REPO, sabuild, tempDir } from "./helpers.js";
import { engineProject } from "./engine-project.js";

/** What a command loaded, read off the module trace: npm packages by name, our own modules (dist/...) and Node's built-ins. */
function packagesLoaded(dir: string, args: string[], opts: { unbundled?: boolean } = {}): { code: number | null; packages: string[]; files: number; own: string[]; builtins: string[] } {
  const trace = join(tempDir("sabuild-modules-"), "modules.txt");
  const env = { ...process.env, SABUILD_TRACE_MODULES: trace, ...(opts.unbundled ? { SABUILD_UNBUNDLED: "1" } : {}) };
  const r = spawnSync(process.execPath, ["--import", join(REPO, "tests/support/trace-modules.mjs"), CLI, ...args], { cwd: dir, env, encoding: "utf8" });
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
      // The CLI as it runs (scripts/bundle-cli.mjs): its core file, the plugin and the chunks of
      // the stage kinds whose inputs it reads (a handful, against ~70 modules unbundled).
      const bundled = packagesLoaded(dir, args);
      expect(bundled.code).toBe(0);
      expect({ args, packages: bundled.packages }).toEqual({ args, packages: bundled.packages.filter((p) => p === "hasha") });
      expect({ args, builtins: bundled.builtins.filter((b) => /webcrypto|^node:(child_process|crypto)$/.test(b)) }).toEqual({ args, builtins: [] });
      const bundleFiles = bundled.own.filter((m) => m.startsWith("cli-bundle/"));
      expect(bundleFiles).toContain("cli-bundle/run");
      expect({ args, others: bundled.own.filter((m) => !m.startsWith("cli-bundle/") && m !== "cli/main") }).toEqual({ args, others: [] });
      expect(bundleFiles.length).toBeLessThanOrEqual(5);
      // Our modules by name: the same CLI run from tsc's output.
      const { code, packages, own, builtins } = packagesLoaded(dir, args, { unbundled: true });
      expect(code).toBe(0);
      expect(own).toContain("engine/decide");
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
    const { code, packages, own } = packagesLoaded(dir, ["plan", "--json"], { unbundled: true });
    expect(code).toBe(0);
    expect(packages).toEqual(packages.filter((p) => p === "hasha"));
    expect(own.filter((m) => /^(libraries\/(scan|bm25|index-run|git)|importers\/(agent|skill|plugin))$/.test(m))).toEqual([]);
  });
});
