import type { ContainerFile } from "../envs/types.js";
import type { SandboxSession } from "../sandbox/types.js";
import { err, ok, type Result } from "../result.js";

/**
 * Copying a verifier's (or a solution's) files into a running container, only once the agent is
 * done, so the agent never sees the tests (as Harbor does).
 *
 * The container runs as a non-root user and even root there holds no capabilities: root can
 * write where root owns the directory (/, so /tests and /logs), the agent's user where it owns
 * it (the workspace, /tmp). So each file is written as the agent's user first, which keeps files
 * in the workspace the agent's own, and as root when that fails.
 */

const ROOT = "0";
/** $1 the path, $2 the octal mode or "": the content comes on stdin. */
const WRITE = 'mkdir -p "$(dirname "$1")" && cat > "$1" && if [ -n "$2" ]; then chmod "$2" "$1"; fi';
/**
 * $1 the directory: made, emptied of an earlier reward, and writable by everyone. chmod rather
 * than `test -w` decides, since the shell's test says yes to root whatever root may really do.
 */
const REWARD_DIR = 'mkdir -p "$1" && rm -f "$1/reward.txt" "$1/reward.json" && { chmod 0777 "$1" 2>/dev/null || [ -w "$1" ]; } && [ ! -e "$1/reward.txt" ] && [ ! -e "$1/reward.json" ]';
const TIMEOUT_MS = 60_000;

export interface CopyOptions {
  signal?: AbortSignal;
}

/** Writes each file (its directories made, base64 decoded here, its mode set); the first failure says which file and why. */
export async function copyFiles(session: SandboxSession, files: ContainerFile[], options: CopyOptions = {}): Promise<Result<void, string>> {
  for (const file of files) {
    const content = file.encoding === "base64" ? Buffer.from(file.content, "base64") : Buffer.from(file.content, "utf8");
    const mode = file.mode === undefined ? "" : file.mode.toString(8);
    const argv = ["sh", "-c", WRITE, "sh", file.path, mode];
    let failure = "";
    for (const user of [session.image.user, ROOT]) {
      const r = await session.exec(argv, { stdin: content, user, cwd: "/", timeoutMs: TIMEOUT_MS, ...signalOf(options) });
      if (r.exitCode === 0) {
        failure = "";
        break;
      }
      failure = (r.stderr || r.stdout).trim() || (r.timedOut ? "timed out" : `exit ${r.exitCode}`);
    }
    if (failure) return err(`cannot copy ${file.path} into the container: ${failure}`);
  }
  return ok(undefined);
}

/**
 * Makes the directory a verifier writes its reward into, writable by the agent's user (the
 * verifier runs as that user), with no reward left in it: one the agent wrote must not count.
 */
export async function prepareRewardDir(session: SandboxSession, dir: string, options: CopyOptions = {}): Promise<Result<void, string>> {
  let failure = "";
  for (const user of [session.image.user, ROOT]) {
    const r = await session.exec(["sh", "-c", REWARD_DIR, "sh", dir], { user, cwd: "/", timeoutMs: TIMEOUT_MS, ...signalOf(options) });
    if (r.exitCode === 0) return ok(undefined);
    failure = (r.stderr || r.stdout).trim() || `exit ${r.exitCode}`;
  }
  return err(`cannot prepare the reward directory ${dir}: ${failure}`);
}

function signalOf(options: CopyOptions): { signal?: AbortSignal } {
  return options.signal ? { signal: options.signal } : {};
}
