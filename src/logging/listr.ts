import { Listr, type ListrTaskWrapper } from "listr2";
import type { EngineEvent } from "../engine/events.js";
import { describeFailure, describeReason } from "../engine/events.js";
import { formatDuration } from "../cli/output.js";
import { progressText } from "./progress.js";
import type { Renderer } from "./types.js";

interface Row {
  startedAt?: number;
  /** What the title shows while running: the reason it runs, then item progress and cost. */
  status?: string;
  done: Promise<void>;
  finish(error?: Error): void;
  task?: ListrTaskWrapper<unknown, never, never>;
  title?: string;
}

/**
 * The interactive view: a listr2 task per stage, whose promise settles when the engine says the
 * stage ended. The engine schedules; listr2 only draws.
 */
export function listrRenderer(): Renderer {
  const rows = new Map<string, Row>();
  let running: Promise<unknown> = Promise.resolve();
  const messages: string[] = [];
  const runningTitle = (id: string, r: Row): string =>
    `${id} (${r.status ?? "running"}${r.startedAt ? `, ${Math.floor((Date.now() - r.startedAt) / 1000)}s` : ""})`;
  // Elapsed time ticks once a second on every running stage.
  const ticker = setInterval(() => {
    for (const [id, r] of rows) if (r.task && r.startedAt && !r.title) r.task.title = runningTitle(id, r);
  }, 1000);
  ticker.unref();
  const row = (id: string): Row => {
    let r = rows.get(id);
    if (!r) {
      let finish!: (error?: Error) => void;
      const done = new Promise<void>((resolve, reject) => {
        finish = (error) => (error ? reject(error) : resolve());
      });
      done.catch(() => undefined);
      r = { done, finish };
      rows.set(id, r);
    }
    return r;
  };
  return {
    start(ids) {
      const list = new Listr(
        ids.map((id) => ({
          title: id,
          task: async (_ctx: unknown, task: ListrTaskWrapper<unknown, never, never>) => {
            const r = row(id);
            r.task = task;
            await r.done;
            if (r.title) task.title = r.title;
          },
        })),
        { concurrent: true, exitOnError: false, rendererOptions: { collapseSubtasks: false } } as never,
      );
      running = list.run().catch(() => undefined);
    },
    event(e: EngineEvent) {
      if (e.type === "message") {
        messages.push(e.text);
        return;
      }
      const r = row(e.id);
      switch (e.type) {
        case "stage-start":
          r.startedAt = Date.now();
          r.status = `running${e.reasons[0] ? `: ${describeReason(e.reasons[0])}` : ""}`;
          if (r.task) r.task.title = runningTitle(e.id, r);
          break;
        case "stage-progress":
          // Progress lives in the title so that log lines (the output) do not overwrite it.
          r.status = progressText(e, { itemsWord: true, soFar: true });
          if (r.task) r.task.title = runningTitle(e.id, r);
          break;
        case "stage-log":
          if (r.task) r.task.output = e.line;
          // Warnings outlive the tree: printed below it when the build ends.
          if (e.level === "warn" || e.line.includes("warning:")) messages.push(`${e.id}: ${e.level === "warn" && !e.line.includes("warning:") ? "warning: " : ""}${e.line}`);
          break;
        case "stage-end": {
          const why = e.failure ? describeFailure(e.failure) : undefined;
          if (e.status === "built") r.title = `${e.id} built in ${formatDuration(e.durationMs)}`;
          else if (e.status === "restored") r.title = `${e.id} restored from the store`;
          else if (e.status === "fetched") r.title = `${e.id} fetched from the remote cache in ${formatDuration(e.durationMs)}`;
          else if (e.status === "up-to-date") r.title = `${e.id} up-to-date`;
          else if (e.status === "skipped" || e.status === "cancelled") r.title = `${e.id} ${e.status}${why ? `: ${why}` : ""}`;
          // Not done, for whatever reason: drawn as a failure so nobody mistakes it for a result.
          if (e.status === "failed") r.finish(new Error(`${e.id}: ${why ?? "failed"}`));
          else if (e.status === "skipped" || e.status === "cancelled") r.finish(new Error(r.title));
          else r.finish();
          break;
        }
      }
    },
    async stop() {
      clearInterval(ticker);
      for (const r of rows.values()) r.finish();
      await running;
      for (const m of messages) process.stderr.write(`${m}\n`);
    },
  };
}
