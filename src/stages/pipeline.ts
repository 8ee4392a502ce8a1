import type { ProjectConfig } from "../config/index.js";
import { UserInputError } from "../errors.js";
import { orderGraph } from "../engine/graph.js";
import type { EngineNode } from "../engine/types.js";
import type { FileFacts } from "../store/stat-cache.js";
import { STAGE_KINDS, type InputContext, type ProjectContext, type ProjectStage, type Stage, type StageKind } from "./types.js";

export type PipelineNode = EngineNode<InputContext> | EngineNode<ProjectContext>;

/**
 * The project's graph: every subagent's pipeline (`<subagent>:<kind>`, deps among its own
 * stages, named by kind) and the project-level nodes (`<scope>:<kind>`, deps on any node).
 */
export function buildGraph(project: ProjectConfig, stages: ReadonlyMap<StageKind, Stage>, projectStages: ProjectStage[] = [], files?: FileFacts): PipelineNode[] {
  const nodes: PipelineNode[] = [];
  for (const subagent of project.subagents) {
    const last = subagent.until ? STAGE_KINDS.indexOf(subagent.until) : STAGE_KINDS.length - 1;
    for (const [index, kind] of STAGE_KINDS.entries()) {
      let stage = stages.get(kind);
      if (!stage) continue;
      // Past `until`, the stage is left out as an unavailable one is: shown by plan, never run.
      const past = index > last;
      if (past && !stage.unavailable) stage = { ...stage, unavailable: `${kind} is after ${subagent.name}'s until: ${subagent.until} (subagents.yaml)` };
      const deps: Record<string, string> = Object.fromEntries(stage.deps.map((d) => [d, `${subagent.name}:${d}`]));
      // A stage left out past `until` reads nothing across scopes: building the subagent must not
      // pull in (and run) the project nodes a stage it will never run would have read.
      if (stage.projectDeps && !past) {
        for (const [name, id] of Object.entries(stage.projectDeps(project, subagent))) {
          if (name in deps) throw new UserInputError(`${subagent.name}:${kind} names its project-level upstream ${id} "${name}", a name its own upstreams use`);
          deps[name] = id;
        }
      }
      nodes.push({ id: `${subagent.name}:${kind}`, scope: subagent.name, kind, stage, context: { project, subagent, ...(files ? { files } : {}) }, deps });
    }
  }
  const names = new Set(project.subagents.map((s) => s.name));
  for (const stage of projectStages) {
    if (names.has(stage.scope)) throw new UserInputError(`project-level stage ${stage.scope}:${stage.kind} uses the name of a subagent as its scope`);
    nodes.push({ id: `${stage.scope}:${stage.kind}`, scope: stage.scope, kind: stage.kind, stage, context: { project }, deps: stage.deps(project) });
  }
  return orderGraph(nodes as EngineNode[]) as PipelineNode[];
}
