import { readFile, stat } from "node:fs/promises";
import { hashFile, hashSync } from "hasha";

/** Below this size a worker thread costs more than it saves. */
const INLINE_LIMIT = 4 * 1024 * 1024;

/** sha256 of a file's content; large files hash in hasha's worker thread, off the event loop. */
export async function hashPath(path: string, size?: number): Promise<string> {
  const bytes = size ?? (await stat(path)).size;
  if (bytes <= INLINE_LIMIT) return hashSync(await readFile(path), { algorithm: "sha256" });
  return hashFile(path, { algorithm: "sha256" });
}
