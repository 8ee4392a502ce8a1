/** The sandbox API: recipes, their images and one container per rollout. */
export type { ExecOptions, ExecResult, SandboxImage, SandboxLimits, SandboxSession } from "./types.js";
export { SandboxError } from "./types.js";
export { buildRecipeImage, ensureImage, DEFAULT_BASE_IMAGE, type BuildRecipeOptions, type EnsureImageOptions } from "./image.js";
export { openSandbox, type OpenSandboxOptions } from "./session.js";
export { projectLabels, reapOrphans, reapOnce, openContainerIds, untilShutdown } from "./cleanup.js";
export { knownRecipes, locateRecipe, contextDigest } from "./recipe.js";
export { truncationMarker } from "./output.js";
