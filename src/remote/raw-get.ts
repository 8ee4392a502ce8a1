import { closeSync, openSync, writeSync } from "node:fs";
import net from "node:net";
import { followHash, type FollowHash } from "../store/follow-hash.js";

/**
 * One large blob over plain HTTP/1.1 straight from a socket into a file. node:http hands a body
 * over in 64 KiB buffers, each through the parser and the stream machinery; here the kernel
 * fills one reused 4 MiB buffer, which goes to the file as it is, while a worker hashes the file
 * behind the writer (measured on 2 GiB: half the CPU of node:http, at curl's pace).
 *
 * The file is written synchronously in the read callback: a write into the page cache takes a
 * few ms at most, and pausing the socket around asynchronous writes measured a third slower.
 *
 * Only for bodies with a Content-Length and no transfer or content coding: anything else is
 * "unsupported" and the caller uses node:http. One connection per blob, closed at the end.
 */

const READ_BUFFER = 4 << 20;
const MAX_HEAD = 64 << 10;

export type RawGetResult = { kind: "ok"; digest: string; bytes: number } | { kind: "status"; status: number } | { kind: "unsupported"; why: string };

export interface RawGetOptions {
  /** The transfer fails when no byte moves for this long. */
  idleTimeoutMs: number;
  onBytes?: (n: number) => void;
}

function requestHead(url: URL, headers: Record<string, string>): string {
  const lines = [`GET ${url.pathname}${url.search} HTTP/1.1`, `Host: ${url.host}`];
  for (const [name, value] of Object.entries(headers)) {
    // What node:http refuses too: a header that would split the request.
    if (/[\r\n]/.test(name) || /[\r\n]/.test(value)) throw new Error(`the header ${JSON.stringify(name)} contains a line break`);
    lines.push(`${name}: ${value}`);
  }
  lines.push("Accept-Encoding: identity", "Connection: close", "", "");
  return lines.join("\r\n");
}

interface Head {
  status: number;
  headers: Map<string, string>;
}

function parseHead(text: string): Head {
  const [statusLine = "", ...rest] = text.split("\r\n");
  const m = /^HTTP\/1\.[01] (\d{3})/.exec(statusLine);
  if (!m) throw new Error(`not an HTTP/1.x response: ${JSON.stringify(statusLine.slice(0, 80))}`);
  const headers = new Map<string, string>();
  for (const line of rest) {
    const i = line.indexOf(":");
    if (i > 0) headers.set(line.slice(0, i).trim().toLowerCase(), line.slice(i + 1).trim());
  }
  return { status: Number(m[1]), headers };
}

export function rawGetToFile(url: URL, headers: Record<string, string>, dest: string, opts: RawGetOptions): Promise<RawGetResult> {
  if (url.protocol !== "http:") return Promise.resolve({ kind: "unsupported", why: `${url.protocol} is not plain HTTP` });
  let request: string;
  try {
    request = requestHead(url, headers);
  } catch (e) {
    return Promise.reject(e as Error);
  }
  return new Promise<RawGetResult>((resolve, reject) => {
    let head: Head | undefined;
    let headBytes = Buffer.alloc(0);
    let remaining = 0;
    let written = 0;
    let fd: number | undefined;
    let hash: FollowHash | undefined;
    let settled = false;

    const cleanUp = (): void => {
      socket.destroy();
      if (fd !== undefined) closeSync(fd);
      fd = undefined;
    };
    const fail = (e: Error): void => {
      if (settled) return;
      settled = true;
      hash?.abort();
      try {
        cleanUp();
      } catch {
        // The error being reported matters more than one from closing.
      }
      void (hash?.digest().catch(() => undefined) ?? Promise.resolve()).then(() => reject(e));
    };
    const done = (result: RawGetResult): void => {
      if (settled) return;
      settled = true;
      void (async () => {
        cleanUp();
        if (result.kind === "ok" && hash) {
          hash.complete();
          result.digest = await hash.digest();
        }
        resolve(result);
      })().catch(reject);
    };

    /** Writes a body slice; false when reading should stop (the end, or a failure). */
    const writeBody = (chunk: Buffer): boolean => {
      const part = chunk.subarray(0, Math.min(chunk.length, remaining));
      try {
        for (let off = 0; off < part.length; ) off += writeSync(fd!, part, off, part.length - off);
      } catch (e) {
        fail(e as Error);
        return false;
      }
      written += part.length;
      remaining -= part.length;
      hash!.advance(part.length);
      opts.onBytes?.(part.length);
      if (remaining > 0) return true;
      done({ kind: "ok", digest: "", bytes: written });
      return false;
    };

    /** The response head: decides whether this transfer goes on here. */
    const onHead = (text: string, body: Buffer): void => {
      head = parseHead(text);
      if (head.status !== 200) return done({ kind: "status", status: head.status });
      const length = head.headers.get("content-length");
      const coding = [head.headers.get("transfer-encoding"), head.headers.get("content-encoding")].filter((c) => c !== undefined && c.toLowerCase() !== "identity");
      if (length === undefined || !/^\d+$/.test(length) || coding.length) {
        return done({ kind: "unsupported", why: coding.length ? `the body is sent with ${coding.join(", ")}` : "no Content-Length" });
      }
      remaining = Number(length);
      // The socket stays paused until the file and its hasher are ready.
      void (async () => {
        fd = openSync(dest, "w");
        hash = await followHash(dest);
      })().then(
        () => {
          if (settled) {
            // Failed (a timeout, the server gone) while the file was being opened: let go of it.
            hash?.abort();
            void hash?.digest().catch(() => undefined);
            if (fd !== undefined) closeSync(fd);
            fd = undefined;
            return;
          }
          if (remaining === 0) return done({ kind: "ok", digest: "", bytes: 0 });
          if (writeBody(body)) socket.resume();
        },
        (e: Error) => fail(e),
      );
    };

    const socket = net.connect({
      host: url.hostname.replace(/^\[(.*)\]$/, "$1"),
      port: Number(url.port || 80),
      onread: {
        buffer: Buffer.allocUnsafe(READ_BUFFER),
        callback(n: number, buf: Uint8Array): boolean {
          if (settled) return false;
          const chunk = Buffer.from(buf.buffer, buf.byteOffset, n);
          if (head) return writeBody(chunk);
          headBytes = Buffer.concat([headBytes, chunk]);
          const end = headBytes.indexOf("\r\n\r\n");
          if (end < 0) {
            if (headBytes.length > MAX_HEAD) fail(new Error("the response head is too large"));
            return true;
          }
          // The body's first bytes are in headBytes, a copy: the read buffer may be reused.
          try {
            onHead(headBytes.subarray(0, end).toString("latin1"), headBytes.subarray(end + 4));
          } catch (e) {
            fail(e as Error);
          }
          return false;
        },
      },
    });
    socket.setTimeout(opts.idleTimeoutMs, () => fail(Object.assign(new Error("timed out"), { code: "ETIMEDOUT" })));
    socket.once("connect", () => socket.write(request));
    socket.once("error", (e) => fail(e));
    socket.once("end", () => {
      if (!head) fail(new Error("the server closed the connection before answering"));
      else if (remaining > 0 && !settled) fail(new Error(`the server closed the connection after ${written} of ${written + remaining} bytes`));
    });
  });
}
