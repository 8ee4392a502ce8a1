import { test } from "node:test";
import assert from "node:assert/strict";
import { slugify } from "../src/index.js";

test("folds accents and punctuation", () => {
  assert.equal(slugify("Héllo, Wörld!"), "hello-world");
});

test("custom separator", () => {
  assert.equal(slugify("a b c", { separator: "_" }), "a_b_c");
});

test("maxLength does not leave a trailing separator", () => {
  assert.equal(slugify("one two three", { maxLength: 8 }), "one-two");
});
