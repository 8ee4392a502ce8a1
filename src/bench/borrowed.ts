import type { SandboxSession } from "../sandbox/types.js";

/**
 * A container lent to a nested rollout: a subagent works in the orchestrator's container, so it
 * sees the orchestrator's edits and the orchestrator sees its own. The nested rollout closes
 * what it opened when it ends; closing a borrowed container must leave it to its owner.
 */
export function borrowed(session: SandboxSession): SandboxSession {
  return {
    containerId: session.containerId,
    image: session.image,
    limits: session.limits,
    exec: (argv, options) => session.exec(argv, options),
    spawn: (argv, options) => session.spawn(argv, options),
    close: async () => undefined,
  };
}
