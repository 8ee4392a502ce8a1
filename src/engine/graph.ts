import { didYouMean, UserInputError } from "../errors.js";
import type { EngineNode } from "./types.js";

/**
 * Checks a graph its builder made: every dep names a node, and no node depends on itself
 * through others. Returns the nodes in dependency order (deps first, otherwise as given).
 */
export function orderGraph<C extends object>(nodes: EngineNode<C>[]): EngineNode<C>[] {
  const byId = new Map(nodes.map((n) => [n.id, n]));
  const problems: string[] = [];
  for (const n of nodes) {
    for (const dep of Object.values(n.deps)) if (!byId.has(dep)) problems.push(`${n.id} depends on ${dep}, which is not a node of this project`);
  }
  if (problems.length) throw new UserInputError(problems.join("\n"));
  const ordered: EngineNode<C>[] = [];
  const state = new Map<string, "visiting" | "done">();
  // One stack of the ids being visited, for the message of a cycle (a copy per step was garbage).
  const path: string[] = [];
  const visit = (n: EngineNode<C>): void => {
    const s = state.get(n.id);
    if (s === "done") return;
    if (s === "visiting") throw new UserInputError(`dependency cycle: ${[...path.slice(path.indexOf(n.id)), n.id].join(" -> ")}`);
    state.set(n.id, "visiting");
    path.push(n.id);
    for (const dep of Object.values(n.deps)) visit(byId.get(dep)!);
    path.pop();
    state.set(n.id, "done");
    ordered.push(n);
  };
  for (const n of nodes) visit(n);
  return ordered;
}

/**
 * Resolves targets (`<scope>`, `<scope>:<kind>`, or a kind for every scope) to the nodes they
 * name plus everything those depend on, in dependency order; `byTarget`, the nodes each target
 * names.
 */
export function selectNodes<C extends object>(nodes: EngineNode<C>[], targets: string[]): { selected: EngineNode<C>[]; named: Set<string>; byTarget: Map<string, string[]> } {
  // No targets: everything, in the order given (a graph orderGraph checked names only its own nodes).
  if (targets.length === 0) return { selected: nodes.slice(), named: new Set(nodes.map((n) => n.id)), byTarget: new Map() };
  const byId = new Map(nodes.map((n) => [n.id, n]));
  const scopes = [...new Set(nodes.map((n) => n.scope))];
  const kinds = [...new Set(nodes.map((n) => n.kind))];
  const named = new Set<string>();
  const byTarget = new Map<string, string[]>();
  const problems: string[] = [];
  const name = (target: string, ids: string[]): void => {
    byTarget.set(target, ids);
    for (const id of ids) named.add(id);
  };
  for (const target of targets) {
    const colon = target.lastIndexOf(":");
    if (colon > 0) {
      if (byId.has(target)) name(target, [target]);
      else problems.push(unknownTarget(target, target.slice(0, colon), target.slice(colon + 1), nodes));
    } else if (scopes.includes(target)) {
      name(target, nodes.filter((n) => n.scope === target).map((n) => n.id));
    } else if (kinds.includes(target)) {
      name(target, nodes.filter((n) => n.kind === target).map((n) => n.id));
    } else {
      const guess = didYouMean(target, [...scopes, ...kinds]);
      problems.push(`unknown target "${target}"${guess ? ` (did you mean "${guess}"?)` : ""}`);
    }
  }
  if (problems.length) {
    throw new UserInputError(`${problems.join("\n")}\nTargets are <scope>, <scope>:<kind> or <kind>; scopes: ${scopes.join(", ")}`);
  }
  if (targets.length === 0) for (const n of nodes) named.add(n.id);
  const wanted = new Set<string>();
  const visit = (id: string): void => {
    if (wanted.has(id)) return;
    wanted.add(id);
    for (const d of Object.values(byId.get(id)?.deps ?? {})) visit(d);
  };
  for (const id of named) visit(id);
  return { selected: nodes.filter((n) => wanted.has(n.id)), named, byTarget };
}

function unknownTarget<C extends object>(target: string, scope: string, kind: string, nodes: EngineNode<C>[]): string {
  const scopes = [...new Set(nodes.map((n) => n.scope))];
  if (!scopes.includes(scope)) {
    const guess = didYouMean(scope, scopes);
    return `unknown scope "${scope}" in target "${target}"${guess ? ` (did you mean "${guess}"?)` : ""}`;
  }
  const guess = didYouMean(kind, nodes.filter((n) => n.scope === scope).map((n) => n.kind));
  return `unknown stage "${kind}" in target "${target}"${guess ? ` (did you mean "${guess}"?)` : ""}`;
}
