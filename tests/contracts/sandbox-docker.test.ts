import Docker from "dockerode";
import { buildRecipeImage, openSandbox } from "../../src/sandbox/index.js";
import { ensureDocker } from "../support/docker.js";
import { describeSandboxContract } from "./sandbox.js";

describeSandboxContract("Docker", async () => {
  await ensureDocker();
  const image = await buildRecipeImage({ recipe: "shell" });
  const docker = new Docker();
  return {
    image,
    open: (options) => openSandbox(image, options),
    exists: (id) =>
      docker
        .getContainer(id)
        .inspect()
        .then(() => true, () => false),
    env: {},
  };
});
