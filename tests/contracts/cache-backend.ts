import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { beforeEach, describe, expect, it } from "vitest";
import { computeKey, itemPreimage, sha256, type KeyPreimage } from "../../src/engine/key.js";
import type { CacheBackend } from "../../src/store/backend.js";
import { openStore, type ActionResult, type Store } from "../../src/store/index.js";
import { tempDir } from "../helpers.js";

/**
 * The cache backend contract (src/store/backend.ts), after wireit's registerCommonCacheTests:
 * every backend keeps results whole and gives them back byte for byte, misses what it was never
 * given, and turns a damaged blob into a miss instead of an entry in the receiving store.
 */

export interface BackendUnderTest {
  backend: CacheBackend;
  /** Changes the content of a blob the backend keeps (same size, other bytes), as a bad disk or a hostile server would. */
  damage(digest: string): Promise<void>;
}

/** A map stage with two items, as the engine stores one: item results, then the stage's result. */
interface Fixture {
  from: Store;
  items: ActionResult[];
  stage: ActionResult;
  /** The files of each result's output, by key. */
  files: Map<string, Record<string, string>>;
}

const STAGE: KeyPreimage = { kind: "traces", version: "2", params: { turns: 8 }, files: { "prompt.md": sha256("prompt") }, upstream: { tasks: sha256("tasks") }, toolchain: { image: "sha256:abc" } };

async function storeOutput(store: Store, files: Record<string, string>): Promise<string> {
  const dir = tempDir("sabuild-contract-out-");
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(join(dir, path, ".."), { recursive: true });
    writeFileSync(join(dir, path), text);
  }
  return (await store.cas.adoptTree(dir)).digest;
}

async function fixture(): Promise<Fixture> {
  const from = await openStore(tempDir("sabuild-contract-from-"));
  const files = new Map<string, Record<string, string>>();
  const result = async (preimage: KeyPreimage, stage: string, out: Record<string, string>, items?: ActionResult[]): Promise<ActionResult> => {
    const key = computeKey(preimage);
    const r: ActionResult = {
      version: 1,
      key,
      stage,
      preimage,
      output: await storeOutput(from, out),
      log: await from.cas.putBytes(`log of ${stage}\n`),
      durationMs: 1200,
      createdAt: "2026-01-02T03:04:05.000Z",
      ...(items ? { items: items.map((i) => ({ id: i.preimage.item!.id, key: i.key, output: i.output })) } : {}),
    };
    await from.ac.put(r);
    files.set(key, out);
    return r;
  };
  const itemFiles = { t1: { "trace.json": '{"turns":3}\n', "notes.txt": "x".repeat(70_000) }, t2: { "trace.json": '{"turns":5}\n' } };
  const items = [
    await result(itemPreimage(STAGE, { id: "t1", input: { task: "find retry" } }, "tasks"), "a:traces[t1]", itemFiles.t1),
    await result(itemPreimage(STAGE, { id: "t2", input: { task: "fix the test" } }, "tasks"), "a:traces[t2]", itemFiles.t2),
  ];
  // As the engine assembles a map stage's output: items/<id>/... for each item, and an index.
  const assembled = Object.fromEntries(Object.entries(itemFiles).flatMap(([id, files]) => Object.entries(files).map(([path, text]) => [`items/${id}/${path}`, text])));
  const stage = await result(STAGE, "a:traces", { ...assembled, "index.json": '["t1","t2"]\n' }, items);
  return { from, items, stage, files };
}

async function freshStore(): Promise<Store> {
  return openStore(tempDir("sabuild-contract-into-"));
}

/** The files of a result's output as the receiving store materialises them. */
async function outputFiles(store: Store, output: string): Promise<Record<string, string>> {
  const tree = await store.cas.materialize(output);
  const manifest = await store.cas.readManifest(output);
  return Object.fromEntries(manifest.entries.map((e) => [e.path, readFileSync(join(tree, e.path), "utf8")]));
}

export function describeCacheBackendContract(name: string, setup: () => Promise<BackendUnderTest>): void {
  describe(`cache backend contract: ${name}`, () => {
    let under: BackendUnderTest;
    let f: Fixture;

    beforeEach(async () => {
      under = await setup();
      f = await fixture();
    });

    it("gives back what was put: the result, its items' results and every blob, byte for byte", async () => {
      await under.backend.put(f.from, [...f.items, f.stage]);
      const into = await freshStore();
      const got = await under.backend.get(f.stage.key, into);
      expect(got).toEqual(f.stage);
      expect(await into.ac.get(f.stage.key)).toEqual(f.stage);
      for (const r of [...f.items, f.stage]) {
        expect(await into.ac.get(r.key)).toEqual(r);
        expect(await into.cas.isComplete(r.output)).toBe(true);
        expect(await outputFiles(into, r.output)).toEqual(f.files.get(r.key));
        expect((await into.cas.readBlob(r.log)).toString()).toBe(`log of ${r.stage}\n`);
      }
    });

    it("gives back one item's result on its own", async () => {
      await under.backend.put(f.from, [...f.items, f.stage]);
      const into = await freshStore();
      const item = f.items[0]!;
      expect(await under.backend.get(item.key, into)).toEqual(item);
      expect(await outputFiles(into, item.output)).toEqual(f.files.get(item.key));
    });

    it("misses a key it was never given, before and after other puts", async () => {
      const unknown = computeKey({ ...STAGE, version: "never built" });
      const into = await freshStore();
      expect(await under.backend.get(unknown, into)).toBeUndefined();
      expect(await into.ac.keys()).toEqual([]);
      await under.backend.put(f.from, [...f.items, f.stage]);
      expect(await under.backend.get(unknown, into)).toBeUndefined();
      expect(await into.ac.get(unknown)).toBeUndefined();
    });

    it("keeps the same results when they are put twice", async () => {
      await under.backend.put(f.from, [...f.items, f.stage]);
      await under.backend.put(f.from, [...f.items, f.stage]);
      expect(await under.backend.get(f.stage.key, await freshStore())).toEqual(f.stage);
    });

    it("turns a damaged blob into a miss: no result for the key, nothing damaged in the receiving store", async () => {
      await under.backend.put(f.from, [...f.items, f.stage]);
      const manifest = await f.from.cas.readManifest(f.items[0]!.output);
      const damaged = manifest.entries.find((e) => e.path.endsWith("notes.txt"))!.digest;
      await under.damage(damaged);
      const into = await freshStore();
      expect(await under.backend.get(f.stage.key, into)).toBeUndefined();
      expect(await into.ac.get(f.stage.key)).toBeUndefined();
      expect(await into.ac.get(f.items[0]!.key)).toBeUndefined();
      expect(await into.cas.has(damaged)).toBe(false);
      for (const digest of await into.cas.listBlobs()) expect(await into.cas.verifyBlob(digest), digest).toBe(true);
    });
  });
}
