import type { SandboxSession } from "../sandbox/types.js";

export interface Todo {
  content: string;
  status: "pending" | "in_progress" | "completed";
  activeForm?: string;
}

/** What the host remembers of one background shell (Bash's run_in_background). */
export interface BackgroundShell {
  id: string;
  command: string;
  /** Bytes of each stream the model has been shown (or had filtered away). */
  read: { out: number; err: number };
  /** Whether the note that a stream reached the output limit was shown. */
  /** What a read has said of the output limit: nothing yet, that it was reached (while running), or the count discarded (once ended). */
  limitNoted: { out: LimitNote; err: LimitNote };
}

/** What the tools remember within one rollout (one sandbox session). */
export interface SessionState {
  /** Path -> modification time (stat's %.9Y) when the model last read or wrote it through a tool. */
  seen: Map<string, string>;
  todos: Todo[];
  /** Background shells started with Bash's run_in_background, by id. */
  shells: Map<string, BackgroundShell>;
}

// Keyed by the session object: each rollout has its own container and session, and its state goes
// away with it.
const states = new WeakMap<SandboxSession, SessionState>();

export function sessionState(sandbox: SandboxSession): SessionState {
  let state = states.get(sandbox);
  if (!state) {
    state = { seen: new Map(), todos: [], shells: new Map() };
    states.set(sandbox, state);
  }
  return state;
}

export type LimitNote = "none" | "reached" | "counted";
