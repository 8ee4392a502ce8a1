import type { LlamaServer } from "../toolchain/runners.js";

/** A model server kept up while `serve` runs. */
export interface SupervisedServer {
  /** The current server's base URL (a restart changes it). */
  readonly url: string;
  stop(): Promise<void>;
}

export interface SuperviseOptions {
  /** The subagent, for log lines. */
  name: string;
  log(line: string): void;
  /** Called with the new base URL after a restart. */
  restarted(url: string): void;
  intervalMs?: number;
}

/**
 * Starts a server and restarts it when /health stops answering. One restart at a time: checks
 * that fail while a new server loads do not start more of them, and a server that finishes
 * starting after stop() is stopped at once, so none outlives the command.
 */
export async function superviseServer(start: () => Promise<LlamaServer>, o: SuperviseOptions): Promise<SupervisedServer> {
  let server = await start();
  let stopped = false;
  let checking = false;
  const check = async (): Promise<void> => {
    try {
      const r = await fetch(`${server.url}/health`, { signal: AbortSignal.timeout(5000) });
      if (r.ok) return;
      throw new Error(`HTTP ${r.status}`);
    } catch (e) {
      if (stopped) return;
      o.log(`warning: ${o.name}'s model server failed its health check (${(e as Error).message}): restarting it`);
    }
    await server.stop().catch(() => undefined);
    try {
      server = await start();
    } catch (e) {
      o.log(`warning: ${o.name}'s model server did not restart (${(e as Error).message}): trying again at the next check`);
      return;
    }
    if (stopped) await server.stop();
    else o.restarted(server.url);
  };
  const timer = setInterval(() => {
    if (checking || stopped) return;
    checking = true;
    void check().finally(() => (checking = false));
  }, o.intervalMs ?? 10_000);
  timer.unref();
  return {
    get url() {
      return server.url;
    },
    async stop() {
      stopped = true;
      clearInterval(timer);
      await server.stop();
    },
  };
}
