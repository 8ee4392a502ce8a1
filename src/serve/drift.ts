/**
 * Escalation drift: the share of a route's requests the teacher answered over the last `window`
 * requests, against what eval predicts for the route's policy. Traffic unlike eval's tasks shows
 * up here first (the student fails more, or the router sends more away). Warns once each time
 * the rate crosses above the expected rate plus the margin, and again only after it came back.
 */
export class DriftMonitor {
  private readonly recent: boolean[] = [];
  private escalated = 0;
  private drifting = false;

  constructor(
    readonly route: string,
    readonly expected: number,
    readonly window: number,
    readonly margin: number,
    private readonly warn: (line: string) => void,
  ) {}

  /** Records one answered request; returns whether the window is drifting now. */
  record(wasEscalated: boolean): boolean {
    this.recent.push(wasEscalated);
    if (wasEscalated) this.escalated++;
    if (this.recent.length > this.window && this.recent.shift()) this.escalated--;
    if (this.recent.length < this.window) return false;
    const rate = this.escalated / this.window;
    const over = rate > this.expected + this.margin;
    if (over && !this.drifting) {
      this.warn(
        `warning: ${this.route}: ${(rate * 100).toFixed(1)}% of the last ${this.window} requests went to the teacher, over eval's ${(this.expected * 100).toFixed(1)}% by more than ${(this.margin * 100).toFixed(0)} points: traffic may have drifted from eval's tasks (record it and rebuild, or recalibrate)`,
      );
    }
    this.drifting = over;
    return over;
  }
}
