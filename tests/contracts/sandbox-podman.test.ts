import Docker from "dockerode";
import { afterAll } from "vitest";
import { buildRecipeImage, openSandbox } from "../../src/sandbox/index.js";
import { ensureDocker } from "../support/docker.js";
import { describeSandboxContract } from "./sandbox.js";
import { ensurePodman } from "./support/podman.js";

// The sandbox code is unchanged: dockerode reaches podman's Docker-compatible API through DOCKER_HOST.
const before = process.env.DOCKER_HOST;
afterAll(() => {
  if (before === undefined) delete process.env.DOCKER_HOST;
  else process.env.DOCKER_HOST = before;
});

describeSandboxContract("Podman (rootful, Docker-compatible API)", async () => {
  await ensureDocker();
  // Built (or found) in Docker, where the global setup prepared it, then copied to podman by tag.
  const { tag } = await buildRecipeImage({ recipe: "shell" });
  const host = await ensurePodman([tag]);
  process.env.DOCKER_HOST = host;
  const image = await buildRecipeImage({ recipe: "shell" });
  const podman = new Docker({ socketPath: new URL(host).pathname });
  return {
    image,
    open: (options) => openSandbox(image, options),
    exists: (id) =>
      podman
        .getContainer(id)
        .inspect()
        .then(() => true, () => false),
    env: { DOCKER_HOST: host },
  };
});
