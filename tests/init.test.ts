import { cpSync, existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { parse } from "yaml";
import { describe, expect, it } from "vitest";
import { REPO, sabuild, sabuildJson, tempDir } from "./helpers.js";

function fixtureRepo(): string {
  const dir = tempDir("sabuild-init-");
  cpSync(join(REPO, "tests/fixtures/importers/repo"), dir, { recursive: true });
  return dir;
}

describe("sabuild init", () => {
  it("scaffolds a subagents.yaml that plans, from the agents, skills and plugins of a repo", () => {
    const dir = fixtureRepo();
    const r = sabuildJson<{ subagents: { name: string; format: string; path: string }[]; created: string[] }>(dir, ["init"]);
    expect(r.__code).toBe(0);
    const config = parse(readFileSync(join(dir, "subagents.yaml"), "utf8")) as { version: number; subagents: Record<string, { source: unknown; tasks: { from: string } }> };
    expect(config.version).toBe(1);
    expect(Object.keys(config.subagents)).toEqual(r.subagents.map((s) => s.name));
    const formats = new Set(r.subagents.map((s) => s.format));
    expect(formats).toEqual(new Set(["claude-agent", "skill", "plugin-agent", "plugin-skill"]));
    for (const rel of r.created) expect(existsSync(join(dir, rel))).toBe(true);
    const plan = sabuildJson<{ stages: { id: string; status: string }[] }>(dir, ["plan"]);
    expect(plan.__code).toBe(0);
    expect(plan.stages.filter((s) => s.id.endsWith(":import")).length).toBe(r.subagents.length);
  });

  it("refuses to overwrite an existing subagents.yaml without --force", () => {
    const dir = fixtureRepo();
    expect(sabuild(dir, ["init"]).code).toBe(0);
    const again = sabuild(dir, ["init"]);
    expect(again.code).toBe(2);
    expect(again.stderr).toContain("already exists; pass --force");
    expect(sabuild(dir, ["init", "--force"]).code).toBe(0);
  });

  it("says so when a repo has nothing to import", () => {
    const dir = tempDir("sabuild-empty-");
    const r = sabuild(dir, ["init"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("no Claude Code agents, skills or plugins found");
    expect(existsSync(join(dir, "subagents.yaml"))).toBe(false);
  });
});
