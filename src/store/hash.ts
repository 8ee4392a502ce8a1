import { availableParallelism } from "node:os";
import { readFileSync } from "node:fs";
import { readFile, stat } from "node:fs/promises";
import type { Worker } from "node:worker_threads";

/** Below this size a worker round trip costs more than it saves. */
const INLINE_LIMIT = 4 * 1024 * 1024;

/**
 * Large files hash off the event loop, in workers that read with readSync into one reused 4 MiB
 * buffer: stream-based hashing (hasha's hashFile) reaches only about half of openssl's speed here,
 * this loop about the same as openssl.
 */
const WORKER_SOURCE = `
const { parentPort } = require("node:worker_threads");
const { openSync, readSync, closeSync } = require("node:fs");
const { createHash } = require("node:crypto");
const buf = Buffer.allocUnsafe(4 << 20);
parentPort.on("message", ({ id, path }) => {
  let fd;
  try {
    fd = openSync(path, "r");
    const h = createHash("sha256");
    for (;;) {
      const n = readSync(fd, buf, 0, buf.length, null);
      if (n === 0) break;
      h.update(n === buf.length ? buf : buf.subarray(0, n));
    }
    parentPort.postMessage({ id, digest: h.digest("hex") });
  } catch (e) {
    parentPort.postMessage({ id, error: String(e && e.message || e) });
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
});
`;

interface Job {
  id: number;
  path: string;
  resolve(digest: string): void;
  reject(e: Error): void;
}

class HashPool {
  /** worker_threads is loaded only when a large file is hashed: a no-op build never does. */
  static async create(): Promise<HashPool> {
    return new HashPool((await import("node:worker_threads")).Worker);
  }

  private constructor(private readonly WorkerCtor: typeof Worker) {}

  private idle: Worker[] = [];
  private busy = new Map<Worker, Job>();
  private queue: Job[] = [];
  private nextId = 0;
  private readonly size = Math.max(1, Math.min(4, availableParallelism()));

  hash(path: string): Promise<string> {
    return new Promise((resolve, reject) => {
      this.queue.push({ id: this.nextId++, path, resolve, reject });
      this.pump();
    });
  }

  private pump(): void {
    while (this.queue.length) {
      const worker = this.idle.pop() ?? (this.busy.size < this.size ? this.spawn() : undefined);
      if (!worker) return;
      const job = this.queue.shift()!;
      this.busy.set(worker, job);
      // A worker with work keeps the process alive; idle ones must not.
      worker.ref();
      worker.postMessage({ id: job.id, path: job.path });
    }
  }

  private spawn(): Worker {
    const worker = new this.WorkerCtor(WORKER_SOURCE, { eval: true });
    worker.on("message", (m: { id: number; digest?: string; error?: string }) => {
      const job = this.busy.get(worker);
      this.busy.delete(worker);
      worker.unref();
      this.idle.push(worker);
      if (job) {
        if (m.digest) job.resolve(m.digest);
        else job.reject(Object.assign(new Error(m.error ?? "hashing failed"), { path: job.path }));
      }
      this.pump();
    });
    worker.on("error", (e) => {
      const job = this.busy.get(worker);
      this.busy.delete(worker);
      job?.reject(e);
      this.pump();
    });
    return worker;
  }
}

let pool: Promise<HashPool> | undefined;

let hasha: Promise<typeof import("hasha")> | undefined;

/**
 * sha256 of bytes in memory. hasha is loaded on first use (a no-op build never hashes), and
 * kept: a dynamic import of a loaded module still resolves it again, which cost more than
 * hashing the few hundred bytes of a typical store write.
 */
export async function hashBytes(data: string | Uint8Array): Promise<string> {
  const { hashSync } = await (hasha ??= import("hasha"));
  return hashSync(data, { algorithm: "sha256" });
}

/** Up to this size a file is read in place, not through the thread pool (see store/atomic.ts). */
const SYNC_READ_LIMIT = 64 * 1024;

/** sha256 of a file's content. */
export async function hashPath(path: string, size?: number): Promise<string> {
  const bytes = size ?? (await stat(path)).size;
  if (bytes <= SYNC_READ_LIMIT) return hashBytes(readFileSync(path));
  if (bytes <= INLINE_LIMIT) return hashBytes(await readFile(path));
  pool ??= HashPool.create();
  return (await pool).hash(path);
}
