import { open } from "node:fs/promises";
import { Writable } from "node:stream";

/**
 * Writes a stream into a file while a worker thread hashes the file behind the writer, reading
 * what has reached the page cache. On two cores this takes sha256 (about a CPU-second per GiB)
 * off the thread that reads the socket and writes the disk: large downloads go at curl's pace.
 *
 * The writer publishes how many bytes are on disk (and when it is done) through shared memory;
 * the worker sleeps on it with Atomics.wait when it has caught up.
 */
const WORKER_SOURCE = `
const { workerData, parentPort } = require("node:worker_threads");
const { openSync, readSync, closeSync } = require("node:fs");
const { createHash } = require("node:crypto");
const state = new BigInt64Array(workerData.shared); // [0] bytes on disk, [1] 1 when complete, -1 when aborted
const buf = Buffer.allocUnsafe(4 << 20);
const h = createHash("sha256");
const fd = openSync(workerData.path, "r");
let pos = 0;
try {
  for (;;) {
    const written = Number(Atomics.load(state, 0));
    if (pos < written) {
      const n = readSync(fd, buf, 0, Math.min(buf.length, written - pos), pos);
      if (n === 0) throw new Error("file shorter than written");
      h.update(n === buf.length ? buf : buf.subarray(0, n));
      pos += n;
      continue;
    }
    const flag = Atomics.load(state, 1);
    if (flag === -1n) { parentPort.postMessage({ aborted: true }); break; }
    if (flag === 1n && pos >= Number(Atomics.load(state, 0))) { parentPort.postMessage({ digest: h.digest("hex"), bytes: pos }); break; }
    Atomics.wait(state, 0, BigInt(written), 50);
  }
} catch (e) {
  parentPort.postMessage({ error: String((e && e.message) || e) });
} finally {
  closeSync(fd);
}
`;

/** A worker hashing a file that is being written, up to what the writer says is on disk. */
export interface FollowHash {
  /** `bytes` more are on disk (written in order from the start). */
  advance(bytes: number): void;
  /** Everything is written: the digest settles once the worker has read it all. */
  complete(): void;
  /** The write failed: the digest rejects. */
  abort(): void;
  /** The sha256 of the whole file (after complete()); stops the worker. */
  digest(): Promise<string>;
}

/** Starts hashing `path`, which must exist (the writer has opened it). */
export async function followHash(path: string): Promise<FollowHash> {
  const { Worker } = await import("node:worker_threads");
  const shared = new SharedArrayBuffer(16);
  const state = new BigInt64Array(shared);
  const worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { path, shared } });
  const result = new Promise<string>((resolve, reject) => {
    worker.once("message", (m: { digest?: string; error?: string; aborted?: boolean }) => {
      if (m.digest) resolve(m.digest);
      else reject(new Error(m.error ?? "the download was aborted"));
    });
    worker.once("error", reject);
  });
  result.catch(() => undefined);
  let written = 0;
  const flag = (value: bigint): void => {
    Atomics.store(state, 1, value);
    Atomics.notify(state, 0);
  };
  return {
    advance(bytes) {
      written += bytes;
      Atomics.store(state, 0, BigInt(written));
      Atomics.notify(state, 0);
    },
    complete: () => flag(1n),
    abort: () => flag(-1n),
    digest: async () => {
      try {
        return await result;
      } finally {
        await worker.terminate();
      }
    },
  };
}

export interface FollowHashWriter {
  /** Pipe the source into this; it writes the file with vectored writes. */
  writable: Writable;
  /** The sha256 of everything written, once the writable has finished. */
  digest(): Promise<string>;
}

export async function followHashWriter(path: string, opts: { highWaterMark: number; onBytes?: (n: number) => void }): Promise<FollowHashWriter> {
  const fh = await open(path, "w");
  const hash = await followHash(path);
  let complete = false;
  const writable = new Writable({
    highWaterMark: opts.highWaterMark,
    writev(chunks, done) {
      const buffers = chunks.map((c) => c.chunk as Buffer);
      const size = buffers.reduce((n, b) => n + b.length, 0);
      fh.writev(buffers).then(
        (r) => {
          if (r.bytesWritten !== size) return done(new Error(`short write: ${r.bytesWritten} of ${size} bytes`));
          hash.advance(size);
          opts.onBytes?.(size);
          done();
        },
        (e: Error) => done(e),
      );
    },
    final(done) {
      fh.close().then(() => {
        complete = true;
        hash.complete();
        done();
      }, done);
    },
    // Also called after a normal finish (autoDestroy): only an unfinished write aborts the hash.
    destroy(error, done) {
      if (complete) return done(error);
      hash.abort();
      fh.close().catch(() => undefined).finally(() => done(error));
    },
  });
  return { writable, digest: () => hash.digest() };
}
