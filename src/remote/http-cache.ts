import { createHash } from "node:crypto";
import { createReadStream, createWriteStream } from "node:fs";
import { Readable, Transform } from "node:stream";
import { pipeline } from "node:stream/promises";

/** The server could not be reached or misbehaved: the build goes on without it. */
export class RemoteUnavailable extends Error {
  override readonly name = "RemoteUnavailable";
}

/** A request that small objects (HEAD, action results) must finish within. */
const SMALL_TIMEOUT_MS = 30_000;

/**
 * A client of the Bazel HTTP cache protocol: blobs at `/cas/<sha256>`, action results at
 * `/ac/<key>`, with GET, PUT, HEAD (and DELETE for pruning). bazel-remote, nginx with WebDAV PUT
 * or an S3 gateway serve it unchanged. Blobs stream both ways; nothing large sits in memory.
 */
export class HttpCache {
  constructor(
    readonly base: string,
    private readonly headers: Record<string, string>,
  ) {}

  private async request(method: string, path: string, init: RequestInit = {}, timeout = true): Promise<Response> {
    const url = `${this.base}${path}`;
    let res: Response;
    try {
      res = await fetch(url, {
        method,
        ...init,
        headers: { ...this.headers, ...(init.headers as Record<string, string> | undefined) },
        ...(timeout ? { signal: AbortSignal.timeout(SMALL_TIMEOUT_MS) } : {}),
      });
    } catch (e) {
      const cause = (e as { cause?: { code?: string; message?: string } }).cause;
      throw new RemoteUnavailable(`${method} ${url}: ${cause?.code ?? cause?.message ?? (e as Error).message}`);
    }
    if (res.status >= 500 || res.status === 401 || res.status === 403 || res.status === 429) {
      await res.body?.cancel();
      throw new RemoteUnavailable(`${method} ${url}: HTTP ${res.status}`);
    }
    return res;
  }

  async hasBlob(digest: string): Promise<boolean> {
    const res = await this.request("HEAD", `/cas/${digest}`);
    await res.body?.cancel();
    return res.ok;
  }

  /**
   * Streams a blob into `dest` and returns the sha256 of what arrived (the caller compares it
   * with the name), or undefined when the server does not have it.
   */
  async getBlob(digest: string, dest: string, onBytes?: (n: number) => void): Promise<string | undefined> {
    const res = await this.request("GET", `/cas/${digest}`, {}, false);
    if (res.status === 404 || !res.body) {
      await res.body?.cancel();
      return undefined;
    }
    if (!res.ok) {
      await res.body.cancel();
      throw new RemoteUnavailable(`GET /cas/${digest}: HTTP ${res.status}`);
    }
    const hash = createHash("sha256");
    const tap = new Transform({
      transform(chunk: Buffer, _enc, done) {
        hash.update(chunk);
        onBytes?.(chunk.length);
        done(null, chunk);
      },
    });
    try {
      await pipeline(Readable.fromWeb(res.body as never), tap, createWriteStream(dest));
    } catch (e) {
      throw new RemoteUnavailable(`GET /cas/${digest}: ${(e as Error).message}`);
    }
    return hash.digest("hex");
  }

  async putBlob(digest: string, path: string, size: number): Promise<void> {
    const body = Readable.toWeb(createReadStream(path, { highWaterMark: 1 << 20 })) as ReadableStream;
    const res = await this.request("PUT", `/cas/${digest}`, { body, duplex: "half", headers: { "content-length": String(size) } } as RequestInit, false);
    await res.body?.cancel();
    if (!res.ok) throw new RemoteUnavailable(`PUT /cas/${digest}: HTTP ${res.status}`);
  }

  /**
   * Lists `/cas/` or `/ac/`. Not part of the Bazel protocol: it needs a server that lists
   * directories as JSON (nginx `autoindex on; autoindex_format json;`); undefined otherwise.
   */
  async list(kind: "cas" | "ac"): Promise<{ name: string; mtime: Date; size: number }[] | undefined> {
    const res = await this.request("GET", `/${kind}/`, { headers: { accept: "application/json" } });
    if (res.status === 404) {
      await res.body?.cancel();
      return [];
    }
    const text = await res.text();
    try {
      const rows = JSON.parse(text) as { name: string; type: string; mtime: string; size?: number }[];
      return rows.filter((r) => r.type === "file").map((r) => ({ name: r.name, mtime: new Date(r.mtime), size: r.size ?? 0 }));
    } catch {
      return undefined;
    }
  }

  /** DELETE; false when the server refuses it (many caches do not allow it). */
  async remove(kind: "cas" | "ac", name: string): Promise<boolean> {
    const res = await this.request("DELETE", `/${kind}/${name}`);
    await res.body?.cancel();
    return res.ok || res.status === 404;
  }

  /** A small blob (a manifest) read into memory; undefined when absent. */
  async getSmallBlob(digest: string): Promise<Buffer | undefined> {
    const res = await this.request("GET", `/cas/${digest}`);
    if (!res.ok) {
      await res.body?.cancel();
      return undefined;
    }
    return Buffer.from(await res.arrayBuffer());
  }

  async getAction(key: string): Promise<Buffer | undefined> {
    const res = await this.request("GET", `/ac/${key}`);
    if (!res.ok) {
      await res.body?.cancel();
      return undefined;
    }
    return Buffer.from(await res.arrayBuffer());
  }

  async putAction(key: string, data: Buffer): Promise<void> {
    const res = await this.request("PUT", `/ac/${key}`, { body: data, headers: { "content-type": "application/json" } });
    await res.body?.cancel();
    if (!res.ok) throw new RemoteUnavailable(`PUT /ac/${key}: HTTP ${res.status}`);
  }
}
