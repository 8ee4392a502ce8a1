import { test } from "node:test";
import assert from "node:assert/strict";
import { titleCase } from "../src/index.js";

test("keeps small words lower case", () => {
  assert.equal(titleCase("the lord of the rings"), "The Lord of the Rings");
});

test("collapses repeated spaces", () => {
  assert.equal(titleCase("war  and peace"), "War and Peace");
});
