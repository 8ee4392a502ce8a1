/** Prometheus text exposition (version 0.0.4) for the gateway's counters and histograms. */

type Labels = Record<string, string>;

function labelKey(labels: Labels): string {
  const entries = Object.entries(labels).sort(([a], [b]) => a.localeCompare(b));
  return entries.length ? `{${entries.map(([k, v]) => `${k}="${v.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n")}"`).join(",")}}` : "";
}

class Counter {
  readonly values = new Map<string, number>();
  constructor(
    readonly name: string,
    readonly help: string,
  ) {}
  inc(labels: Labels, by = 1): void {
    const k = labelKey(labels);
    this.values.set(k, (this.values.get(k) ?? 0) + by);
  }
  get(labels: Labels): number {
    return this.values.get(labelKey(labels)) ?? 0;
  }
  render(): string {
    const lines = [`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} counter`];
    for (const [k, v] of this.values) lines.push(`${this.name}${k} ${v}`);
    return lines.join("\n");
  }
}

class Histogram {
  private readonly series = new Map<string, { labels: Labels; counts: number[]; sum: number; count: number }>();
  constructor(
    readonly name: string,
    readonly help: string,
    readonly buckets: number[],
  ) {}
  observe(labels: Labels, value: number): void {
    const k = labelKey(labels);
    let s = this.series.get(k);
    if (!s) this.series.set(k, (s = { labels, counts: this.buckets.map(() => 0), sum: 0, count: 0 }));
    this.buckets.forEach((b, i) => {
      if (value <= b) s!.counts[i]!++;
    });
    s.sum += value;
    s.count++;
  }
  render(): string {
    const lines = [`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} histogram`];
    for (const s of this.series.values()) {
      this.buckets.forEach((b, i) => lines.push(`${this.name}_bucket${labelKey({ ...s.labels, le: String(b) })} ${s.counts[i]}`));
      lines.push(`${this.name}_bucket${labelKey({ ...s.labels, le: "+Inf" })} ${s.count}`);
      lines.push(`${this.name}_sum${labelKey(s.labels)} ${s.sum}`);
      lines.push(`${this.name}_count${labelKey(s.labels)} ${s.count}`);
    }
    return lines.join("\n");
  }
}

class Gauge {
  readonly values = new Map<string, number>();
  constructor(
    readonly name: string,
    readonly help: string,
  ) {}
  set(labels: Labels, value: number): void {
    this.values.set(labelKey(labels), value);
  }
  render(): string {
    const lines = [`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} gauge`];
    for (const [k, v] of this.values) lines.push(`${this.name}${k} ${v}`);
    return lines.join("\n");
  }
}

const SECONDS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

export class GatewayMetrics {
  readonly requests = new Counter("sabuild_gateway_requests_total", "Chat completion requests, by route and the model that answered.");
  readonly fallbacks = new Counter("sabuild_gateway_fallbacks_total", "Requests for a student that the teacher answered instead, by reason.");
  readonly tokens = new Counter("sabuild_gateway_tokens_total", "Tokens reported by the model that answered.");
  readonly saved = new Counter("sabuild_gateway_saved_usd_total", "Estimated USD saved: what the teacher would have cost for the tokens the student served.");
  readonly latency = new Histogram("sabuild_gateway_request_duration_seconds", "Wall time of chat completion requests through the gateway.", SECONDS);
  readonly routed = new Counter("sabuild_gateway_routed_total", "Subagent requests by the model that answered and the route reason (escalation rate by reason: answered_by=teacher over all).");
  readonly contractBreaks = new Counter("sabuild_gateway_contract_breaks_total", "Student replies that broke the output contract, escalated or not.");
  readonly checkFailures = new Counter("sabuild_gateway_check_failures_total", "Student replies that failed a routing check, by check.");
  readonly answerLatency = new Histogram("sabuild_gateway_answer_duration_seconds", "Wall time of subagent requests by the model that answered.", SECONDS);
  readonly routerScore = new Histogram("sabuild_gateway_router_score", "The learned router's predicted student success per request.", [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1]);
  readonly drift = new Gauge("sabuild_gateway_escalation_drift", "1 while the escalation rate over the drift window exceeds eval's by more than route.drift.margin.");
  readonly expectedEscalation = new Gauge("sabuild_gateway_expected_escalation_ratio", "The escalation rate eval predicts for the route's policy (the drift warning's baseline).");

  render(): string {
    const all = [this.requests, this.fallbacks, this.tokens, this.saved, this.latency, this.routed, this.contractBreaks, this.checkFailures, this.answerLatency, this.routerScore, this.drift, this.expectedEscalation];
    return `${all.map((m) => m.render()).join("\n")}\n`;
  }
}
