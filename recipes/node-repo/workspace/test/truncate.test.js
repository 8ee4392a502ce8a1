import { test } from "node:test";
import assert from "node:assert/strict";
import { truncate } from "../src/index.js";

test("short text is unchanged", () => {
  assert.equal(truncate("short", 10), "short");
});

test("cuts at a word boundary", () => {
  assert.equal(truncate("a long sentence", 8), "a long…");
});

test("never longer than max", () => {
  for (let max = 2; max < 20; max++) assert.ok(truncate("internationalization matters", max).length <= max);
});
