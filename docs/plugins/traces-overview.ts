// A typed stage plugin: one project-level node, `overview:traces`, that reads every subagent's
// traces and writes a table of how their rollouts ended. List it in subagents.yaml
// (`plugins: [docs/plugins/traces-overview.ts]`); Node 24 runs TypeScript plugins as they are,
// and `npm i -D sabuild` lets the editor and `tsc` check them against sabuild's types.
import { readdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { defineProjectStage, definePlugin, ok } from "sabuild";

const overview = defineProjectStage({
  scope: "overview",
  kind: "traces",
  version: "1",
  // Every subagent's traces, named by the node they come from.
  deps: (project) => Object.fromEntries(project.subagents.map((s) => [`${s.name}:traces`, `${s.name}:traces`])),
  async inputs({ project }) {
    // The rows follow the subagents' order in subagents.yaml: the order is part of the output.
    return ok({ params: { subagents: project.subagents.map((s) => s.name) }, files: [] });
  },
  async run(ctx) {
    const rows = ["| traces of | rollouts | ended |", "| --- | --- | --- |"];
    for (const [name, upstream] of Object.entries(ctx.upstream)) {
      const ids = await readdir(join(upstream.dir, "items")).catch(() => [] as string[]);
      const ends = new Map<string, number>();
      for (const id of ids) {
        const trace = JSON.parse(await readFile(join(upstream.dir, "items", id, "trace.json"), "utf8")) as { status?: unknown };
        const status = typeof trace.status === "string" ? trace.status : "unknown";
        ends.set(status, (ends.get(status) ?? 0) + 1);
      }
      rows.push(`| ${name} | ${ids.length} | ${[...ends].map(([s, n]) => `${n} ${s}`).join(", ") || "none"} |`);
      ctx.log(`${name}: ${ids.length} rollouts`);
    }
    await writeFile(join(ctx.outDir, "overview.md"), `${rows.join("\n")}\n`);
  },
});

export default definePlugin(() => [overview]);
