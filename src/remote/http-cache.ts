import { createHash } from "node:crypto";
import { createReadStream, createWriteStream } from "node:fs";
import http, { type IncomingMessage } from "node:http";
import https from "node:https";
import { Transform } from "node:stream";
import { pipeline } from "node:stream/promises";
import { rawGetToFile } from "./raw-get.js";

/** The server could not be reached or misbehaved: the build goes on without it. */
export class RemoteUnavailable extends Error {
  override readonly name = "RemoteUnavailable";
}

/** A request for a small object (HEAD, an action result, a manifest) must finish within this. */
const SMALL_TIMEOUT_MS = 30_000;
/** A blob transfer may take long, but not stall this long without a byte moving. */
const IDLE_TIMEOUT_MS = 120_000;
const CHUNK = 1 << 20;
/** Blobs above this are written and hashed in parallel (a worker hashes behind the writer). */
const LARGE = 64 * CHUNK;

type Body = Buffer | { path: string; size: number; onBytes?: (n: number) => void };

/**
 * A client of the Bazel HTTP cache protocol: blobs at `/cas/<sha256>`, action results at
 * `/ac/<key>`, with GET, PUT, HEAD (and DELETE for pruning). bazel-remote, nginx with WebDAV PUT
 * or an S3 gateway serve it unchanged. Built on node:http rather than fetch: blobs stream both
 * ways with real backpressure (a multi-GB GGUF never sits in memory) at the speed of curl.
 */
export class HttpCache {
  private readonly agent: http.Agent;
  private readonly url: URL;

  constructor(
    readonly base: string,
    private readonly headers: Record<string, string>,
  ) {
    this.url = new URL(base);
    const Agent = this.url.protocol === "https:" ? https.Agent : http.Agent;
    this.agent = new Agent({ keepAlive: true, maxSockets: 16 });
  }

  /** Closes idle connections (a CLI run simply exits). */
  close(): void {
    this.agent.destroy();
  }

  private send(method: string, path: string, body?: Body, small = true, extra: Record<string, string> = {}): Promise<IncomingMessage> {
    const target = new URL(`${this.base}${path}`);
    const where = `${method} ${target.href}`;
    const client = target.protocol === "https:" ? https : http;
    return new Promise((resolve, reject) => {
      const fail = (e: Error & { code?: string }): void => reject(new RemoteUnavailable(`${where}: ${e.code ?? e.message}`));
      const length = body === undefined ? undefined : Buffer.isBuffer(body) ? body.length : body.size;
      const req = client.request(target, {
        method,
        agent: this.agent,
        headers: { ...this.headers, ...extra, ...(length !== undefined ? { "content-length": String(length) } : {}) },
      });
      req.setTimeout(small ? SMALL_TIMEOUT_MS : IDLE_TIMEOUT_MS, () => req.destroy(Object.assign(new Error("timed out"), { code: "ETIMEDOUT" })));
      req.on("error", fail);
      req.on("response", (res) => {
        if (res.statusCode !== undefined && (res.statusCode >= 500 || [401, 403, 429].includes(res.statusCode))) {
          res.resume();
          reject(new RemoteUnavailable(`${where}: HTTP ${res.statusCode}`));
        } else resolve(res);
      });
      if (body === undefined) req.end();
      else if (Buffer.isBuffer(body)) req.end(body);
      else {
        const file = createReadStream(body.path, { highWaterMark: CHUNK });
        const onBytes = body.onBytes;
        if (onBytes) file.on("data", (chunk) => onBytes(chunk.length));
        pipeline(file, req).catch(fail);
      }
    });
  }

  private static async drain(res: IncomingMessage): Promise<void> {
    res.resume();
    await new Promise((resolve) => (res.complete ? resolve(undefined) : res.once("end", resolve).once("error", resolve)));
  }

