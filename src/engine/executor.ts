import type { EngineNode, ItemOutcome, MapItem, OpenedMap, RunHooks } from "./types.js";

/**
 * Where a stage's work runs: the engine decides (keys, staging, commits); an executor only
 * runs a plain stage's `run` or one map item into the staging directory it is given. The local
 * executor calls the stage in this process; cluster executors submit the same work elsewhere.
 */
export interface Executor {
  readonly name: string;
  run(node: EngineNode, hooks: RunHooks): Promise<void>;
  runItem(node: EngineNode, opened: OpenedMap<object>, hooks: RunHooks, item: MapItem): Promise<ItemOutcome>;
}

export const localExecutor: Executor = {
  name: "local",
  async run(node, hooks) {
    if (!node.stage.run) throw new Error(`stage ${node.kind} has neither run nor map`);
    await node.stage.run({ ...node.context, ...hooks });
  },
  async runItem(node, opened, hooks, item) {
    return (await opened.runItem({ ...node.context, ...hooks }, item)) ?? { outcome: "done" };
  },
};
