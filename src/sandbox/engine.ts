/**
 * Which container engine runs the sandboxes (and the trainer's and llama.cpp's containers):
 * Docker, or Podman through its Docker-compatible API, which passes the same sandbox contract
 * suite. Every client here is dockerode, which reads DOCKER_HOST, so the engine is applied once,
 * as DOCKER_HOST for this process and what it starts; a cluster job resolves it again on its
 * node, where the socket is that node's own. An explicit DOCKER_HOST always wins.
 */

export type ContainerEngine = "docker" | "podman";

/** The DOCKER_HOST the engine stands for here, or undefined to leave the environment as it is. */
export function engineHost(engine: ContainerEngine, env: NodeJS.ProcessEnv, uid: number | undefined = process.getuid?.()): string | undefined {
  if (env.DOCKER_HOST || engine === "docker") return undefined;
  // Podman's own variable for a remote or non-default service.
  if (env.CONTAINER_HOST) return env.CONTAINER_HOST;
  // `podman system service` (or podman.socket) listens here, rootful and rootless.
  if (uid === 0) return "unix:///run/podman/podman.sock";
  return `unix://${env.XDG_RUNTIME_DIR || `/run/user/${uid ?? 0}`}/podman/podman.sock`;
}

/** Points this process's Docker clients at the configured engine. */
export function useEngine(engine: ContainerEngine, env: NodeJS.ProcessEnv = process.env): void {
  const host = engineHost(engine, env);
  if (host) env.DOCKER_HOST = host;
}
