import { fileURLToPath } from "node:url";

/** The package root (dist/dataset/ -> ..): `python -m trainer.<module>` runs from here. */
export const PACKAGE_ROOT = fileURLToPath(new URL("../../", import.meta.url));

/**
 * The Python that runs the trainer's helpers. SABUILD_PYTHON names one that has transformers
 * (the tests use the development venv); otherwise python3 on PATH. One place to change when the
 * project-managed venv arrives.
 */
export function trainerPython(): { python: string; env: NodeJS.ProcessEnv } {
  const python = process.env.SABUILD_PYTHON || "python3";
  const pythonPath = [PACKAGE_ROOT, process.env.PYTHONPATH].filter(Boolean).join(":");
  return { python, env: { ...process.env, PYTHONPATH: pythonPath, PYTHONUNBUFFERED: "1", TOKENIZERS_PARALLELISM: "false" } };
}

export const trainerModule = (name: string): string[] => ["-m", `trainer.${name}`];
