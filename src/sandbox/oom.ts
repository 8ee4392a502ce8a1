import type Docker from "dockerode";

/**
 * Counts OOM kills in one container. The engine's "oom" events arrive as they happen (a
 * killed process inside a pipeline whose exit status hides it included); the memory cgroup's
 * own counter is read when a command died of SIGKILL without an event having arrived yet.
 * Docker's State.OOMKilled only covers the container's main process, which never grows.
 */
export class OomWatch {
  private events = 0;
  private seen = 0;
  private constructor(private readonly stream: NodeJS.ReadableStream | undefined) {}

  static async start(docker: Docker, containerId: string): Promise<OomWatch> {
    let stream: NodeJS.ReadableStream | undefined;
    try {
      stream = await docker.getEvents({ filters: { container: [containerId], event: ["oom"] } });
    } catch {
      // Without events the cgroup counter still catches the kills that end a command.
    }
    const watch = new OomWatch(stream);
    stream?.on("data", (chunk: Buffer) => (watch.events += chunk.toString("utf8").split("\n").filter((l) => l.includes('"oom"')).length));
    stream?.on("error", () => {});
    return watch;
  }

  /** Whether an OOM kill happened since the last call; `readCounter` reads the cgroup when asked. */
  async killedSinceLastAsk(sigkill: boolean, readCounter: () => Promise<number>): Promise<boolean> {
    let total = this.events;
    if (sigkill && total <= this.seen) total = Math.max(total, await readCounter());
    const fresh = total > this.seen;
    this.seen = Math.max(this.seen, total);
    this.events = Math.max(this.events, total);
    return fresh;
  }

  stop(): void {
    (this.stream as { destroy?: () => void } | undefined)?.destroy?.();
  }
}
