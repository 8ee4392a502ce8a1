import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { REPO } from "./helpers.js";

// trainer/ has its own pytest suite (masking, over-fit, merge, rows); it runs in the trainer venv
// the global setup made, with pytest added to it.
describe("trainer (pytest)", () => {
  it("passes its own test suite", () => {
    const python = join(process.env.SABUILD_VENV!, "bin/python");
    const has = spawnSync(python, ["-c", "import pytest"], { encoding: "utf8" });
    if (has.status !== 0) {
      const pip = spawnSync(python, ["-m", "pip", "install", "--retries", "0", "-q", "pytest"], { encoding: "utf8", env: { ...process.env, PIP_RETRIES: "0" } });
      expect(pip.status, pip.stderr).toBe(0);
    }
    const r = spawnSync(python, ["-m", "pytest", "-q", "-p", "no:cacheprovider", "trainer/tests"], { cwd: REPO, encoding: "utf8", env: { ...process.env, PYTHONPATH: REPO } });
    expect(r.status, `${r.stdout}\n${r.stderr}`).toBe(0);
    const passed = Number(/(\d+) passed/.exec(r.stdout)?.[1] ?? 0);
    expect(passed).toBeGreaterThanOrEqual(8);
    expect(r.stdout).not.toMatch(/\d+ (failed|error)/);
  }, 900_000);
});
