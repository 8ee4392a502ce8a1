import { test } from "vitest";
import { importSource, discoverSources, renderInitConfig, listImportInputs } from "../src/importers/index.js";
const root = "/work/main/tests/fixtures/importers/repo";
test("x", async () => {
  for (const a of ["code-reviewer", "pr-triager", "generalist", "backend/db-migrator", "half-broken"]) {
    const r = await importSource(root, { agent: `.claude/agents/${a}.md` }, "fb");
    console.log(a, JSON.stringify(r, null, 1).slice(0, 3000));
  }
  for (const s of ["skills/pdf-extract", "skills/legacy-notes"]) console.log(JSON.stringify(await importSource(root, { skill: s }, "fb"), null, 1).slice(0, 2500));
  console.log(JSON.stringify(await importSource(root, { plugin: "plugins/release-tools", name: "changelog-writr" }, "fb"), null, 1));
  console.log(JSON.stringify(await listImportInputs(root, { plugin: "plugins/release-tools", name: "release-notes" })));
  const d = await discoverSources(root);
  console.log(JSON.stringify(d, null, 1));
  console.log(renderInitConfig(d));
});
