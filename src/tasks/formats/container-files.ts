import { readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import type { ContainerFile } from "../../envs/types.js";
import { filesUnder } from "./sources.js";

const strictUtf8 = new TextDecoder("utf-8", { fatal: true });

/**
 * One host file as a ContainerFile: text stays readable in tasks.jsonl, anything else (invalid
 * UTF-8, NUL bytes) goes as base64. The executable bit travels as mode 0o755: test.sh and
 * solve.sh are run by path in some tasks, and a digest of the content does not carry it.
 */
export function containerFile(abs: string, target: string): ContainerFile {
  const bytes = readFileSync(abs);
  let content: string | undefined;
  if (!bytes.includes(0)) {
    try {
      content = strictUtf8.decode(bytes);
    } catch {
      content = undefined;
    }
  }
  const executable = (statSync(abs).mode & 0o111) !== 0;
  return {
    path: target,
    ...(content !== undefined ? { content, encoding: "utf8" as const } : { content: bytes.toString("base64"), encoding: "base64" as const }),
    ...(executable ? { mode: 0o755 } : {}),
  };
}

/** Every file under a host directory, placed under `targetDir` in the container (same relative paths). */
export function containerFilesUnder(absDir: string, targetDir: string): ContainerFile[] {
  return filesUnder(absDir).map((rel) => containerFile(join(absDir, rel), `${targetDir.replace(/\/$/, "")}/${rel}`));
}
