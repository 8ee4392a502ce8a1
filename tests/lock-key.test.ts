import { mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { canonicalJson, computeKey, sha256, type KeyPreimage } from "../src/engine/key.js";
import { keyFromLock } from "../src/engine/lock-key.js";
import { isVerified, markVerified, paramsMemory, rememberParams, verifiedLockDigest, verifiedLockEntries } from "../src/store/verified.js";
import { LockLine, lockLines, parseLockLines } from "../src/engine/lock-line.js";
import { readLockfile, renderLockfile, type LockEntries } from "../src/engine/lockfile.js";
import type { KnownParams } from "../src/engine/env.js";
import { stampOf } from "../src/store/stamp.js";
import { StatCache } from "../src/store/stat-cache.js";
import { sabuild, sabuildJson, tempDir } from "./helpers.js";
import { engineProject } from "./engine-project.js";

const preimage: KeyPreimage = {
  kind: "tasks",
  version: "2",
  params: { from: ["tasks/a.jsonl"], seed: [], holdout: 0.1, "10": 1, "2": [null, { b: true }] },
  files: { "tasks/a.jsonl": "aa".repeat(32), "tasks/b.jsonl": "ab".repeat(32) },
  upstream: { import: "bb".repeat(32) },
  toolchain: { "plugin:plugins/x.mjs": "cc".repeat(32) },
};

/** The entry a build writes for a preimage (engine/build.ts lockEntryOf, less the output's counts). */
function entryOf(p: KeyPreimage): LockEntry {
  return { key: computeKey(p), version: p.version, params: sha256(canonicalJson(p.params)), files: { ...p.files }, upstream: { ...p.upstream }, toolchain: { ...p.toolchain }, output: { digest: "dd".repeat(32), files: 1, bytes: 1 } };
}

describe("a node's key from its sabuild.lock entry", () => {
  it("is the entry's key when every field matches, whatever the key order, and that is the hashed key", () => {
    const reordered: KeyPreimage = { toolchain: preimage.toolchain, upstream: preimage.upstream, files: { "tasks/b.jsonl": "ab".repeat(32), "tasks/a.jsonl": "aa".repeat(32) }, params: preimage.params, version: "2", kind: "tasks" };
    expect(keyFromLock(reordered, entryOf(preimage))).toBe(computeKey(preimage));
    expect(keyFromLock(preimage, JSON.parse(JSON.stringify(entryOf(preimage))) as LockEntry)).toBe(computeKey(preimage));
  });

  it("is undefined when any input differs from the entry, or the preimage holds what the entry does not record", () => {
    const entry = entryOf(preimage);
    const changed: Record<string, KeyPreimage> = {
      version: { ...preimage, version: "3" },
      params: { ...preimage, params: { ...(preimage.params as object), holdout: 0.2 } },
      "a file's digest": { ...preimage, files: { ...preimage.files, "tasks/a.jsonl": "ee".repeat(32) } },
      "a file more": { ...preimage, files: { ...preimage.files, "tasks/c.jsonl": "ee".repeat(32) } },
      "a file less": { ...preimage, files: { "tasks/a.jsonl": "aa".repeat(32) } },
      upstream: { ...preimage, upstream: { import: "ee".repeat(32) } },
      "an upstream more": { ...preimage, upstream: { ...preimage.upstream, sandbox: "ee".repeat(32) } },
      toolchain: { ...preimage, toolchain: { "plugin:plugins/x.mjs": "ee".repeat(32) } },
      "a toolchain entry set to undefined": { ...preimage, toolchain: { ...preimage.toolchain, "image:x": undefined as unknown as string } },
      "a map item": { ...preimage, item: { id: "t1", input: "ff".repeat(32) } },
      "a field the lock does not know": { ...preimage, extra: 1 } as KeyPreimage,
    };
    for (const [what, p] of Object.entries(changed)) expect({ what, key: keyFromLock(p, entry) }).toEqual({ what, key: undefined });
    expect(keyFromLock(preimage, undefined)).toBeUndefined();
  });

  it("never disagrees with the hashed key: random edits either match the hash or fall back to it", () => {
    let seed = 7;
    const pick = (n: number): number => (seed = (seed * 1103515245 + 12345) % 2147483648) % n;
    const digests = ["aa", "ab", "bb", "ee"].map((d) => d.repeat(32));
    const edit = (p: KeyPreimage): KeyPreimage => {
      const q = JSON.parse(JSON.stringify(p)) as KeyPreimage;
      const field = (["files", "upstream", "toolchain"] as const)[pick(3)];
      const name = ["a", "b", "import", "x"][pick(4)]!;
      if (pick(4) === 0) delete q[field][name];
      else q[field][name] = digests[pick(digests.length)]!;
      if (pick(5) === 0) q.params = { ...(q.params as object), holdout: pick(3) / 10 };
      if (pick(7) === 0) q.version = String(pick(3));
      return q;
    };
    let matched = 0;
    for (let i = 0; i < 2000; i++) {
      const locked = edit(preimage);
      const now = pick(2) ? locked : edit(locked);
      const fromLock = keyFromLock(now, entryOf(locked));
      if (fromLock !== undefined) {
        matched++;
        expect(fromLock).toBe(computeKey(now));
      } else expect(computeKey(now)).not.toBe(computeKey(locked));
    }
    expect(matched).toBeGreaterThan(500);
  });
});

describe("params remembered as text with their sha256", () => {
  const memory = (entries: Record<string, [string, string]>): KnownParams & { learned: Record<string, [string, string]> } => {
    const learned: Record<string, [string, string]> = {};
    return { get: (id) => entries[id], learn: (id, digest, canonical) => void (learned[id] = [digest, canonical]), learned };
  };

  it("stand for hashing: the same text with the entry's digest gives the entry's key without hashing", () => {
    // An entry whose params digest is not the sha256 of anything: only the remembered text can match it.
    const entry = { ...entryOf(preimage), params: "not-a-hash" };
    const known = memory({ "a:tasks": ["not-a-hash", canonicalJson(preimage.params)] });
    expect(keyFromLock(preimage, entry, "a:tasks", known)).toBe(entry.key);
    // Another node's memory, or none, is no help: the hash does not match the entry.
    expect(keyFromLock(preimage, entry, "b:tasks", known)).toBeUndefined();
    expect(keyFromLock(preimage, entry)).toBeUndefined();
  });

  it("are hashed again when the text or the entry's digest differs, and what was hashed is learned", () => {
    const entry = entryOf(preimage);
    const stale = memory({ "a:tasks": [entry.params, canonicalJson({ other: 1 })] });
    expect(keyFromLock(preimage, entry, "a:tasks", stale)).toBe(computeKey(preimage));
    expect(stale.learned).toEqual({ "a:tasks": [entry.params, canonicalJson(preimage.params)] });
    // Params edited since: the text differs from the remembered one and the hash from the entry's.
    const edited = { ...preimage, params: { ...(preimage.params as object), holdout: 0.3 } };
    const remembered = memory({ "a:tasks": [entry.params, canonicalJson(preimage.params)] });
    expect(keyFromLock(edited, entry, "a:tasks", remembered)).toBeUndefined();
    expect(remembered.learned).toEqual({});
    // The entry changed (a new lock) while the memory holds the old digest: hashed, not trusted.
    const moved = { ...entry, params: sha256("other") };
    expect(keyFromLock(preimage, moved, "a:tasks", remembered)).toBeUndefined();
  });

  it("are kept in the verified record for the graph's nodes, and only with the lock they were learned under", async () => {
    const store = tempDir("sabuild-verified-");
    for (const d of ["cas", "ac"]) mkdirSync(join(store, d));
    const first = paramsMemory(store, "/project", ["a:tasks", "b:tasks"]);
    first.learn("a:tasks", "d-a", "{\"a\":1}");
    first.learn("gone:tasks", "d-g", "{}");
    first.learn("b:tasks", "d-b", `"${"x".repeat(5000)}"`);
    expect(first.learned).toBe(true);
    await markVerified(store, "/project", "lock-1", undefined, first);
    const second = paramsMemory(store, "/project", ["a:tasks", "b:tasks"]);
    expect(second.get("a:tasks")).toEqual(["d-a", "{\"a\":1}"]);
    // Nodes no longer in the graph are dropped; long texts are never kept (they are hashed each time).
    expect([second.get("gone:tasks"), second.get("b:tasks")]).toEqual([undefined, undefined]);
    expect(second.learned).toBe(false);
    second.learn("a:tasks", "d-a", "{\"a\":1}");
    expect(second.learned).toBe(false);
    second.learn("b:tasks", "d-b", "{\"b\":2}");
    // Kept by a no-op only while the record is for the lock it trusted.
    await rememberParams(store, "/project", "lock-2", second);
    expect(paramsMemory(store, "/project", ["b:tasks"]).get("b:tasks")).toBeUndefined();
    await rememberParams(store, "/project", "lock-1", second);
    expect(paramsMemory(store, "/project", ["b:tasks"]).get("b:tasks")).toEqual(["d-b", "{\"b\":2}"]);
    expect(isVerified(store, "/project", "lock-1")).toBe(true);
    // Another project's memory is its own.
    expect(paramsMemory(store, "/other", ["b:tasks"]).get("b:tasks")).toBeUndefined();
  });
});

describe("the verified-lock record", () => {
  it("trusts a lock only for the store, lock digest and key function it was recorded with", async () => {
    const store = tempDir("sabuild-verified-");
    for (const d of ["cas", "ac"]) mkdirSync(join(store, d));
    await markVerified(store, "/project", "lock-1");
    expect(isVerified(store, "/project", "lock-1")).toBe(true);
    expect(isVerified(store, "/project", "lock-2")).toBe(false);
    expect(isVerified(store, "/other", "lock-1")).toBe(false);
    // A record written by another build of the key function (another sabuild) is not trusted.
    const [name] = readdirSync(join(store, "verified"));
    const path = join(store, "verified", name!);
    const record = JSON.parse(readFileSync(path, "utf8")) as Record<string, unknown>;
    expect(record).toHaveProperty("keys");
    writeFileSync(path, JSON.stringify({ ...record, keys: "another build" }));
    expect(isVerified(store, "/project", "lock-1")).toBe(false);
  });

  it("gives the verified digest by the lock file's stamp, only while the file is the one hashed", async () => {
    const store = tempDir("sabuild-verified-");
    for (const d of ["cas", "ac"]) mkdirSync(join(store, d));
    const lock = join(tempDir("sabuild-verified-project-"), "sabuild.lock");
    writeFileSync(lock, "lock one\n");
    const digest = sha256("lock one\n");
    await markVerified(store, "/project", digest, lock);
    expect(verifiedLockDigest(store, "/project", stampOf(lock))).toBe(digest);
    expect(verifiedLockDigest(store, "/other", stampOf(lock))).toBeUndefined();
    // Rewritten (even with the same size): a new stamp, so its content must be hashed again.
    writeFileSync(lock, "lock two\n");
    expect(verifiedLockDigest(store, "/project", stampOf(lock))).toBeUndefined();
    // A digest that is not the file's own records no stamp: nothing is trusted by stamp then.
    await markVerified(store, "/project", sha256("something else"), lock);
    expect(verifiedLockDigest(store, "/project", stampOf(lock))).toBeUndefined();
    expect(isVerified(store, "/project", sha256("something else"))).toBe(true);
  });
});

describe("lock entries as lines (engine/lock-line.ts)", () => {
  const entries: LockEntries = {
    "a:tasks": { ...entryOf(preimage), output: { digest: "dd".repeat(32), files: 3, bytes: 1234 } },
    "a:import": { key: "ab".repeat(32), version: "7", params: "cd".repeat(32), files: {}, upstream: {}, toolchain: { "plugin:x\tweird\nname.mjs": "ef".repeat(32) }, output: { digest: "fe".repeat(32), files: 0, bytes: 0 } },
  };

  it("read back as the same entries: every field, a plain entry for JSON, and the same lock text", () => {
    const read = parseLockLines(lockLines(entries)!, 2)!;
    expect(Object.keys(read)).toEqual(Object.keys(entries));
    for (const id of Object.keys(entries)) {
      const line = read[id]!;
      expect(line).toBeInstanceOf(LockLine);
      const e = entries[id]!;
      expect([line.key, line.version, line.params, line.files, line.upstream, line.toolchain, line.output]).toEqual([e.key, e.version, e.params, e.files, e.upstream, e.toolchain, e.output]);
      expect(JSON.parse(JSON.stringify(line))).toEqual(e);
    }
    expect(renderLockfile(read)).toBe(renderLockfile(entries));
  });

  it("give the same key from the lock as the entries they were written from, for every edit", () => {
    let seed = 11;
    const pick = (n: number): number => (seed = (seed * 1103515245 + 12345) % 2147483648) % n;
    const digests = ["aa", "ab", "bb", "ee"].map((d) => d.repeat(32));
    for (let i = 0; i < 500; i++) {
      const now = JSON.parse(JSON.stringify(preimage)) as KeyPreimage;
      const field = (["files", "upstream", "toolchain"] as const)[pick(3)];
      if (pick(2)) now[field][["a", "b", "import", "x"][pick(4)]!] = digests[pick(digests.length)]!;
      if (pick(6) === 0) now.version = String(pick(3));
      const entry = entryOf(pick(2) ? preimage : now);
      const line = parseLockLines(lockLines({ n: entry })!, 1)!.n!;
      expect(keyFromLock(now, line)).toBe(keyFromLock(now, entry));
    }
  });

  it("are refused when a line cannot hold an entry, or the text is not what was written", () => {
    expect(lockLines({ "a\tb:tasks": entries["a:tasks"]! })).toBeUndefined();
    expect(lockLines({ "a:tasks": { ...entries["a:tasks"]!, version: "1\n2" } })).toBeUndefined();
    const text = lockLines(entries)!;
    expect(parseLockLines(text, 3)).toBeUndefined();
    expect(parseLockLines(`${text}\nno tab here`, 3)).toBeUndefined();
    expect(parseLockLines("", 0)).toEqual({});
  });

  it("stand for the lock in the verified record while the lock file is the one recorded", async () => {
    const store = tempDir("sabuild-verified-");
    for (const d of ["cas", "ac"]) mkdirSync(join(store, d));
    const lock = join(tempDir("sabuild-verified-project-"), "sabuild.lock");
    writeFileSync(lock, renderLockfile(entries));
    const read = await readLockfile(lock, "sabuild.lock");
    if (!read.ok) throw new Error("unreadable lock");
    await markVerified(store, "/project", read.value.digest, lock, undefined, read.value.entries);
    const recorded = verifiedLockEntries(store, "/project", stampOf(lock)!)!;
    expect(recorded.digest).toBe(read.value.digest);
    expect(JSON.parse(JSON.stringify(recorded.entries))).toEqual(read.value.entries);
    // What a no-op remembers later keeps them.
    const params = paramsMemory(store, "/project", ["a:tasks"]);
    params.learn("a:tasks", "d-a", "{}");
    await rememberParams(store, "/project", read.value.digest, params);
    expect(Object.keys(verifiedLockEntries(store, "/project", stampOf(lock)!)!.entries).sort()).toEqual(Object.keys(entries).sort());
    // Another project, or the lock rewritten: the lock is read and parsed again.
    expect(verifiedLockEntries(store, "/other", stampOf(lock)!)).toBeUndefined();
    writeFileSync(lock, renderLockfile({ "a:tasks": entries["a:tasks"]! }));
    expect(verifiedLockEntries(store, "/project", stampOf(lock)!)).toBeUndefined();
    // A record without lines (an older sabuild's) or with a digest that is not the file's holds none.
    await markVerified(store, "/project", sha256("something else"), lock, undefined, entries);
    expect(verifiedLockEntries(store, "/project", stampOf(lock)!)).toBeUndefined();
  });
});

describe("a no-op build of a verified lock", () => {
  it("reads the record's lines, and decides as the parsed lock does", () => {
    const dir = engineProject({ tasks: 3 });
    expect(sabuild(dir, ["build"]).code).toBe(0);
    const verified = join(dir, "cache", "verified");
    const [name] = readdirSync(verified);
    const path = join(verified, name!);
    const record = JSON.parse(readFileSync(path, "utf8")) as { lines?: string; entries?: number };
    const lock = JSON.parse(readFileSync(join(dir, "sabuild.lock"), "utf8")) as { stages: object };
    expect(record.entries).toBe(Object.keys(lock.stages).length);
    const fromLines = sabuildJson<{ stages: object[] }>(dir, ["build", "--json"]);
    // The same no-op without the lines: the lock is parsed.
    writeFileSync(path, JSON.stringify({ ...record, lines: undefined, entries: undefined }));
    const fromLock = sabuildJson<{ stages: object[] }>(dir, ["build", "--json"]);
    const decided = (r: { stages: object[] }): object[] => r.stages.map((s) => ({ ...s, durationMs: 0 }));
    expect(fromLines.__code).toBe(0);
    expect(decided(fromLines)).toEqual(decided(fromLock));
    expect(fromLines.stages.every((s) => ["up-to-date", "unavailable"].includes((s as { status: string }).status))).toBe(true);
  });
});

describe("stats held through the one-pass decision (StatCache.holdStats)", () => {
  it("stat each file once while held, see changes again once released, and nest without releasing early", async () => {
    const dir = tempDir("sabuild-held-");
    const file = join(dir, "tasks.jsonl");
    writeFileSync(file, "one\n");
    const cache = await StatCache.open(join(dir, "stat-cache.json"));
    const digest = await cache.digest(file);
    const release = cache.holdStats();
    expect(cache.knownDigest(file)).toBe(digest);
    // Changed during the pass: the pass keeps deciding against the file as it first saw it.
    writeFileSync(file, "two, longer\n");
    expect(cache.stat(file)?.size).toBe(4);
    expect(cache.knownDigest(file)).toBe(digest);
    // A second holder (nested) does not end the first one's view.
    cache.holdStats()();
    expect(cache.stat(file)?.size).toBe(4);
    release();
    expect(cache.stat(file)?.size).toBe(12);
    expect(cache.knownDigest(file)).toBeUndefined();
    expect(cache.stat(join(dir, "missing"))).toBeUndefined();
  });
});
