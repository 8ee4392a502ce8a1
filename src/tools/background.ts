import { randomBytes } from "node:crypto";
import { truncationMarker } from "../sandbox/output.js";
import { shellArgv } from "./shell.js";
import { ToolFailure } from "./define.js";
import { runScript } from "./exec.js";
import { sessionState, type BackgroundShell } from "./state.js";
import type { ToolContext } from "./types.js";

/**
 * Background shells (Bash with run_in_background, BashOutput, KillShell), inside the rollout's
 * container. Each shell has a folder holding its stdout and stderr, each cut at the sandbox's
 * output limit, and its exit status once it ends; the host remembers, per session, how far the
 * model has read. The processes and files live in the container, so they go when it is removed.
 */

const ROOT = "/tmp/.sabuild-shells";

// Runs detached from the launching exec (its own session, stdin closed, output in files), so the
// launch returns at once. The command carries SABUILD_SHELL=<id> in its environment: KillShell
// finds every process it started by that mark, even one that called setsid. Each stream passes
// through `head -c`, which keeps the first <limit> bytes, with its stdout unbuffered by stdbuf
// (it writes through stdio, which would hold the output until it exits; dd with count_bytes
// stops after one short read from a pipe); `wc -c` counts what was discarded after head's last
// read (what that read took past the limit, at most a pipe's 64 KiB, is neither kept nor counted).
// The count appears whole (written aside, then renamed): a read while wc still counted found the
// file made by the redirection and empty, and reported "0 bytes truncated".
// The exit status is written last, after both streams are closed and flushed.
const BODY = `d=$1; id=$2; limit=$3; shift 3
unset SABUILD_EXEC
if command -v stdbuf > /dev/null; then unbuffered="stdbuf -o0"; else unbuffered=; fi
cap() { $unbuffered head -c "$limit" > "$1"; wc -c > "$1.dropped.tmp" && mv "$1.dropped.tmp" "$1.dropped"; }
mkfifo "$d/err.fifo" || exit 1
cap "$d/err" < "$d/err.fifo" &
capper=$!
{ SABUILD_SHELL=$id "$@" 2> "$d/err.fifo" < /dev/null; } | cap "$d/out"
code=\${PIPESTATUS[0]}
wait "$capper"
rm -f "$d/err.fifo"
echo "$code" > "$d/exit.tmp" && mv "$d/exit.tmp" "$d/exit"`;

const LAUNCH = `d=${ROOT}/$1
mkdir -p "$d" || exit 1
: > "$d/out"; : > "$d/err"
if command -v setsid > /dev/null; then detach=setsid; else detach=; fi
$detach bash -c "$3" sabuild-shell "$d" "$1" "$2" "\${@:4}" > /dev/null 2>&1 < /dev/null &`;

// Prints the status first ("running", "killed" or "exit <code>"), then for stdout and stderr a
// line "<size> <dropped or -> <base64 of the bytes from the offset to that size>". The status is
// read before the streams, so a shell seen as ended has all its output already in the files.
const READ = `d=${ROOT}/$1
[ -d "$d" ] || exit 3
if [ -e "$d/killed" ]; then echo killed; elif [ -e "$d/exit" ]; then echo "exit $(cat "$d/exit")"; else echo running; fi
chunk() {
  size=$(stat -c %s "$d/$1")
  dropped=-; [ -e "$d/$1.dropped" ] && dropped=$(cat "$d/$1.dropped")
  printf '%s %s ' "$size" "$dropped"
  if [ "$size" -gt "$2" ]; then tail -c +$(($2 + 1)) "$d/$1" | head -c $((size - $2)) | base64 -w 0; fi
  echo
}
chunk out "$2"
chunk err "$3"`;

// Marks the shell killed before killing, so its status reads "killed" and not the exit status
// the dying pipeline writes.
const KILL = `d=${ROOT}/$1
[ -d "$d" ] || exit 3
[ -e "$d/killed" ] && { echo killed; exit 9; }
[ -e "$d/exit" ] && { echo "exit $(cat "$d/exit")"; exit 9; }
: > "$d/killed"
for p in /proc/[0-9]*; do
  if tr '\\0' '\\n' < "$p/environ" 2>/dev/null | grep -qx "SABUILD_SHELL=$1"; then kill -KILL "\${p#/proc/}" 2>/dev/null; fi
done
true`;

/** Claude Code's names for a shell's state. */
export type ShellStatus = "running" | "completed" | "failed" | "killed";

