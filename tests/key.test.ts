import { writeFileSync, readFileSync, utimesSync } from "node:fs";
import { createHash } from "node:crypto";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { canonicalJson, computeKey, itemPreimage, type KeyPreimage } from "../src/engine/key.js";
import { StatCache } from "../src/store/stat-cache.js";
import { ContentStore } from "../src/store/content-store.js";
import { tempDir } from "./helpers.js";

const base: KeyPreimage = {
  kind: "tasks",
  version: "1",
  params: { holdout: 0.1, from: ["a.jsonl"], nested: { b: 1, a: [1, 2] } },
  files: { "a.jsonl": "aa".repeat(32) },
  upstream: { import: "bb".repeat(32) },
  toolchain: { "image:python-repo": "sha256:cc" },
};

describe("keys", () => {
  it("are the same for the same inputs, whatever the key order", () => {
    const reordered: KeyPreimage = {
      toolchain: { ...base.toolchain },
      upstream: { ...base.upstream },
      files: { ...base.files },
      params: { nested: { a: [1, 2], b: 1 }, from: ["a.jsonl"], holdout: 0.1 },
      version: "1",
      kind: "tasks",
    };
    expect(computeKey(reordered)).toBe(computeKey(base));
    expect(canonicalJson({ b: 1, a: { d: 2, c: undefined } })).toBe('{"a":{"d":2},"b":1}');
  });

  it("change when any single input changes", () => {
    const variants: KeyPreimage[] = [
      { ...base, kind: "traces" },
      { ...base, version: "2" },
      { ...base, params: { ...(base.params as object), holdout: 0.2 } },
      { ...base, params: { ...(base.params as object), nested: { b: 1, a: [2, 1] } } },
      { ...base, files: { "a.jsonl": "ab".repeat(32) } },
      { ...base, files: { "b.jsonl": "aa".repeat(32) } },
      { ...base, upstream: { import: "bc".repeat(32) } },
      { ...base, toolchain: { "image:python-repo": "sha256:cd" } },
      { ...base, item: { id: "t1", input: "dd".repeat(32) } },
    ];
    const keys = new Set([computeKey(base), ...variants.map(computeKey)]);
    expect(keys.size).toBe(variants.length + 1);
  });

  it("is a sha256 of the canonical JSON preimage", () => {
    expect(computeKey(base)).toBe(createHash("sha256").update(canonicalJson(base)).digest("hex"));
    expect(() => canonicalJson({ x: Number.NaN })).toThrow(/non-finite/);
  });
});

describe("stat cache", () => {
  it("rehashes a file only when its stat changes, and persists across processes", async () => {
    const dir = tempDir("sabuild-stat-");
    const file = join(dir, "f.txt");
    writeFileSync(file, "hello");
    const cache = await StatCache.open(join(dir, "stat.json"));
    const d1 = await cache.digest(file);
    expect(d1).toBe(createHash("sha256").update("hello").digest("hex"));
    await cache.digest(file);
    expect(cache.rehashed).toBe(1);
    await cache.save();
    const reopened = await StatCache.open(join(dir, "stat.json"));
    expect(await reopened.digest(file)).toBe(d1);
    expect(reopened.rehashed).toBe(0);
    writeFileSync(file, "world");
    utimesSync(file, new Date(), new Date(Date.now() + 5000));
    expect(await reopened.digest(file)).toBe(createHash("sha256").update("world").digest("hex"));
    expect(reopened.rehashed).toBe(1);
  });
});

describe("content store", () => {
  it("stores trees as blobs plus a manifest and materialises them", async () => {
    const root = tempDir("sabuild-cas-");
    const store = new ContentStore(root);
    const staging = tempDir("sabuild-stage-");
    writeFileSync(join(staging, "a.txt"), "same");
    writeFileSync(join(staging, "b.txt"), "same");
    const { digest, manifest } = await store.adoptTree(staging);
    expect(manifest.entries.map((e) => e.path)).toEqual(["a.txt", "b.txt"]);
    expect(manifest.entries[0]!.digest).toBe(manifest.entries[1]!.digest);
    expect(await store.listBlobs()).toHaveLength(2);
    expect(await store.isComplete(digest)).toBe(true);
    const tree = await store.materialize(digest);
    expect(readFileSync(join(tree, "b.txt"), "utf8")).toBe("same");
    await store.removeBlob(manifest.entries[0]!.digest);
    expect(await store.isComplete(digest)).toBe(false);
  });
});

describe("a map item's key", () => {
  const stage: KeyPreimage = { kind: "runs", version: "1", params: { a: 1 }, files: { "main.mjs": "m1", "sub.mjs": "s1" }, upstream: { tasks: "t1", "x:import": "i1" }, toolchain: {} };
  const key = (pre: KeyPreimage, input = { arm: "none" }) => computeKey(itemPreimage(pre, { id: "n7.none.s0", input }, ["tasks"], undefined, ["sub.mjs"]));

  it("leaves out the upstreams and files its items fan out over, and keeps every other one", () => {
    expect(key({ ...stage, upstream: { ...stage.upstream, tasks: "t2" } })).toBe(key(stage));
    expect(key({ ...stage, files: { ...stage.files, "sub.mjs": "s2" } })).toBe(key(stage));
    expect(key({ ...stage, files: { ...stage.files, "main.mjs": "m2" } })).not.toBe(key(stage));
    expect(key({ ...stage, upstream: { ...stage.upstream, "x:import": "i2" } })).not.toBe(key(stage));
    expect(key(stage, { arm: "teacher" })).not.toBe(key(stage));
  });
});
