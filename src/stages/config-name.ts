import { relative } from "node:path";
import type { ProjectConfig } from "../config/index.js";

/** How problems name subagents.yaml: relative to the project directory, as the loader does. */
export function configName(project: ProjectConfig): string {
  return relative(project.root, project.file);
}
