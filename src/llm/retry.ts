/** When and how long to wait before sending a failed request again. */
export interface RetryPolicy {
  /** Attempts after the first (default 6). */
  maxRetries: number;
  /** First backoff, doubled each retry (default 1000 ms). */
  baseDelayMs: number;
  /** Cap of one backoff (default 60 s). */
  maxDelayMs: number;
  /** A Retry-After longer than this is not waited for: the call fails at once (default 300 s). */
  maxRetryAfterMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = { maxRetries: 6, baseDelayMs: 1000, maxDelayMs: 60_000, maxRetryAfterMs: 300_000 };

/**
 * Timeouts, conflicts, rate limits and server errors are worth another try; a bad request, a
 * bad key, a forbidden model or a wrong URL will fail the same way again.
 */
export function isRetryableStatus(status: number): boolean {
  return status === 408 || status === 409 || status === 429 || status >= 500;
}

/** The server's requested wait: `retry-after-ms`, else `Retry-After` as seconds or an HTTP date. */
export function retryAfterMs(headers: Headers | undefined, now = Date.now()): number | undefined {
  const ms = headers?.get("retry-after-ms");
  if (ms && Number.isFinite(Number(ms))) return Math.max(0, Number(ms));
  const value = headers?.get("retry-after")?.trim();
  if (!value) return undefined;
  if (/^\d+(\.\d+)?$/.test(value)) return Number(value) * 1000;
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

/** Exponential backoff with jitter: a random wait in [d/2, d], d = base x 2^retry capped at max. */
export function backoffMs(retry: number, policy: RetryPolicy, random = Math.random): number {
  const d = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** retry);
  return d / 2 + random() * (d / 2);
}
