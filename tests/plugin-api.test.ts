import { execFileSync, spawnSync } from "node:child_process";
import { copyFileSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { REPO, sabuild, sabuildJson } from "./helpers.js";
import { engineProject } from "./engine-project.js";

describe("the public API for plugin authors", () => {
  it("is a deliberate list, importable as `sabuild`", async () => {
    const api = (await import(join(REPO, "dist/index.js"))) as Record<string, unknown>;
    expect(Object.keys(api).sort()).toEqual(["STAGE_KINDS", "VERSION", "definePlugin", "defineProjectStage", "defineStage", "err", "ok"]);
    const pkg = JSON.parse(readFileSync(join(REPO, "package.json"), "utf8")) as { exports: Record<string, { types: string; import: string }>; types: string };
    expect(pkg.exports["."]).toEqual({ types: "./dist/index.d.ts", import: "./dist/index.js" });
    expect(pkg.types).toBe("dist/index.d.ts");
  });

  it("types plugins: the example checks, and every misuse in the fixture is a type error", () => {
    const tsc = join(REPO, "node_modules/typescript/bin/tsc");
    const r = spawnSync(process.execPath, [tsc, "-p", join(REPO, "tests/fixtures/plugin-types/tsconfig.json")], { encoding: "utf8" });
    expect(r.stdout + r.stderr).toBe("");
    expect(r.status).toBe(0);
    // The misuse fixture is only a test if its errors are real: without the directives it must fail.
    const dir = join(REPO, "tests/fixtures/plugin-types");
    const loose = join(dir, "loose.ts");
    writeFileSync(loose, readFileSync(join(dir, "misuse.ts"), "utf8").replace(/\/\/ @ts-expect-error.*\n/g, ""));
    try {
      const failed = spawnSync(process.execPath, [tsc, "--noEmit", "--strict", "--module", "NodeNext", "--moduleResolution", "NodeNext", "--target", "ES2023", "--types", "node", loose], { encoding: "utf8" });
      expect(failed.status).not.toBe(0);
      expect(failed.stdout.match(/error TS/g)?.length).toBe(6);
    } finally {
      execFileSync("rm", ["-f", loose]);
    }
  });

  it("runs a TypeScript plugin that imports sabuild, as a user's project does", () => {
    const dir = engineProject({ tasks: 2 });
    mkdirSync(join(dir, "node_modules"));
    // What `npm i -D sabuild` leaves: the package under node_modules.
    symlinkSync(REPO, join(dir, "node_modules/sabuild"));
    copyFileSync(join(REPO, "docs/plugins/traces-overview.ts"), join(dir, "plugins/traces-overview.ts"));
    const cfg = join(dir, "subagents.yaml");
    writeFileSync(cfg, readFileSync(cfg, "utf8").replace("plugins: [plugins/map-traces.mjs]", "plugins: [plugins/map-traces.mjs, plugins/traces-overview.ts]"));
    const build = sabuildJson<{ stages: { id: string; status: string; output?: string }[] }>(dir, ["build", "overview:traces"]);
    expect(build.__code).toBe(0);
    expect(build.stages.find((s) => s.id === "overview:traces")!.status).toBe("built");
    const files = sabuild(dir, ["artifacts", "overview:traces", "--json"]);
    const blob = (JSON.parse(files.stdout) as { files: { path: string; blob: string }[] }).files.find((f) => f.path === "overview.md")!;
    expect(readFileSync(blob.blob, "utf8")).toBe("| traces of | rollouts | ended |\n| --- | --- | --- |\n| alpha:traces | 2 | 2 unknown |\n");
  });
});
