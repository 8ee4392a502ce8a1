import { lookup as dnsLookup, type LookupAddress } from "node:dns";
import { request as httpRequest, type IncomingMessage, type RequestOptions } from "node:http";
import { request as httpsRequest } from "node:https";
import { isIP, type LookupFunction } from "node:net";
import { createBrotliDecompress, createGunzip, createInflate } from "node:zlib";
import { pipeline, type Readable } from "node:stream";
import { err, ok, type Result } from "../result.js";
import { hostAllowed, refusedAddress, type AllowList } from "./address.js";

/** A page as fetched: where the redirects ended, and its bytes (decompressed). */
export interface FetchedPage {
  url: string;
  status: number;
  contentType: string;
  body: Buffer;
  /** Every URL requested, the first one included. */
  hops: string[];
}

export type FetchFailure =
  | { reason: "scheme"; message: string }
  | { reason: "refused"; message: string }
  | { reason: "too-large"; message: string }
  | { reason: "timeout"; message: string }
  | { reason: "redirects"; message: string }
  | { reason: "status"; message: string; status: number }
  | { reason: "network"; message: string };

export interface GuardedFetchOptions {
  allow: AllowList;
  maxBytes: number;
  timeoutMs: number;
  maxRedirects: number;
  signal?: AbortSignal;
}

const REDIRECTS = new Set([301, 302, 303, 307, 308]);

/**
 * GET with the address guard on every hop. Redirects are followed here rather than by the HTTP
 * client, so each Location is checked (scheme, then the address its host resolves to) before it
 * is requested. The guard sits in the connection's DNS lookup: the address checked is the one
 * connected to, so a name that resolves differently a second time cannot slip past it.
 */
export async function guardedFetch(start: string, o: GuardedFetchOptions): Promise<Result<FetchedPage, FetchFailure>> {
  const timeout = AbortSignal.timeout(o.timeoutMs);
  const signal = o.signal ? AbortSignal.any([o.signal, timeout]) : timeout;
  const hops: string[] = [];
  let url = start;
  for (;;) {
    hops.push(url);
    const target = checkUrl(url, o.allow);
    if (!target.ok) return target;
    let res: IncomingMessage;
    try {
      res = await get(target.value, o.allow, signal);
    } catch (e) {
      return err(connectFailure(e, url, o, timeout));
    }
    const location = res.headers.location;
    if (REDIRECTS.has(res.statusCode ?? 0) && location) {
      res.resume();
      if (hops.length > o.maxRedirects) return err({ reason: "redirects", message: `more than ${o.maxRedirects} redirects (${hops.join(" -> ")})` });
      url = new URL(location, url).href;
      continue;
    }
    const status = res.statusCode ?? 0;
    if (status < 200 || status >= 300) {
      res.resume();
      return err({ reason: "status", status, message: `${url} answered HTTP ${status}${res.statusMessage ? ` ${res.statusMessage}` : ""}` });
    }
    const declared = Number(res.headers["content-length"] ?? NaN);
    if (declared > o.maxBytes) {
      res.destroy();
      return err(tooLarge(url, o.maxBytes, declared));
    }
    const body = await readCapped(decoded(res), o.maxBytes).catch((e: unknown) => e as Error);
    if (body instanceof Error) return err(body.message === "too-large" ? tooLarge(url, o.maxBytes) : connectFailure(body, url, o, timeout));
    return ok({ url, status, contentType: String(res.headers["content-type"] ?? ""), body, hops });
  }
}

function tooLarge(url: string, maxBytes: number, declared?: number): FetchFailure {
  const size = declared === undefined ? "more than that" : `${declared} bytes`;
  return { reason: "too-large", message: `${url} is larger than web.fetch.max_bytes (${maxBytes} bytes; the page is ${size})` };
}

/** Only http(s); a host given as an address is checked here, since no DNS lookup will see it. */
function checkUrl(text: string, allow: AllowList): Result<URL, FetchFailure> {
  if (!URL.canParse(text)) return err({ reason: "scheme", message: `not a valid URL: ${text}` });
  const url = new URL(text);
  if (url.protocol !== "http:" && url.protocol !== "https:") return err({ reason: "scheme", message: `only http and https URLs can be fetched, not ${url.protocol.slice(0, -1)} (${text})` });
  const host = url.hostname.replace(/^\[|\]$/g, "");
  if (isIP(host) && !hostAllowed(allow, host)) {
    const why = refusedAddress(allow, host);
    if (why) return err(refusal(text, why));
  }
  return ok(url);
}

function refusal(url: string, why: string): FetchFailure {
  return { reason: "refused", message: `refused to fetch ${url}: ${why}; add the host or its range to web.fetch.allow in subagents.yaml to permit it` };
}

/** A DNS lookup that fails when any address of the name is refused (and the name is not allow-listed). */
function guardedLookup(allow: AllowList, url: string): LookupFunction {
  return (hostname, options, callback) => {
    dnsLookup(hostname, { ...options, all: true }, (error, addresses: LookupAddress[]) => {
      if (error) return callback(error, "", 4);
      if (!hostAllowed(allow, hostname)) {
        for (const a of addresses) {
          const why = refusedAddress(allow, a.address);
          if (why) return callback(new RefusedError(refusal(url, `${hostname} resolves to ${why}`)), "", 4);
        }
      }
      if (options.all) return (callback as unknown as (e: null, all: LookupAddress[]) => void)(null, addresses);
      const first = addresses[0]!;
      callback(null, first.address, first.family);
    });
  };
}

class RefusedError extends Error {
  constructor(readonly failure: FetchFailure) {
    super(failure.message);
  }
}

function get(url: URL, allow: AllowList, signal: AbortSignal): Promise<IncomingMessage> {
  const options: RequestOptions = {
    method: "GET",
    signal,
    lookup: guardedLookup(allow, url.href),
    headers: { "user-agent": "sabuild-webfetch/1", accept: "text/html,application/xhtml+xml,text/markdown,text/plain;q=0.9,*/*;q=0.5", "accept-encoding": "gzip, deflate, br" },
  };
  const request = url.protocol === "https:" ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const req = request(url, options, resolve);
    req.on("error", reject);
    req.end();
  });
}

function connectFailure(e: unknown, url: string, o: GuardedFetchOptions, timeout: AbortSignal): FetchFailure {
  if (e instanceof RefusedError) return e.failure;
  if (timeout.aborted) return { reason: "timeout", message: `${url} did not answer within web.fetch.timeout_ms (${o.timeoutMs} ms)` };
  return { reason: "network", message: `fetching ${url} failed: ${(e as Error).message}` };
}

/** The decompressed body; pipeline() carries an aborted response's error into the decoder. */
function decoded(res: IncomingMessage): Readable {
  const encoding = String(res.headers["content-encoding"] ?? "").trim().toLowerCase();
  const decoder = encoding === "gzip" || encoding === "x-gzip" ? createGunzip() : encoding === "deflate" ? createInflate() : encoding === "br" ? createBrotliDecompress() : undefined;
  if (!decoder) return res;
  pipeline(res, decoder, () => undefined);
  return decoder;
}

/** The body, counted after decompression so a small compressed page cannot expand past the cap. */
async function readCapped(stream: Readable, maxBytes: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of stream) {
    size += (chunk as Buffer).length;
    if (size > maxBytes) {
      stream.destroy();
      throw new Error("too-large");
    }
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}
