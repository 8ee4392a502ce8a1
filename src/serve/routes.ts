import type { RoutePolicy } from "../route/policy.js";

/** A subagent behind the gateway: its student's model server (when exported), contract and policy. */
export interface StudentRoute {
  /** The subagent's name: clients ask for model "subagent/<name>". */
  name: string;
  /**
   * OpenAI-compatible base URL of the student's server (e.g. llama-server), ending in /v1.
   * Absent when the subagent has no exported student yet: its teacher answers (`no-student`).
   */
  baseUrl?: string;
  /** Model name sent upstream. */
  model: string;
  timeoutMs: number;
  /** The output contract's tag; a final reply without it is a contract break. */
  contractTag: string;
  /** This subagent's own teacher (default: the gateway's teacher). */
  teacher?: TeacherRoute;
  /** How requests are routed (default: the gateway's fallbackOn as a fallback policy). */
  policy?: RoutePolicy;
  /** learned: the router's predicted chance that the student succeeds on a task text. */
  router?: { score(task: string): number };
  /** The escalation rate eval predicts for this route's policy, and route.drift: the drift warning's inputs. */
  drift?: { expected: number; window: number; margin: number };
  /** cascade with a judge: the judge's score (0..1) of a final answer to the conversation. */
  judge?(messages: unknown[], answer: string, signal: AbortSignal): Promise<number>;
}

/** The large model: the fallback for students and the pass-through for other model names. */
export interface TeacherRoute {
  baseUrl: string;
  /** Resolved at start from the environment; never logged. */
  apiKey?: string;
  headers?: Record<string, string>;
  model: string;
  timeoutMs: number;
  pricing?: { input_per_mtok: number; output_per_mtok: number };
}
