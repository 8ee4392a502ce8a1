import { buildRecipeImage, openSandbox, type SandboxSession } from "../../src/sandbox/index.js";
import { REPO } from "../helpers.js";
import { ensureDocker } from "./docker.js";

/**
 * A fresh container of the bundled `shell` recipe (Debian, bash, GNU coreutils, findutils, grep,
 * sed, git; no python, no ripgrep), as a rollout gets one. The image is built once per engine.
 */
export async function shellSandbox(limits: { commandTimeoutMs?: number; outputLimitBytes?: number } = {}): Promise<SandboxSession> {
  await ensureDocker();
  const image = await buildRecipeImage({ recipe: "shell", projectRoot: REPO });
  return openSandbox(image, { limits });
}
