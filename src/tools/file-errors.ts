import type { ExecResult } from "../sandbox/types.js";

/**
 * Exit codes the tools' helper scripts use for the usual file problems, so each script checks
 * with `[ -e ]`, `[ -d ]`, `[ -r ]` in the container and the message is written once here.
 */
export const EXIT = { missing: 3, directory: 4, unreadable: 5, changed: 6, tooLarge: 7, notDirectory: 8 } as const;

/** The message for a helper script that failed on `path`. */
export function fileProblem(result: ExecResult, path: string): string {
  switch (result.exitCode) {
    case EXIT.missing:
      return `File does not exist: ${path}`;
    case EXIT.directory:
      return `${path} is a directory, not a file. Use LS or Glob to see what it holds.`;
    case EXIT.unreadable:
      return `Permission denied: ${path} cannot be read.`;
    case EXIT.notDirectory:
      return `${path} is not a directory.`;
    default: {
      if (result.timedOut) return `Reading ${path} timed out.`;
      const detail = result.stderr.trim() || result.stdout.trim();
      return `Failed on ${path}${result.exitCode === null ? "" : ` (exit code ${result.exitCode})`}${detail ? `: ${detail}` : ""}`;
    }
  }
}
