/**
 * Requests-per-minute and tokens-per-minute limits as token buckets.
 *
 * Requests: a bucket of one, refilled every 60000/rpm ms, so requests are spaced evenly rather
 * than sent in a burst the endpoint would answer with 429s. Tokens: a bucket holding a minute's
 * worth (tpm), refilled continuously. A request reserves its estimated tokens (prompt estimate
 * + max_tokens, which is how OpenAI counts against the limit) and, once its usage is known,
 * gives back or takes the difference. A single request larger than the bucket waits for a full
 * bucket and then goes, so it cannot wait forever.
 */
export class RateLimiter {
  private requestCredit = 1;
  private tokenCredit: number;
  private last = performance.now();
  private readonly waiters = new Set<() => void>();

  constructor(private readonly limits: { rpm?: number; tpm?: number }) {
    this.tokenCredit = limits.tpm ?? 0;
  }

  /** Waits until a request of `tokens` estimated tokens may go; returns a settle function. */
  async acquire(tokens: number, signal?: AbortSignal): Promise<(actualTokens?: number) => void> {
    const { rpm, tpm } = this.limits;
    if (rpm === undefined && tpm === undefined) return () => {};
    for (;;) {
      signal?.throwIfAborted();
      this.refill();
      const requestWait = rpm === undefined || this.requestCredit >= 1 ? 0 : ((1 - this.requestCredit) * 60_000) / rpm;
      const need = tpm === undefined ? 0 : Math.min(tokens, tpm);
      const tokenWait = tpm === undefined || this.tokenCredit >= need ? 0 : ((need - this.tokenCredit) * 60_000) / tpm;
      if (requestWait === 0 && tokenWait === 0) break;
      await this.sleep(Math.max(requestWait, tokenWait), signal);
    }
    if (rpm !== undefined) this.requestCredit -= 1;
    if (tpm !== undefined) this.tokenCredit -= tokens;
    let settled = false;
    return (actualTokens) => {
      if (settled || tpm === undefined) return;
      settled = true;
      this.refill();
      this.tokenCredit = Math.min(tpm, this.tokenCredit + tokens - (actualTokens ?? 0));
      for (const wake of this.waiters) wake();
    };
  }

  private refill(): void {
    const now = performance.now();
    const elapsed = now - this.last;
    this.last = now;
    const { rpm, tpm } = this.limits;
    if (rpm !== undefined) this.requestCredit = Math.min(1, this.requestCredit + (elapsed * rpm) / 60_000);
    if (tpm !== undefined) this.tokenCredit = Math.min(tpm, this.tokenCredit + (elapsed * tpm) / 60_000);
  }

  /** Sleeps until the computed time, or earlier when a request gives tokens back. */
  private sleep(ms: number, signal?: AbortSignal): Promise<void> {
    return new Promise((resolve, reject) => {
      const cleanup = (): void => {
        clearTimeout(timer);
        this.waiters.delete(wake);
        signal?.removeEventListener("abort", onAbort);
      };
      const wake = (): void => {
        cleanup();
        resolve();
      };
      const onAbort = (): void => {
        cleanup();
        reject(signal!.reason);
      };
      const timer = setTimeout(wake, Math.ceil(ms));
      this.waiters.add(wake);
      signal?.addEventListener("abort", onAbort, { once: true });
    });
  }
}

/** An abortable sleep (retry backoff). */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(signal!.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}
