import { describe, expect, it } from "vitest";
import { progressText } from "../src/logging/progress.js";

describe("progress in words", () => {
  it("says items with their cost, and remote transfers with bytes when the sizes are known", () => {
    expect(progressText({ type: "stage-progress", id: "a:traces", done: 3, total: 12, costUsd: 0.25 }, { itemsWord: true, soFar: true })).toBe("3/12 items, $0.2500 so far");
    expect(progressText({ type: "stage-progress", id: "a:traces", done: 3, total: 12 }, { itemsWord: false, soFar: false })).toBe("3/12");
    const fetch = { type: "stage-progress" as const, id: "a:export", done: 1, total: 3, unit: "blobs" as const, bytes: { done: 1.5 * 2 ** 30, total: 2 * 2 ** 30 } };
    expect(progressText(fetch, { itemsWord: true, soFar: true })).toBe("1.5 GiB of 2.0 GiB, 1/3 blobs fetched");
    expect(progressText({ ...fetch, unit: "uploads" }, { itemsWord: false, soFar: false })).toBe("1.5 GiB of 2.0 GiB, 1/3 blobs uploaded");
    // Logs have no size in a manifest: with nothing to weigh, only the blobs are counted.
    expect(progressText({ ...fetch, bytes: { done: 0, total: 0 } }, { itemsWord: true, soFar: true })).toBe("1/3 blobs fetched");
  });
});