/** Starts the command in the background and returns its id; the shell runs until it ends or is killed. */
export async function startShell(ctx: ToolContext, command: string): Promise<string> {
  const shells = sessionState(ctx.sandbox).shells;
  let id = randomBytes(3).toString("hex");
  while (shells.has(id)) id = randomBytes(3).toString("hex");
  const limit = String(ctx.sandbox.limits.outputLimitBytes);
  const result = await runScript(ctx, LAUNCH, [id, limit, BODY, ...shellArgv(command, { keepCwd: false })]);
  if (result.exitCode !== 0) throw new ToolFailure(`Could not start the background shell: ${result.stderr.trim() || `exit code ${result.exitCode}`}`);
  shells.set(id, { id, command, read: { out: 0, err: 0 }, limitNoted: { out: "none", err: "none" } });
  return id;
}

export function knownShell(ctx: ToolContext, id: string): BackgroundShell {
  const shell = sessionState(ctx.sandbox).shells.get(id);
  if (!shell) throw new ToolFailure(`No shell found with ID: ${id}`);
  return shell;
}

export interface ShellOutput {
  status: ShellStatus;
  exitCode?: number;
  stdout: string;
  stderr: string;
}

/** The output the model has not seen yet, and the shell's status; advances what counts as read. */
export async function readShell(ctx: ToolContext, shell: BackgroundShell): Promise<ShellOutput> {
  const result = await runScript(ctx, READ, [shell.id, String(shell.read.out), String(shell.read.err)]);
  if (result.exitCode !== 0) throw new ToolFailure(`Could not read shell ${shell.id}: ${result.stderr.trim() || `exit code ${result.exitCode}`}`);
  const [statusLine = "", outLine = "", errLine = ""] = result.stdout.split("\n");
  const { status, exitCode } = parseStatus(statusLine);
  const ended = status !== "running";
  const limit = ctx.sandbox.limits.outputLimitBytes;
  return {
    status,
    ...(exitCode === undefined ? {} : { exitCode }),
    stdout: takeChunk(shell, "out", outLine, ended, limit),
    stderr: takeChunk(shell, "err", errLine, ended, limit),
  };
}

/** Kills the shell's processes; a shell that already ended is reported with its status. */
export async function killShell(ctx: ToolContext, shell: BackgroundShell): Promise<{ killed: true } | { killed: false; status: ShellStatus }> {
  const result = await runScript(ctx, KILL, [shell.id]);
  if (result.exitCode === 9) return { killed: false, status: parseStatus(result.stdout.trim()).status };
  if (result.exitCode !== 0) throw new ToolFailure(`Could not kill shell ${shell.id}: ${result.stderr.trim() || `exit code ${result.exitCode}`}`);
  return { killed: true };
}

function parseStatus(line: string): { status: ShellStatus; exitCode?: number } {
  if (line === "killed") return { status: "killed" };
  const m = /^exit (\d+)$/.exec(line);
  if (!m) return { status: "running" };
  const exitCode = Number(m[1]);
  return { status: exitCode === 0 ? "completed" : "failed", exitCode };
}

/** Decodes a stream's new bytes and moves the read offset past them. */
function takeChunk(shell: BackgroundShell, stream: "out" | "err", line: string, ended: boolean, limit: number): string {
  const [size = "0", field = "-", data = ""] = line.split(" ");
  // Anything but a count is not known yet (as "-": the stream is still being written).
  const dropped = /^\d+$/.test(field) ? field : "-";
  let bytes = Buffer.from(data, "base64");
  // A character cut by a read that came while it was being written waits for the next read.
  if (!ended) bytes = bytes.subarray(0, completeUtf8Length(bytes));
  shell.read[stream] += bytes.length;
  let text = bytes.toString("utf8");
  // A read while the command still writes says the limit was reached; the first read after the
  // stream closed says how much was discarded (once each: a read that comes late says both).
  const noted = shell.limitNoted[stream];
  if (noted !== "counted" && Number(size) >= limit && shell.read[stream] === Number(size)) {
    if (dropped !== "-") {
      shell.limitNoted[stream] = "counted";
      if (dropped !== "0") text += truncationMarker(Number(dropped));
    } else if (noted === "none") {
      shell.limitNoted[stream] = "reached";
      text += `\n[... output limit of ${limit} bytes reached: later output is discarded ...]\n`;
    }
  }
  return text;
}

/** The length of the longest prefix that does not end inside a UTF-8 character. */
export function completeUtf8Length(buf: Buffer): number {
  for (let back = 1; back <= Math.min(4, buf.length); back++) {
    const b = buf[buf.length - back]!;
    if ((b & 0xc0) === 0x80) continue;
    const need = b >= 0xf0 ? 4 : b >= 0xe0 ? 3 : b >= 0xc0 ? 2 : 1;
    return need > back ? buf.length - back : buf.length;
  }
  return buf.length;
}
