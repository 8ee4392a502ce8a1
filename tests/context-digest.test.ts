import { chmodSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { contextDigest, forgetContextDigests } from "../src/sandbox/recipe.js";
import { StatCache } from "../src/store/stat-cache.js";
import { tempDir } from "./helpers.js";

describe("a recipe's context digest remembered in the stat cache", () => {
  it("is the digest computed from the files, and follows every edit, mode change and new file", async () => {
    const dir = tempDir("sabuild-context-");
    const recipe = join(dir, "recipe");
    mkdirSync(recipe);
    writeFileSync(join(recipe, "Dockerfile"), "FROM debian\n");
    writeFileSync(join(recipe, "recipe.yaml"), "name: r\n");
    const cacheFile = join(dir, "stat-cache.json");
    // Each step: a fresh process's view (memo forgotten, stat cache reread from disk), with and without the cache.
    const both = async (): Promise<[string, string]> => {
      forgetContextDigests();
      const facts = await StatCache.open(cacheFile);
      const remembered = contextDigest(recipe, "debian:12", facts);
      await facts.save();
      forgetContextDigests();
      return [remembered, contextDigest(recipe, "debian:12")];
    };
    const seen = new Set<string>();
    const step = async (): Promise<void> => {
      const [remembered, computed] = await both();
      expect(remembered).toBe(computed);
      // Asked again with the cache only: the remembered answer, still equal to a fresh computation.
      expect((await both())[0]).toBe(computed);
      expect(seen.has(computed)).toBe(false);
      seen.add(computed);
    };
    await step();
    writeFileSync(join(recipe, "Dockerfile"), "FROM debian:12\n");
    await step();
    chmodSync(join(recipe, "recipe.yaml"), 0o755);
    await step();
    writeFileSync(join(recipe, "setup.sh"), "echo hi\n");
    await step();
    // Another base image is another digest, remembered beside the first.
    forgetContextDigests();
    const facts = await StatCache.open(cacheFile);
    expect(contextDigest(recipe, "debian:13", facts)).not.toBe(contextDigest(recipe, "debian:12", facts));
  });

  it("is taken from the cache without reading the files while they are unchanged", async () => {
    const dir = tempDir("sabuild-context-");
    const recipe = join(dir, "recipe");
    mkdirSync(recipe);
    writeFileSync(join(recipe, "Dockerfile"), "FROM debian\n");
    const cacheFile = join(dir, "stat-cache.json");
    forgetContextDigests();
    const facts = await StatCache.open(cacheFile);
    const first = contextDigest(recipe, "b", facts);
    await facts.save();
    // A value planted in the cache comes back: nothing was read or hashed.
    const { readFileSync } = await import("node:fs");
    const data = JSON.parse(readFileSync(cacheFile, "utf8")) as Record<string, { facts?: Record<string, { digest: string }> }>;
    data[recipe]!.facts!["context-digest"]!.digest = "planted";
    writeFileSync(cacheFile, JSON.stringify(data));
    forgetContextDigests();
    expect(contextDigest(recipe, "b", await StatCache.open(cacheFile))).toBe("planted");
    forgetContextDigests();
    expect(contextDigest(recipe, "b")).toBe(first);
  });
});
