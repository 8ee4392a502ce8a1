import type { ProjectConfig, ResolvedSubagent } from "../config/index.js";
import { didYouMean, UserInputError } from "../errors.js";
import { STAGE_KINDS, type Stage, type StageKind } from "../stages/types.js";

export interface StageNode {
  /** `<subagent>:<stage kind>` */
  id: string;
  subagent: ResolvedSubagent;
  stage: Stage;
  /** Ids of the upstream nodes (same subagent). */
  deps: string[];
}

/** Every subagent's pipeline as one list of nodes in dependency order. */
export function buildGraph(project: ProjectConfig, stages: ReadonlyMap<StageKind, Stage>): StageNode[] {
  const nodes: StageNode[] = [];
  for (const subagent of project.subagents) {
    const last = subagent.until ? STAGE_KINDS.indexOf(subagent.until) : STAGE_KINDS.length - 1;
    for (const [index, kind] of STAGE_KINDS.entries()) {
      let stage = stages.get(kind);
      if (!stage) continue;
      // Past `until`, the stage is left out as an unavailable one is: shown by plan, never run.
      if (index > last && !stage.unavailable) stage = { ...stage, unavailable: `${kind} is after ${subagent.name}'s until: ${subagent.until} (subagents.yaml)` };
      nodes.push({ id: `${subagent.name}:${kind}`, subagent, stage, deps: stage.deps.map((d) => `${subagent.name}:${d}`) });
    }
  }
  return nodes;
}

/**
 * Resolves targets (`<subagent>`, `<subagent>:<stage>`, or a stage kind for every subagent) to
 * the nodes they name plus everything those depend on, in dependency order.
 */
export function selectNodes(nodes: StageNode[], targets: string[]): { selected: StageNode[]; named: Set<string> } {
  const byId = new Map(nodes.map((n) => [n.id, n]));
  const subagents = [...new Set(nodes.map((n) => n.subagent.name))];
  const named = new Set<string>();
  const problems: string[] = [];
  for (const target of targets) {
    const [sub, kind] = target.includes(":") ? target.split(":", 2) : [target, undefined];
    if (kind !== undefined) {
      if (byId.has(target)) named.add(target);
      else problems.push(unknownTarget(target, sub!, kind, subagents));
    } else if (subagents.includes(target)) {
      for (const n of nodes) if (n.subagent.name === target) named.add(n.id);
    } else if ((STAGE_KINDS as readonly string[]).includes(target)) {
      for (const n of nodes) if (n.stage.kind === target) named.add(n.id);
    } else {
      const guess = didYouMean(target, [...subagents, ...STAGE_KINDS]);
      problems.push(`unknown target "${target}"${guess ? ` (did you mean "${guess}"?)` : ""}`);
    }
  }
  if (problems.length) {
    throw new UserInputError(`${problems.join("\n")}\nTargets are <subagent>, <subagent>:<stage> or <stage>; subagents: ${subagents.join(", ")}`);
  }
  if (targets.length === 0) for (const n of nodes) named.add(n.id);
  const wanted = new Set<string>();
  const visit = (id: string): void => {
    if (wanted.has(id)) return;
    wanted.add(id);
    for (const d of byId.get(id)?.deps ?? []) visit(d);
  };
  for (const id of named) visit(id);
  return { selected: nodes.filter((n) => wanted.has(n.id)), named };
}

function unknownTarget(target: string, sub: string, kind: string, subagents: string[]): string {
  if (!subagents.includes(sub)) {
    const guess = didYouMean(sub, subagents);
    return `unknown subagent "${sub}" in target "${target}"${guess ? ` (did you mean "${guess}"?)` : ""}`;
  }
  const guess = didYouMean(kind, [...STAGE_KINDS]);
  return `unknown stage "${kind}" in target "${target}"${guess ? ` (did you mean "${guess}"?)` : ""}`;
}
