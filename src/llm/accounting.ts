import { BudgetExceededError, type Usage } from "./types.js";

/** Spending of one label (or of everything): what summaries and ctx.progress report. */
export interface UsageTotals {
  /** Requests sent to the endpoint (successful ones; retries of one call count once). */
  requests: number;
  /** Calls answered from the response cache: no request, no cost. */
  cached_requests: number;
  /** Tokens and USD of the requests sent (cache hits add nothing). */
  prompt_tokens: number;
  completion_tokens: number;
  cost_usd: number;
  /** Requests whose usage the endpoint did not report (their tokens are estimates). */
  estimated_usage_requests: number;
}

export interface MeterLabel {
  subagent?: string;
  stage?: string;
}

export function emptyTotals(): UsageTotals {
  return { requests: 0, cached_requests: 0, prompt_tokens: 0, completion_tokens: 0, cost_usd: 0, estimated_usage_requests: 0 };
}

/**
 * Token and cost accounting, aggregated by "subagent:stage". A stage reads `total().cost_usd`
 * for ctx.progress and writes `summary()` into its output.
 */
export class Meter {
  private readonly totals = emptyTotals();
  private readonly labels = new Map<string, UsageTotals>();

  record(label: MeterLabel | undefined, entry: { usage: Usage; costUsd: number; cached: boolean; usageEstimated?: boolean }): void {
    const key = labelKey(label);
    let byLabel = this.labels.get(key);
    if (!byLabel) this.labels.set(key, (byLabel = emptyTotals()));
    for (const t of [this.totals, byLabel]) {
      if (entry.cached) {
        t.cached_requests++;
        continue;
      }
      t.requests++;
      t.prompt_tokens += entry.usage.prompt_tokens;
      t.completion_tokens += entry.usage.completion_tokens;
      t.cost_usd += entry.costUsd;
      if (entry.usageEstimated) t.estimated_usage_requests++;
    }
  }

  total(): UsageTotals {
    return { ...this.totals };
  }

  /** Totals per "subagent:stage" label ("-" for a part not given), sorted by label. */
  summary(): Record<string, UsageTotals> {
    return Object.fromEntries([...this.labels.entries()].sort(([a], [b]) => (a < b ? -1 : 1)).map(([k, v]) => [k, { ...v }]));
  }
}

export function labelKey(label: MeterLabel | undefined): string {
  return `${label?.subagent ?? "-"}:${label?.stage ?? "-"}`;
}

export interface BudgetLimits {
  tokens?: number;
  usd?: number;
}

/**
 * A spending limit shared by the concurrent calls of a stage. Checked before each request:
 * once either limit is reached, further requests throw BudgetExceededError while requests
 * already in flight finish (so the spend may pass the limit by up to `concurrency` calls).
 * Cache hits cost nothing and are served even when the budget is spent: a rebuild replays what
 * was paid for.
 */
export class Budget {
  private tokensSpent = 0;
  private usdSpent = 0;

  constructor(
    readonly limits: BudgetLimits,
    /** Where the limit is configured, for the error message (e.g. "traces.budget"). */
    readonly source = "budget",
  ) {}

  get spent(): { tokens: number; usd: number } {
    return { tokens: this.tokensSpent, usd: this.usdSpent };
  }

  exceeded(): string | undefined {
    const { tokens, usd } = this.limits;
    if (tokens !== undefined && this.tokensSpent >= tokens) return `${this.source}.tokens of ${tokens} reached (${this.tokensSpent} tokens spent)`;
    if (usd !== undefined && this.usdSpent >= usd) return `${this.source}.usd of $${usd} reached ($${this.usdSpent.toFixed(4)} spent)`;
    return undefined;
  }

  check(): void {
    const why = this.exceeded();
    if (why) throw new BudgetExceededError(`${why}; no further requests are sent, finished results are kept`);
  }

  charge(usage: Usage, costUsd: number): void {
    this.tokensSpent += usage.prompt_tokens + usage.completion_tokens;
    this.usdSpent += costUsd;
  }
}
