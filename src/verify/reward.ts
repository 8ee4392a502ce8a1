import { err, ok, type Result } from "../result.js";
import type { SandboxSession } from "../sandbox/types.js";

/**
 * Harbor's reward files, read as Harbor's verifier reads them: `reward.txt` first (its first
 * line a number), else `reward.json`, an object of named rewards. The reward is its `reward`
 * entry, or its only entry when it names a single one ({"score": 0.5}); several named rewards
 * without a `reward` entry do not say which one decides, so they are an error. An empty file,
 * a number that does not parse, or neither file is an error too: the verifier gave no verdict.
 */

/** Prints the first reward file's name, a newline, then its content; exits 3 when there is none. */
const READ = 'for f in reward.txt reward.json; do if [ -e "$1/$f" ]; then echo "$f"; exec cat "$1/$f"; fi; done; exit 3';
const LIMIT_BYTES = 64 * 1024;

export async function readReward(session: SandboxSession, dir: string, options: { signal?: AbortSignal } = {}): Promise<Result<number, string>> {
  const r = await session.exec(["sh", "-c", READ, "sh", dir], { cwd: "/", timeoutMs: 30_000, outputLimitBytes: LIMIT_BYTES, ...(options.signal ? { signal: options.signal } : {}) });
  if (r.exitCode === 3) return err(`the verifier wrote no reward file (${dir}/reward.txt or ${dir}/reward.json)`);
  const newline = r.stdout.indexOf("\n");
  const name = newline < 0 ? "" : r.stdout.slice(0, newline);
  if (r.exitCode !== 0 || (name !== "reward.txt" && name !== "reward.json")) return err(`cannot read the reward file in ${dir}: ${r.stderr.trim() || `exit ${r.exitCode}`}`);
  return parseReward(name, r.stdout.slice(newline + 1), `${dir}/${name}`);
}

export function parseReward(name: "reward.txt" | "reward.json", text: string, path: string = name): Result<number, string> {
  if (text.trim() === "") return err(`the reward file ${path} is empty`);
  if (name === "reward.txt") {
    const first = text.trim().split(/\r?\n/)[0]!.trim();
    const reward = Number(first);
    return Number.isFinite(reward) ? ok(reward) : err(`the reward file ${path} does not hold a number: ${JSON.stringify(first.slice(0, 80))}`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return err(`the reward file ${path} is not JSON`);
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) return err(`the reward file ${path} is not a JSON object of named rewards`);
  const entries = Object.entries(parsed);
  const chosen = "reward" in parsed ? (parsed as { reward: unknown }).reward : entries.length === 1 ? entries[0]![1] : undefined;
  if (chosen === undefined) return err(`the reward file ${path} names ${entries.length} rewards (${entries.map(([k]) => k).join(", ") || "none"}) and no "reward"`);
  return typeof chosen === "number" && Number.isFinite(chosen) ? ok(chosen) : err(`the reward in ${path} is not a number: ${JSON.stringify(chosen)}`);
}