  private static async text(res: IncomingMessage): Promise<Buffer> {
    const chunks: Buffer[] = [];
    for await (const chunk of res) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks);
  }

  async hasBlob(digest: string): Promise<boolean> {
    const res = await this.send("HEAD", `/cas/${digest}`);
    await HttpCache.drain(res);
    return res.statusCode === 200;
  }

  /**
   * Streams a blob into `dest` and returns the sha256 of what arrived (the caller compares it
   * with the name), or undefined when the server does not have it. `expectedSize` (from the
   * manifest) picks the way: a large blob over plain HTTP is read straight off a socket.
   */
  async getBlob(digest: string, dest: string, onBytes?: (n: number) => void, expectedSize = 0): Promise<string | undefined> {
    if (expectedSize > LARGE && this.url.protocol === "http:") {
      const path = `/cas/${digest}`;
      const raw = await rawGetToFile(new URL(`${this.base}${path}`), this.headers, dest, { idleTimeoutMs: IDLE_TIMEOUT_MS, ...(onBytes ? { onBytes } : {}) }).catch((e: Error & { code?: string }) => {
        throw new RemoteUnavailable(`GET ${path}: ${e.code ?? e.message}`);
      });
      if (raw.kind === "ok") return raw.digest;
      if (raw.kind === "status") {
        if (raw.status === 404) return undefined;
        throw new RemoteUnavailable(`GET ${path}: HTTP ${raw.status}`);
      }
      // Chunked or encoded: node:http below decodes it.
    }
    const res = await this.send("GET", `/cas/${digest}`, undefined, false);
    if (res.statusCode !== 200) {
      await HttpCache.drain(res);
      if (res.statusCode === 404) return undefined;
      throw new RemoteUnavailable(`GET /cas/${digest}: HTTP ${res.statusCode}`);
    }
    const size = Number(res.headers["content-length"] ?? 0);
    // Large blobs: written with vectored writes while a worker hashes the file behind the writer,
    // so the socket thread never hashes (measured: curl's pace for a 2 GiB blob on two cores).
    if (size > LARGE) {
      const { followHashWriter } = await import("../store/follow-hash.js");
      const sink = await followHashWriter(dest, { highWaterMark: 16 * CHUNK, ...(onBytes ? { onBytes } : {}) });
      try {
        await pipeline(res, sink.writable);
      } catch (e) {
        await sink.digest().catch(() => undefined);
        throw new RemoteUnavailable(`GET /cas/${digest}: ${(e as Error).message}`);
      }
      return sink.digest();
    }
    const hash = createHash("sha256");
    // Big buffers on both sides: the socket's 64 KiB chunks reach the disk in big writes.
    const tap = new Transform({
      highWaterMark: 4 * CHUNK,
      transform(chunk: Buffer, _enc, done) {
        hash.update(chunk);
        onBytes?.(chunk.length);
        done(null, chunk);
      },
    });
    try {
      await pipeline(res, tap, createWriteStream(dest, { highWaterMark: 4 * CHUNK }));
    } catch (e) {
      throw new RemoteUnavailable(`GET /cas/${digest}: ${(e as Error).message}`);
    }
    return hash.digest("hex");
  }

  async putBlob(digest: string, path: string, size: number, onBytes?: (n: number) => void): Promise<void> {
    const res = await this.send("PUT", `/cas/${digest}`, { path, size, ...(onBytes ? { onBytes } : {}) }, false, { "content-type": "application/octet-stream" });
    await HttpCache.drain(res);
    if (!ok(res)) throw new RemoteUnavailable(`PUT /cas/${digest}: HTTP ${res.statusCode}`);
  }

  /** A small blob (a manifest) read into memory; undefined when absent. */
  async getSmallBlob(digest: string): Promise<Buffer | undefined> {
    const res = await this.send("GET", `/cas/${digest}`);
    if (res.statusCode !== 200) return void (await HttpCache.drain(res));
    return HttpCache.text(res);
  }

  async getAction(key: string): Promise<Buffer | undefined> {
    const res = await this.send("GET", `/ac/${key}`);
    if (res.statusCode !== 200) return void (await HttpCache.drain(res));
    return HttpCache.text(res);
  }

  async putAction(key: string, data: Buffer): Promise<void> {
    const res = await this.send("PUT", `/ac/${key}`, data, true, { "content-type": "application/json" });
    await HttpCache.drain(res);
    if (!ok(res)) throw new RemoteUnavailable(`PUT /ac/${key}: HTTP ${res.statusCode}`);
  }

  /**
   * Lists `/cas/` or `/ac/`. Not part of the Bazel protocol: it needs a server that lists
   * directories as JSON (nginx `autoindex on; autoindex_format json;`); undefined otherwise.
   */
  async list(kind: "cas" | "ac"): Promise<{ name: string; mtime: Date; size: number }[] | undefined> {
    const res = await this.send("GET", `/${kind}/`, undefined, true, { accept: "application/json" });
    if (res.statusCode === 404) {
      await HttpCache.drain(res);
      return [];
    }
    const text = (await HttpCache.text(res)).toString("utf8");
    try {
      const rows = JSON.parse(text) as { name: string; type: string; mtime: string; size?: number }[];
      return rows.filter((r) => r.type === "file").map((r) => ({ name: r.name, mtime: new Date(r.mtime), size: r.size ?? 0 }));
    } catch {
      return undefined;
    }
  }

  /** DELETE; false when the server refuses it (many caches do not allow it). */
  async remove(kind: "cas" | "ac", name: string): Promise<boolean> {
    const res = await this.send("DELETE", `/${kind}/${name}`);
    await HttpCache.drain(res);
    return ok(res) || res.statusCode === 404;
  }
}

function ok(res: IncomingMessage): boolean {
  return res.statusCode !== undefined && res.statusCode >= 200 && res.statusCode < 300;
}
