import { spawn } from "node:child_process";
import { PACKAGE_ROOT } from "../toolchain/venv.js";
import { statsEnv } from "./python.js";

/** The base model's tokenizer cannot be loaded: a problem with base_model, not a crash. */
export class TokenizerUnavailable extends Error {
  constructor(
    message: string,
    readonly hint: string,
  ) {
    super(message);
    this.name = "TokenizerUnavailable";
  }
}

/**
 * Token counts of the rows in a JSONL file under the base model's own chat template, by
 * trainer/dataset_stats.py (transformers' apply_chat_template, tools included).
 */
export async function countTokens(opts: { python: string; model: string; rowsFile: string; rows: number; signal: AbortSignal; log(line: string): void }): Promise<number[]> {
  const { python } = opts;
  const args = ["-m", "trainer.dataset_stats", "--model", opts.model, "--rows", opts.rowsFile];
  const { code, stdout, stderr, spawnError } = await run(python, args, statsEnv(), opts.signal, opts.log);
  if (spawnError) throw new Error(`cannot run ${python}: ${spawnError.message}`);
  const last = stdout.trim().split("\n").at(-1) ?? "";
  let doc: { tokens?: unknown; error?: string; hint?: string } = {};
  try {
    doc = JSON.parse(last) as typeof doc;
  } catch {
    // Falls through to the error below with the process's own output.
  }
  if (doc.error) throw new TokenizerUnavailable(doc.error, doc.hint ?? "");
  if (opts.signal.aborted) throw new Error("cancelled");
  const tokens = doc.tokens;
  if (code !== 0 || !Array.isArray(tokens) || tokens.length !== opts.rows || !tokens.every((n) => Number.isInteger(n))) {
    const tail = stderr.trim().split("\n").slice(-15).join("\n");
    throw new Error(`counting tokens failed (${python} -m trainer.dataset_stats exited with ${code}):\n${tail}`);
  }
  return tokens as number[];
}

function run(
  cmd: string,
  args: string[],
  env: NodeJS.ProcessEnv,
  signal: AbortSignal,
  log: (line: string) => void,
): Promise<{ code: number | null; stdout: string; stderr: string; spawnError?: Error }> {
  return new Promise((done) => {
    const child = spawn(cmd, args, { cwd: PACKAGE_ROOT, env, signal, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    let partial = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d));
    child.stderr.on("data", (d: Buffer) => {
      stderr += d;
      // Python's warnings go to the stage log, a line at a time.
      const lines = (partial + d.toString()).split("\n");
      partial = lines.pop() ?? "";
      for (const line of lines) if (line.trim()) log(`python: ${line}`);
    });
    child.on("error", (e: NodeJS.ErrnoException) => {
      if (e.code === "ENOENT" || e.code === "EACCES") done({ code: null, stdout, stderr, spawnError: e });
    });
    child.on("close", (code) => done({ code, stdout, stderr }));
  });
}
