import type Docker from "dockerode";

/**
 * Counts OOM kills in one container. The engine's "oom" events arrive as they happen (a
 * killed process inside a pipeline whose exit status hides it included); the memory cgroup's
 * own counter is read when a command died of SIGKILL without an event having arrived yet.
 * Docker's State.OOMKilled only covers the container's main process, which never grows.
 *
 * One event stream per engine client serves every container of the process: a stream per
 * container cost an API call and a daemon-side subscription per container, and the daemon
 * matches every event against every subscription, so at concurrency 16 each of the ~12 events
 * of a container's life was filtered 16 times over.
 */
export class OomWatch {
  private seen = 0;
  private constructor(
    private readonly containerId: string,
    private readonly hub: OomEvents | undefined,
  ) {}

  static async start(docker: Docker, containerId: string): Promise<OomWatch> {
    // Subscribed before the container starts: no kill can happen earlier.
    const hub = await OomEvents.of(docker);
    hub?.watch(containerId);
    return new OomWatch(containerId, hub);
  }

  private get events(): number {
    return this.hub?.count(this.containerId) ?? 0;
  }

  /** Whether an OOM kill happened since the last call; `readCounter` reads the cgroup when asked. */
  async killedSinceLastAsk(sigkill: boolean, readCounter: () => Promise<number>): Promise<boolean> {
    let total = this.events;
    if (sigkill && total <= this.seen) total = Math.max(total, await readCounter());
    const fresh = total > this.seen;
    this.seen = Math.max(this.seen, total);
    return fresh;
  }

  stop(): void {
    this.hub?.unwatch(this.containerId);
  }
}

/** The engine's "oom" events, counted per watched container, from one stream per client. */
class OomEvents {
  private static readonly streams = new WeakMap<Docker, Promise<OomEvents | undefined>>();
  private readonly counts = new Map<string, number>();
  private pending = "";

  /** The client's stream, opened on first use and again after one ends; undefined when the engine refuses events. */
  static of(docker: Docker): Promise<OomEvents | undefined> {
    let found = OomEvents.streams.get(docker);
    if (!found) {
      found = OomEvents.open(docker);
      OomEvents.streams.set(docker, found);
      // A refusal is not remembered: the next container asks again.
      void found.then((hub) => hub ?? OomEvents.streams.delete(docker));
    }
    return found;
  }

  private static async open(docker: Docker): Promise<OomEvents | undefined> {
    let stream: NodeJS.ReadableStream;
    try {
      stream = await docker.getEvents({ filters: { event: ["oom"] } });
    } catch {
      // Without events the cgroup counter still catches the kills that end a command.
      return undefined;
    }
    const hub = new OomEvents();
    stream.on("data", (chunk: Buffer) => hub.push(chunk.toString("utf8")));
    const forget = (): void => {
      if (OomEvents.streams.get(docker) === current) OomEvents.streams.delete(docker);
    };
    const current = OomEvents.streams.get(docker);
    stream.on("error", forget);
    stream.on("end", forget);
    stream.on("close", forget);
    // The stream lives as long as the client and must not keep the process alive.
    (stream as { socket?: { unref?: () => void } }).socket?.unref?.();
    return hub;
  }

  watch(id: string): void {
    this.counts.set(id, 0);
  }

  unwatch(id: string): void {
    this.counts.delete(id);
  }

  count(id: string): number {
    return this.counts.get(id) ?? 0;
  }

  private push(text: string): void {
    const lines = (this.pending + text).split("\n");
    this.pending = lines.pop() ?? "";
    for (const line of lines) {
      if (!line.trim()) continue;
      let event: { status?: string; Action?: string; id?: string; Actor?: { ID?: string } };
      try {
        event = JSON.parse(line) as typeof event;
      } catch {
        continue;
      }
      if (event.Action !== "oom" && event.status !== "oom") continue;
      const id = event.Actor?.ID ?? event.id;
      if (id !== undefined && this.counts.has(id)) this.counts.set(id, this.counts.get(id)! + 1);
    }
  }
}
