import { nodeCrypto } from "../builtin.js";
import { mkdir, rename, rm, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";

/** A unique name for a temp file or directory beside its final place (same filesystem). */
export function tempName(dir: string, prefix = ".tmp"): string {
  return join(dir, `${prefix}-${process.pid}-${nodeCrypto().randomBytes(6).toString("hex")}`);
}

/** Writes a file so that readers see the old content or the new one, never a half-written one. */
export async function writeFileAtomic(path: string, data: string | Uint8Array): Promise<void> {
  const dir = dirname(path);
  await mkdir(dir, { recursive: true });
  const tmp = tempName(dir);
  try {
    await writeFile(tmp, data);
    await rename(tmp, path);
  } catch (e) {
    await rm(tmp, { force: true });
    throw e;
  }
}
