import { relative } from "node:path";
import { pathToFileURL } from "node:url";
import { UserInputError } from "./errors.js";
import { STAGE_KINDS, type ProjectStage, type Stage, type StagePlugin } from "./stages/types.js";
import type { StatCache } from "./store/index.js";
import { VERSION } from "./version.js";

export interface LoadedPlugins {
  stages: Stage[];
  projectStages: ProjectStage[];
  /** Toolchain identity of each plugin-provided pipeline kind, or project node id: the plugin file's digest. */
  identity: Map<string, Record<string, string>>;
}

/**
 * Loads stage plugins named in subagents.yaml. A plugin's file digest joins the key of every
 * stage it provides, so editing the plugin makes those stages stale.
 */
export async function loadPlugins(root: string, paths: string[], stat: StatCache): Promise<LoadedPlugins> {
  const stages: Stage[] = [];
  const projectStages: ProjectStage[] = [];
  const identity = new Map<string, Record<string, string>>();
  for (const path of paths) {
    const rel = relative(root, path).split("\\").join("/");
    let digest: string;
    let factory: unknown;
    try {
      digest = await stat.digest(path);
      factory = ((await import(pathToFileURL(path).href)) as { default?: unknown }).default;
    } catch (e) {
      throw new UserInputError(`cannot load plugin ${rel}: ${(e as Error).message}`, [
        { file: rel, line: 0, column: 0, keyPath: ["plugins"], message: `cannot load plugin: ${(e as Error).message}`, hint: "plugins are ES modules whose default export returns a list of stages" },
      ]);
    }
    if (typeof factory !== "function") {
      throw new UserInputError(`plugin ${rel} has no default export function`, [
        { file: rel, line: 0, column: 0, keyPath: ["plugins"], message: "the default export must be a function returning stages", hint: "export default () => [{ kind: 'traces', version: '1', deps: [...], inputs, run }]" },
      ]);
    }
    for (const stage of await (factory as StagePlugin)({ version: VERSION })) {
      if ("scope" in stage) {
        if (!/^[\w.-]+(\/[\w.-]+)*$/.test(stage.scope) || !/^[\w.-]+$/.test(stage.kind) || typeof stage.deps !== "function") {
          throw new UserInputError(`plugin ${rel}: project-level stage "${stage.scope}:${stage.kind}" needs a scope like "bench/name", a kind of letters, digits, ".", "_" or "-", and deps(project) returning {name: node id}`);
        }
        projectStages.push(stage);
        identity.set(`${stage.scope}:${stage.kind}`, { [`plugin:${rel}`]: digest });
        continue;
      }
      if (!(STAGE_KINDS as readonly string[]).includes(stage.kind)) {
        throw new UserInputError(`plugin ${rel} provides unknown stage kind "${stage.kind}" (kinds: ${STAGE_KINDS.join(", ")})`);
      }
      stages.push(stage);
      identity.set(stage.kind, { [`plugin:${rel}`]: digest });
    }
  }
  return { stages, projectStages, identity };
}
