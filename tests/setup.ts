import { afterAll } from "vitest";
import { removeTempDirs } from "./helpers.js";

// Each test file's temp projects go when the file is done: CI machines run the suite often.
afterAll(() => removeTempDirs());
