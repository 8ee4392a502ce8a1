import { ToolFailure } from "./define.js";
import { resolvePath, runScript } from "./exec.js";
import { EXIT, fileProblem } from "./file-errors.js";
import { sessionState } from "./state.js";
import type { ToolContext } from "./types.js";

/** Edit works on the whole file in memory; past this size, Bash (sed, patch) is the tool. */
export const MAX_EDIT_BYTES = 16 * 1024 * 1024;

const LOAD_SCRIPT = `f=$1
[ -e "$f" ] || exit ${EXIT.missing}
[ -d "$f" ] && exit ${EXIT.directory}
[ -r "$f" ] || exit ${EXIT.unreadable}
size=$(stat -L -c %s -- "$f")
if [ "$size" -gt "$2" ]; then printf '%s' "$size"; exit ${EXIT.tooLarge}; fi
stat -L -c %.9Y -- "$f"
base64 -w 0 -- "$f"`;

// Writes stdin to the file, creating parent directories. An existing file is written only when its
// modification time is still the one the model saw ($2), so a change the model never read (by a
// Bash command, say) is not overwritten. Prints "<existed> <new mtime>".
const SAVE_SCRIPT = `f=$1
[ -d "$f" ] && exit ${EXIT.directory}
existed=0
if [ -e "$f" ]; then
  now=$(stat -L -c %.9Y -- "$f")
  if [ "$now" != "$2" ]; then printf '%s' "$now"; exit ${EXIT.changed}; fi
  existed=1
fi
mkdir -p -- "$(dirname -- "$f")" || exit 1
cat > "$f" || exit 1
printf '%s %s' "$existed" "$(stat -L -c %.9Y -- "$f")"`;

export interface LoadedFile {
  path: string;
  /** null when the file does not exist. */
  bytes: Buffer | null;
  mtime: string;
}

/** The file's exact bytes (base64 on the wire, so invalid UTF-8 survives an edit untouched). */
export async function loadFile(ctx: ToolContext, filePath: string): Promise<LoadedFile> {
  const path = resolvePath(ctx, filePath);
  const result = await runScript(ctx, LOAD_SCRIPT, [path, String(MAX_EDIT_BYTES)]);
  if (result.exitCode === EXIT.missing) return { path, bytes: null, mtime: "" };
  if (result.exitCode === EXIT.tooLarge) {
    throw new ToolFailure(`${path} is ${result.stdout.trim()} bytes, more than the ${MAX_EDIT_BYTES} bytes this tool edits in one piece. Change it with Bash (sed, patch) instead.`);
  }
  if (result.exitCode !== 0 || result.truncated) throw new ToolFailure(fileProblem(result, path));
  const newline = result.stdout.indexOf("\n");
  return { path, mtime: result.stdout.slice(0, newline), bytes: Buffer.from(result.stdout.slice(newline + 1), "base64") };
}

/** Claude Code's rule: an existing file is changed only after the model has read its current content. */
export function checkSeen(ctx: ToolContext, path: string, mtime: string): void {
  const seen = sessionState(ctx.sandbox).seen.get(path);
  if (seen === undefined) throw new ToolFailure("File has not been read yet. Read it first before writing to it.");
  if (seen !== mtime) throw new ToolFailure("File has been modified since read, either by the user or by a linter. Read it again before attempting to write it.");
}

/** Writes the file; `expectedMtime` is what the model last saw ("" for a file it believes new). */
export async function saveFile(ctx: ToolContext, path: string, bytes: Buffer, expectedMtime: string): Promise<{ created: boolean }> {
  const result = await runScript(ctx, SAVE_SCRIPT, [path, expectedMtime], { stdin: bytes });
  if (result.exitCode === EXIT.changed) {
    checkSeen(ctx, path, result.stdout.trim());
    throw new ToolFailure("File has been modified since read, either by the user or by a linter. Read it again before attempting to write it.");
  }
  if (result.exitCode !== 0) throw new ToolFailure(fileProblem(result, path));
  const [existed, mtime] = result.stdout.trim().split(" ");
  sessionState(ctx.sandbox).seen.set(path, mtime ?? "");
  return { created: existed === "0" };
}
