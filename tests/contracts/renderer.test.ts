import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { REPO, tempDir } from "../helpers.js";

const SCRIPT = join(REPO, "tests/support/render-script.mjs");
const DIST = join(REPO, "dist");

/** What a renderer showed for the fixed event script: everything it wrote, escape codes removed. */
function render(which: string): { text: string; stdout: string; code: number | null } {
  if (which === "listr") {
    // listr2 draws its tree on a terminal only: `script` gives it a pseudo-terminal.
    const log = join(tempDir("sabuild-render-"), "tty.log");
    const env = { ...process.env } as Record<string, string>;
    delete env.CI;
    const r = spawnSync("script", ["-qec", `stty cols 160 rows 40; ${process.execPath} ${SCRIPT} listr ${DIST}`, log], { env, encoding: "utf8" });
    const text = readFileSync(log, "utf8").replace(/\x1b\[[0-9;?]*[a-zA-Z]/g, "").replace(/\r/g, "\n");
    return { text, stdout: "", code: r.status };
  }
  const r = spawnSync(process.execPath, [SCRIPT, which, DIST], { encoding: "utf8" });
  return { text: r.stdout + r.stderr, stdout: r.stdout, code: r.status };
}

/** The contract every renderer of engine events keeps, whatever it looks like. */
function describeRendererContract(which: string): void {
  describe(`${which} renderer`, () => {
    const out = render(which);
    it("finishes cleanly on the script", () => {
      expect(out.code).toBe(0);
    });
    it("shows warnings from the engine and from stages", () => {
      expect(out.text).toContain("remote cache disabled: no such host");
      expect(out.text).toContain("the teacher ignored max_tokens");
    });
    it("says which stages failed and why, in the failure's own words", () => {
      expect(out.text).toContain("a:traces");
      expect(out.text).toContain("t2.s0: sandbox exploded");
      expect(out.text).toContain("b:import");
      expect(out.text).toContain("agents/b.md: unknown tool Frobnicate");
      expect(out.text).toMatch(/a:dataset[\s\S]*a:traces did not complete/);
    });
  });
}

for (const which of ["plain", "listr", "json"]) describeRendererContract(which);

describe("json renderer", () => {
  it("keeps every stage's end as data: status, key, items and the typed failure", () => {
    const stages = JSON.parse(render("json").stdout) as { id: string; status: string; failure?: { reason: string }; items?: unknown; key?: string }[];
    expect(stages.map((s) => [s.id, s.status])).toEqual([
      ["a:import", "up-to-date"],
      ["a:traces", "failed"],
      ["a:dataset", "skipped"],
      ["a:train", "unavailable"],
      ["b:import", "failed"],
      ["proj:summary", "built"],
    ]);
    expect(stages[1]).toMatchObject({ key: "k2", items: { run: 1, failed: 1, stopped: 1 }, failure: { reason: "items", kept: 1, total: 3 } });
    expect(stages[4]!.failure).toMatchObject({ reason: "inputs" });
  });
});
