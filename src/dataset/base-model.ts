import { nodeCrypto } from "../builtin.js";
import { existsSync, statSync } from "node:fs";
import { readdir } from "node:fs/promises";
import { tmpdir } from "node:os";
import { isAbsolute, join, resolve } from "node:path";
import { err, ok, type Result } from "../result.js";
import { StatCache } from "../store/stat-cache.js";

/** The base model as the dataset sees it: a local directory or a Hugging Face id. */
export type BaseModelRef =
  | { kind: "local"; dir: string; /** sha256 over the tokenizer's files: what token counts depend on. */ identity: string }
  | { kind: "hub"; id: string; identity: string };

const HUB_ID = /^[\w.-]+(\/[\w.-]+)?$/;

/** Files that decide tokenisation and the chat template; the weights do not, so they are not read. */
const TOKENIZER_FILE = /^(tokenizer.*|special_tokens_map\.json|added_tokens\.json|chat_template.*|vocab.*|merges\.txt|.*\.tiktoken|spiece\.model|config\.json)$/;

/**
 * A directory that exists (relative to the project or absolute) is a local model, keyed by the
 * content of its tokenizer files, not by its path: moving it rebuilds nothing, editing its chat
 * template does. Anything else must look like a Hub id and is keyed by that id.
 */
export async function resolveBaseModel(root: string, value: string): Promise<Result<BaseModelRef, { message: string; hint: string }>> {
  const dir = isAbsolute(value) ? value : resolve(root, value);
  if (existsSync(dir) && statSync(dir).isDirectory()) {
    const names = (await readdir(dir)).filter((n) => TOKENIZER_FILE.test(n) && statSync(join(dir, n)).isFile()).sort();
    if (!names.some((n) => n.startsWith("tokenizer") || n === "vocab.json" || n === "spiece.model")) {
      return err({ message: `base model directory ${value} has no tokenizer files`, hint: "it should hold a Hugging Face checkpoint: tokenizer.json and tokenizer_config.json at least" });
    }
    // Every plan computes this key: a stat cache keeps an unchanged 11 MB tokenizer.json from being read again.
    const stat = await StatCache.open(join(tmpdir(), `sabuild-${process.getuid?.() ?? "user"}`, "base-model-stat-cache.json"));
    const digests = await Promise.all(names.map(async (n) => `${n}\u0000${await stat.digest(join(dir, n))}`));
    await stat.save();
    return ok({ kind: "local", dir, identity: `sha256:${nodeCrypto().createHash("sha256").update(digests.join("\n")).digest("hex")}` });
  }
  if (value.startsWith(".") || value.startsWith("/") || value.startsWith("~") || !HUB_ID.test(value)) {
    return err({ message: `base model directory ${value} not found`, hint: "give a local model directory (relative to the project or absolute) or a Hugging Face id such as Qwen/Qwen3-4B-Instruct-2507" });
  }
  return ok({ kind: "hub", id: value, identity: `hub:${value}` });
}
