import { execFileSync } from "node:child_process";
import { chmodSync, copyFileSync, cpSync, existsSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join, relative } from "node:path";
import { Header, list } from "tar";
import { describe, expect, it } from "vitest";
import { sabuild, sabuildJson, tempDir } from "./helpers.js";
import { addTasks, engineProject, runLog } from "./engine-project.js";

type Stages = { stages: { id: string; status: string }[] };
type Index = { format: number; results: { stage: string; key: string; output: string; blobs: { digest: string; size: number }[] }[] };

/** Every file under the store with its size: what "the store is unchanged" compares. */
function storeListing(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string): void => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const full = join(d, e.name);
      if (e.isDirectory()) walk(full);
      else out.push(`${relative(dir, full)} ${statSync(full).size}`);
    }
  };
  if (existsSync(dir)) walk(dir);
  return out.sort();
}

function tarEntries(file: string): string[] {
  const names: string[] = [];
  list({ file, sync: true, onReadEntry: (e) => names.push(e.path) });
  return names;
}

function bundleIndex(file: string): Index {
  return JSON.parse(execFileSync("tar", ["-xOf", file, "sabuild-bundle.json"], { encoding: "utf8" })) as Index;
}

/** A project built once, and a copy of its files (sabuild.lock included, no cache/) elsewhere. */
function builtProjectAndCopy(): { a: string; b: string } {
  const a = engineProject();
  expect(sabuild(a, ["build"]).code).toBe(0);
  const b = tempDir("sabuild-bundle-b-");
  for (const name of ["subagents.yaml", "tasks.jsonl", "sabuild.lock"]) copyFileSync(join(a, name), join(b, name));
  cpSync(join(a, "plugins"), join(b, "plugins"), { recursive: true });
  return { a, b };
}

interface CraftedEntry {
  path: string;
  type?: "File" | "SymbolicLink" | "Link";
  linkpath?: string;
  data?: string | Buffer;
}

/**
 * Writes a tar with exactly these headers (paths kept as given, absolute ones included), block by
 * block: tar's Pack stalls when dozens of in-memory entries are queued at once.
 */
async function craftTar(file: string, entries: CraftedEntry[]): Promise<void> {
  const blocks: Buffer[] = [];
  for (const e of entries) {
    const data = typeof e.data === "string" ? Buffer.from(e.data) : (e.data ?? Buffer.alloc(0));
    const header = new Header({ path: e.path, type: e.type ?? "File", mode: 0o644, size: data.length, mtime: new Date(), ...(e.linkpath ? { linkpath: e.linkpath } : {}) });
    const block = Buffer.alloc(512);
    if (header.encode(block, 0)) throw new Error(`${e.path}: needs a pax header, which this test writer does not make`);
    blocks.push(block, data, Buffer.alloc((512 - (data.length % 512)) % 512));
  }
  blocks.push(Buffer.alloc(1024));
  writeFileSync(file, Buffer.concat(blocks));
}

/** The real bundle's entries, then one more: a refusal must come from the extra entry alone. */
async function bundlePlus(source: string, file: string, extra: CraftedEntry): Promise<void> {
  const staging = tempDir("sabuild-bundle-x-");
  execFileSync("tar", ["-xf", source, "-C", staging]);
  const entries = tarEntries(source).map((path) => ({ path, data: readFileSync(join(staging, path)) }));
  await craftTar(file, [...entries, extra]);
}

