import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { CLI, REPO, sabuild, tempDir } from "./helpers.js";
import { engineProject } from "./engine-project.js";

/** Runs the CLI and reports whether V8's optimizing compilers were on when it exited. */
function optimizersAtExit(dir: string, args: string[]): { code: number | null; maglev: boolean; turbofan: boolean } {
  const out = join(tempDir("sabuild-optimizers-"), "state.json");
  const r = spawnSync(process.execPath, ["--allow-natives-syntax", "--import", join(REPO, "tests/support/optimizers-at-exit.mjs"), CLI, ...args], {
    cwd: dir,
    env: { ...process.env, SABUILD_OPTIMIZERS_OUT: out },
    encoding: "utf8",
  });
  return { code: r.status, ...(JSON.parse(readFileSync(out, "utf8")) as { maglev: boolean; turbofan: boolean }) };
}

describe("V8's optimizing compilers (src/cli/v8-flags.ts)", () => {
  it("stay off while a command only decides, and come on when a stage runs", () => {
    const dir = engineProject({ tasks: 3 });
    // Stages to run, but plan runs none of them.
    expect(optimizersAtExit(dir, ["plan", "--json"])).toEqual({ code: 0, maglev: false, turbofan: false });
    // A build that runs stages turns them on for the work.
    expect(optimizersAtExit(dir, ["build"])).toEqual({ code: 0, maglev: true, turbofan: true });
    // The no-op build after it decides and exits without them.
    expect(optimizersAtExit(dir, ["build", "--json"])).toEqual({ code: 0, maglev: false, turbofan: false });
    expect(optimizersAtExit(dir, ["status"]).maglev).toBe(false);
  });

  it("are V8's defaults for the other commands", () => {
    const dir = engineProject({ tasks: 3 });
    expect(sabuild(dir, ["build"]).code).toBe(0);
    expect(optimizersAtExit(dir, ["schema"])).toEqual({ code: 0, maglev: true, turbofan: true });
    expect(optimizersAtExit(dir, ["--version"])).toEqual({ code: 0, maglev: true, turbofan: true });
  });
});
