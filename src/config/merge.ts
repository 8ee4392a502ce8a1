import { didYouMean, type Problem } from "../errors.js";
import type { Locator } from "./locate.js";

/** One layer of settings as written: `defaults`, or one subagent's own keys. */
export type Layer = Record<string, unknown>;

export function isMapping(value: unknown): value is Layer {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/**
 * Later layers win. Mappings merge key by key, recursively; lists and scalars replace whole;
 * `null` removes the key, so the built-in default applies again.
 */
export function mergeLayers(layers: readonly Layer[]): Layer {
  return layers.reduce<Layer>((merged, layer) => mergeTwo(merged, layer), {});
}

function mergeTwo(base: Layer, over: Layer): Layer {
  const out: Layer = { ...base };
  for (const [key, value] of Object.entries(over)) {
    if (value === null) delete out[key];
    else if (isMapping(value)) out[key] = mergeTwo(isMapping(out[key]) ? out[key] : {}, value);
    else out[key] = value;
  }
  return out;
}

export interface Chains {
  /** For each subagent whose chain resolves: itself, its parent, ..., the furthest ancestor. */
  chains: Map<string, string[]>;
  problems: Problem[];
}

/**
 * Follows `extends` from every subagent. An unknown name is reported where it is written; a
 * cycle is reported once, at the first subagent of the cycle in file order. A subagent whose
 * chain is broken gets no chain, so no further problem is derived from guesses about it.
 */
export function resolveChains(subagents: Layer, order: readonly string[], locate: Locator): Chains {
  const chains = new Map<string, string[]>();
  const problems: Problem[] = [];
  const parentOf = (name: string): unknown => {
    const layer = subagents[name];
    return isMapping(layer) ? layer.extends : undefined;
  };

  for (const name of order) {
    const chain = [name];
    let broken = false;
    for (let parent = parentOf(name); typeof parent === "string"; parent = parentOf(parent)) {
      if (!Object.hasOwn(subagents, parent)) {
        if (chain.length === 1) problems.push(unknownParent(name, parent, order, locate));
        broken = true;
        break;
      }
      if (chain.includes(parent)) {
        if (parent === name && order.find((n) => chain.includes(n)) === name) {
          problems.push(
            locate.at(["subagents", name, "extends"], "value", {
              message: `extends cycle: ${[...chain, name].join(" -> ")}`,
              hint: "remove extends from one subagent of the cycle",
            }),
          );
        }
        broken = true;
        break;
      }
      chain.push(parent);
    }
    if (!broken) chains.set(name, chain);
  }
  return { chains, problems };
}

function unknownParent(name: string, parent: string, order: readonly string[], locate: Locator): Problem {
  const others = order.filter((n) => n !== name);
  const suggestion = didYouMean(parent, others);
  const hint =
    suggestion !== undefined
      ? `did you mean "${suggestion}"?`
      : others.length > 0
        ? `subagents defined here: ${others.join(", ")}`
        : "extends names another subagent in this file";
  return locate.at(["subagents", name, "extends"], "value", {
    message: `unknown subagent "${parent}"`,
    hint,
  });
}
