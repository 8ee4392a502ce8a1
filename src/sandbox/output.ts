/**
 * Keeps what a command prints within a byte limit without holding all of it: the first bytes
 * and a tail window of each stream. What is cut is replaced by a marker that says how much.
 */

export function truncationMarker(bytes: number): string {
  return `\n[... ${bytes} bytes truncated ...]\n`;
}

export class StreamCapture {
  private head: Buffer[] = [];
  private headBytes = 0;
  private tail: Buffer = Buffer.alloc(0);
  total = 0;

  constructor(
    private readonly headLimit: number,
    private readonly tailLimit: number,
  ) {}

  push(chunk: Buffer): void {
    this.total += chunk.length;
    if (this.headBytes < this.headLimit) {
      const take = chunk.subarray(0, this.headLimit - this.headBytes);
      this.head.push(take);
      this.headBytes += take.length;
      chunk = chunk.subarray(take.length);
    }
    if (chunk.length && this.tailLimit > 0) {
      const joined = Buffer.concat([this.tail, chunk]);
      this.tail = joined.subarray(Math.max(0, joined.length - this.tailLimit));
    }
  }

  /** The stream cut to `budget` bytes: head, marker, tail. */
  render(budget: number): { text: string; truncated: boolean } {
    const head = Buffer.concat(this.head);
    // Budgets never exceed the head limit, so a stream within its budget is all in the head.
    if (this.total <= budget) return { text: head.toString("utf8"), truncated: false };
    const tailKeep = Math.min(this.tail.length, Math.floor(budget / 4));
    const headKeep = Math.min(head.length, budget - tailKeep);
    const cut = this.total - headKeep - tailKeep;
    const text = decodeCut(head.subarray(0, headKeep)) + truncationMarker(cut) + decodeCut(this.tail.subarray(this.tail.length - tailKeep), true);
    return { text, truncated: true };
  }
}

/** Decodes bytes cut at an arbitrary offset, dropping a split UTF-8 character at the cut. */
function decodeCut(buf: Buffer, atStart = false): string {
  if (atStart) {
    let i = 0;
    while (i < buf.length && i < 3 && (buf[i]! & 0xc0) === 0x80) i++;
    return buf.subarray(i).toString("utf8");
  }
  let end = buf.length;
  for (let back = 1; back <= Math.min(3, buf.length); back++) {
    const b = buf[buf.length - back]!;
    if ((b & 0xc0) === 0x80) continue;
    const need = b >= 0xf0 ? 4 : b >= 0xe0 ? 3 : b >= 0xc0 ? 2 : 1;
    if (need > back) end = buf.length - back;
    break;
  }
  return buf.subarray(0, end).toString("utf8");
}

/**
 * Splits one limit between stdout and stderr: each gets up to half, and what one does not use
 * goes to the other, so a short stderr next to a flood on stdout survives whole.
 */
export function renderOutputs(out: StreamCapture, err: StreamCapture, limit: number): { stdout: string; stderr: string; truncated: boolean } {
  const half = Math.floor(limit / 2);
  let outBudget = Math.min(out.total, half);
  let errBudget = Math.min(err.total, half);
  outBudget += Math.min(out.total - outBudget, limit - outBudget - errBudget);
  errBudget += Math.min(err.total - errBudget, limit - outBudget - errBudget);
  const o = out.render(outBudget);
  const e = err.render(errBudget);
  return { stdout: o.text, stderr: e.text, truncated: o.truncated || e.truncated };
}

/** A capture sized for a limit: the whole limit as head, a quarter of it as tail. */
export function capture(limit: number): StreamCapture {
  return new StreamCapture(limit, Math.floor(limit / 4));
}