describe("cache export and import", () => {
  it("moves every result to a fresh store: the copy builds nothing, and only new map items run", () => {
    const { a, b } = builtProjectAndCopy();
    const bundle = join(a, "a.tar");
    const exported = sabuildJson(a, ["cache", "export", "-o", bundle]);
    expect(exported.__code).toBe(0);
    expect(exported.stages.map((s: { id: string }) => s.id)).toEqual(["alpha:import", "alpha:tasks", "alpha:sandbox", "alpha:traces"]);
    expect(exported.skipped.every((s: { status: string }) => s.status === "unavailable")).toBe(true);
    expect(tarEntries(bundle)[0]).toBe("sabuild-bundle.json");

    const imported = sabuildJson(b, ["cache", "import", bundle]);
    expect(imported.__code).toBe(0);
    // 4 stages + 6 items of the map stage
    expect(imported.results).toEqual({ imported: 11, present: 0 });
    expect(imported.blobs.added).toBe(exported.blobs);

    const build = sabuildJson<Stages>(b, ["build"]);
    expect(build.__code).toBe(0);
    const available = build.stages.filter((s) => s.status !== "unavailable");
    expect(available.length).toBe(4);
    expect(available.every((s) => s.status === "up-to-date" || s.status === "restored")).toBe(true);
    expect(sabuild(b, ["cache", "verify"]).code).toBe(0);

    const log = join(b, "runs.log");
    addTasks(b, 2, 100);
    expect(sabuild(b, ["build"], { RUN_LOG: log }).code).toBe(0);
    expect(runLog(log).sort()).toEqual(["t100", "t101"]);
  });

  it("exports only the named stage's result and its blobs", () => {
    const { a } = builtProjectAndCopy();
    const bundle = join(a, "tasks.tar");
    const r = sabuild(a, ["cache", "export", "alpha:tasks", "-o", bundle]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/exported 1 stages \(1 results/);
    const index = bundleIndex(bundle);
    expect(index.format).toBe(1);
    expect(index.results.map((x) => x.stage)).toEqual(["alpha:tasks"]);
    const [tasks] = index.results;
    const entries = tarEntries(bundle);
    expect(entries.filter((e) => e.startsWith("ac/"))).toEqual([`ac/${tasks!.key}.json`]);
    expect(entries.filter((e) => e.startsWith("cas/")).sort()).toEqual(tasks!.blobs.map((x) => `cas/${x.digest}`).sort());
    const artifacts = sabuildJson(a, ["artifacts", "alpha:tasks"]);
    expect(tasks!.output).toBe(artifacts.output);
    for (const f of artifacts.files as { digest: string }[]) expect(entries).toContain(`cas/${f.digest}`);
    const importOutput = sabuildJson(a, ["artifacts", "alpha:import"]).output as string;
    expect(entries).not.toContain(`cas/${importOutput}`);
  });

  it("imports the same bundle twice without changing anything the second time", () => {
    const { a, b } = builtProjectAndCopy();
    const bundle = join(a, "a.tar");
    expect(sabuild(a, ["cache", "export", "-o", bundle]).code).toBe(0);
    expect(sabuild(b, ["cache", "import", bundle]).code).toBe(0);
    const before = storeListing(join(b, "cache"));
    const again = sabuildJson(b, ["cache", "import", bundle]);
    expect(again.__code).toBe(0);
    expect(again.results).toEqual({ imported: 0, present: 11 });
    expect(again.blobs.added).toBe(0);
    expect(again.bytes).toBe(0);
    expect(storeListing(join(b, "cache"))).toEqual(before);
    const human = sabuild(b, ["cache", "import", bundle]);
    expect(human.stdout).toContain("imported 0 results (11 already in the store)");
  });

  it("refuses unsafe entries and damaged blobs, leaving the store as it was", async () => {
    const { a, b } = builtProjectAndCopy();
    const bundle = join(a, "a.tar");
    expect(sabuild(a, ["cache", "export", "-o", bundle]).code).toBe(0);
    // b's store already holds something, so "unchanged" means more than "still empty".
    expect(sabuild(b, ["build", "alpha:import"]).code).toBe(0);
    const store = join(b, "cache");
    const outside = tempDir("sabuild-outside-");

    const dots = join(a, "dots.tar");
    await bundlePlus(bundle, dots, { path: "../evil", data: "gotcha" });
    const absolute = join(a, "absolute.tar");
    await bundlePlus(bundle, absolute, { path: join(outside, "pwned"), data: "gotcha" });
    const symlink = join(a, "symlink.tar");
    await bundlePlus(bundle, symlink, { path: "cas/link", type: "SymbolicLink", linkpath: "/etc/passwd" });
    const hardlink = join(a, "hardlink.tar");
    await bundlePlus(bundle, hardlink, { path: "ac/x.json", type: "Link", linkpath: "/etc/passwd" });

    // A blob whose content no longer matches its name, re-packed by the system tar from the
    // folder (which names entries ./… and adds directory entries: those are accepted).
    const damaged = join(a, "damaged.tar");
    const unpacked = tempDir("sabuild-bundle-d-");
    execFileSync("tar", ["-xf", bundle, "-C", unpacked]);
    const victim = bundleIndex(bundle).results.find((r) => r.stage === "alpha:tasks")!.output;
    chmodSync(join(unpacked, "cas", victim), 0o644);
    writeFileSync(join(unpacked, "cas", victim), "not the manifest any more\n");
    execFileSync("tar", ["-cf", damaged, "-C", unpacked, "."]);

    // A result whose preimage was edited: it no longer hashes to the key it claims.
    const tampered = join(a, "tampered.tar");
    const edited = tempDir("sabuild-bundle-t-");
    execFileSync("tar", ["-xf", bundle, "-C", edited]);
    const tasksKey = bundleIndex(bundle).results.find((r) => r.stage === "alpha:tasks")!.key;
    const acFile = join(edited, "ac", `${tasksKey}.json`);
    chmodSync(acFile, 0o644);
    writeFileSync(acFile, readFileSync(acFile, "utf8").replace(/"holdout": 0/, '"holdout": 0.5'));
    expect(readFileSync(acFile, "utf8")).toContain('"holdout": 0.5');
    execFileSync("tar", ["-cf", tampered, "-C", edited, "sabuild-bundle.json", "ac", "cas"]);

    const cases: [string, RegExp][] = [
      [dots, /\.\.\/evil: path with a "\.\." segment/],
      [absolute, /pwned: absolute path/],
      [symlink, /cas\/link: symbolic link to \/etc\/passwd/],
      [hardlink, /ac\/x\.json: hard link to \/etc\/passwd/],
      [damaged, new RegExp(`cas/${victim}: content does not match its name`)],
      [tampered, new RegExp(`ac/${tasksKey}\\.json: its key is not the hash of its preimage`)],
    ];
    for (const [file, message] of cases) {
      const before = storeListing(store);
      const r = sabuild(b, ["cache", "import", file]);
      expect(r.code, file).toBe(2);
      expect(r.stderr).toMatch(/refusing to import .*nothing was written to the store/);
      expect(r.stderr).toMatch(message);
      expect(storeListing(store)).toEqual(before);
    }
    expect(existsSync(join(b, "..", "evil"))).toBe(false);
    expect(existsSync(join(b, "evil"))).toBe(false);
    expect(readdirSync(outside)).toEqual([]);
    expect(readdirSync(join(store, "tmp"))).toEqual([]);
    expect(sabuildJson<Stages>(b, ["plan"]).stages.find((s) => s.id === "alpha:tasks")!.status).toBe("will-run");
  }, 240_000);

  it("says so when there is nothing to export, or no file to write", () => {
    const dir = engineProject();
    const none = sabuild(dir, ["cache", "export", "-o", join(dir, "x.tar")]);
    expect(none.code).toBe(2);
    expect(none.stderr).toMatch(/nothing to export: .*alpha:import \(will-run\)/);
    expect(existsSync(join(dir, "x.tar"))).toBe(false);
    const noOutput = sabuild(dir, ["cache", "export"]);
    expect(noOutput.code).toBe(2);
    expect(noOutput.stderr).toMatch(/needs -o\/--output FILE/);
    const notTar = join(dir, "tasks.jsonl");
    const bad = sabuild(dir, ["cache", "import", notTar]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/cannot be read as a tar archive/);
  });
});

describe("bundle layout", () => {
  it("holds only regular files with flat, relative names", () => {
    const { a } = builtProjectAndCopy();
    const bundle = join(a, "a.tar");
    expect(sabuild(a, ["cache", "export", "alpha", "-o", bundle]).code).toBe(0);
    const types: string[] = [];
    list({ file: bundle, sync: true, onReadEntry: (e) => types.push(`${e.type} ${e.path}`) });
    for (const t of types) expect(t).toMatch(/^File (sabuild-bundle\.json|ac\/[0-9a-f]{64}\.json|cas\/[0-9a-f]{64})$/);
  });
});
