import type { EngineEvent } from "../engine/events.js";

/** A view of the engine's event stream: the listr2 tree on a TTY, plain lines elsewhere. */
export interface Renderer {
  /** Called once with the nodes that may run, before the first event. */
  start(ids: string[]): void;
  event(e: EngineEvent): void;
  /** Called once after the build; the renderer flushes and stops. */
  stop(): Promise<void>;
}
