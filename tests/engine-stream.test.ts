import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { buildNodes, type NodeOutcome } from "../src/engine/build.js";
import type { EngineEvent } from "../src/engine/events.js";
import { localExecutor } from "../src/engine/executor.js";
import type { EngineNode, EngineStage, MapItem } from "../src/engine/types.js";
import { ok } from "../src/result.js";
import { openStore, type Store } from "../src/store/index.js";

/**
 * Map stages whose items need items of an upstream map stage (`MapItem.needs`, `map.stream`),
 * as rollouts need their environment's image: an item starts when the items it needs end, a
 * failed upstream item fails only the items that need it, and an item's key is the same whether
 * its upstream was built before or was still running.
 */

interface World {
  /** What each env item writes; a string starting "fail" makes it throw that. */
  envs: Record<string, string>;
  /** Env items wait for this before they write (the test opens it). */
  gate?: Promise<void>;
  /** Which rollout needs which env. */
  rollouts: Record<string, string>;
  /** Things that happened, in order. */
  events: string[];
}

/** How many times a stage's opened map was closed, by kind. */
const closed: Record<string, number> = {};

/** What the environments are made from (as tasks are for the sandbox stage): the map fans out over it. */
function listStage(w: World): EngineStage<object> {
  return {
    kind: "list",
    version: "1",
    inputs: async () => ok({ params: { envs: w.envs }, files: [] }),
    run: async (ctx) => writeFileSync(join(ctx.outDir, "envs.json"), JSON.stringify(w.envs)),
  };
}

function envStage(w: World): EngineStage<object> {
  return {
    kind: "envs",
    version: "1",
    inputs: async () => ok({ params: {}, files: [] }),
    map: {
      over: "list",
      async open() {
        return {
          items: Object.entries(w.envs).map(([id, text]): MapItem => ({ id, input: { text } })),
          async runItem(ctx, item) {
            const text = (item.input as { text: string }).text;
            if (item.id !== "e1") await w.gate;
            w.events.push(`env ${item.id} end`);
            if (text.startsWith("fail")) throw new Error(`${text} (build log tail)`);
            writeFileSync(join(ctx.outDir, "image.txt"), text);
          },
          async close() {
            closed.envs = (closed.envs ?? 0) + 1;
          },
        };
      },
    },
  };
}

function rolloutStage(w: World): EngineStage<object> {
  return {
    kind: "roll",
    version: "1",
    inputs: async () => ok({ params: {}, files: [] }),
    map: {
      over: ["envs"],
      stream: ["envs"],
      async open(ctx) {
        // Streamed upstreams never reach open(): only the items that need them see them.
        if ("envs" in ctx.upstream) throw new Error("open() saw the streamed upstream");
        return {
          items: Object.entries(w.rollouts).map(([id, env]): MapItem => ({ id, input: { env }, needs: { envs: env } })),
          async runItem(ctx, item) {
            const image = readFileSync(join(ctx.upstream.envs!.dir, "image.txt"), "utf8");
            w.events.push(`roll ${item.id} on ${image}`);
            writeFileSync(join(ctx.outDir, "trace.txt"), image);
          },
        };
      },
    },
  };
}

function nodes(w: World): EngineNode[] {
  return [
    { id: "s:list", scope: "s", kind: "list", stage: listStage(w), context: {}, deps: {} },
    { id: "s:envs", scope: "s", kind: "envs", stage: envStage(w), context: {}, deps: { list: "s:list" } },
    { id: "s:roll", scope: "s", kind: "roll", stage: rolloutStage(w), context: {}, deps: { envs: "s:envs" } },
  ];
}

async function build(store: Store, selected: EngineNode[]): Promise<Record<string, NodeOutcome>> {
  const seen: EngineEvent[] = [];
  const outcomes = await buildNodes(
    { root: store.root, store, lock: {}, trustLock: false, toolchainOf: () => ({}), events: (e) => seen.push(e), jobs: 2, signal: new AbortController().signal, executor: localExecutor },
    selected,
  );
  return Object.fromEntries(outcomes.map((o) => [o.id.split(":")[1]!, o]));
}

function world(envs: Record<string, string>): World & { open(): void } {
  let open!: () => void;
  const gate = new Promise<void>((r) => (open = r));
  return { envs, gate, open, rollouts: { r1: "e1", r2: "e2", r3: "e1" }, events: [] };
}

describe("items that need upstream items", () => {
  it("start as soon as their own upstream item is built, before the others", async () => {
    const store = await openStore(mkdtempSync(join(tmpdir(), "sabuild-stream-")));
    const w = world({ e1: "image-one", e2: "image-two" });
    const done = build(store, nodes(w));
    // e2 is held at its gate: the rollouts on e1 must run meanwhile.
    await waitFor(() => w.events.filter((e) => e.startsWith("roll")).length === 2);
    expect(w.events).toEqual(["env e1 end", "roll r1 on image-one", "roll r3 on image-one"]);
    w.open();
    const out = await done;
    expect(w.events.slice(3)).toEqual(["env e2 end", "roll r2 on image-two"]);
    expect(out.envs!.status).toBe("built");
    expect(out.roll!.status).toBe("built");
    expect(out.roll!.items).toMatchObject({ run: 3, reused: 0 });
    // The stage's own key holds the whole upstream output, as a stage that waited would.
    const again = await build(store, nodes(world({ e1: "image-one", e2: "image-two" })));
    expect(again.roll!.status).toBe("restored");
    expect(again.roll!.key).toBe(out.roll!.key);
  });

  it("fail only where the upstream item they need failed; the others are kept", async () => {
    const store = await openStore(mkdtempSync(join(tmpdir(), "sabuild-stream-")));
    closed.envs = 0;
    const broken = world({ e1: "image-one", e2: "fail: apt-get exited 100" });
    broken.open();
    const first = await build(store, nodes(broken));
    expect(first.envs!.status).toBe("failed");
    expect(first.roll!.status).toBe("failed");
    expect(first.roll!.items).toMatchObject({ run: 2, failed: 1 });
    const failure = first.roll!.failure;
    expect(failure?.reason).toBe("items");
    if (failure?.reason !== "items") return;
    expect(failure.failed).toEqual([{ id: "r2", message: expect.stringContaining("s:envs item e2 did not complete: ") }]);
    expect(failure.failed[0]!.message).toContain("fail: apt-get exited 100 (build log tail)");
    // What the items shared is released once, after the last item, though one failed.
    expect(closed.envs).toBe(1);
    // Fixed: only the environment that failed builds, and only its rollout runs.
    const fixed = world({ e1: "image-one", e2: "image-two" });
    fixed.open();
    const second = await build(store, nodes(fixed));
    expect(second.envs!.items).toMatchObject({ run: 1, reused: 1 });
    expect(second.roll!.items).toMatchObject({ run: 1, reused: 2 });
    expect(fixed.events).toEqual(["env e2 end", "roll r2 on image-two"]);
  });

  it("have the same key whether their upstream was built before or is still running", async () => {
    const store = await openStore(mkdtempSync(join(tmpdir(), "sabuild-stream-")));
    const w = world({ e1: "image-one", e2: "image-two" });
    w.open();
    // The upstream alone first: the rollouts then open on a finished upstream.
    await build(store, nodes(w).slice(0, 2));
    const settled = await build(store, nodes(w));
    expect(settled.envs!.status).toBe("restored");
    expect(settled.roll!.items).toMatchObject({ run: 3 });
    // One environment changes: the rollouts stream it, those on the other are reused by key.
    const changed = world({ e1: "image-one", e2: "image-two-b" });
    changed.open();
    const streamed = await build(store, nodes(changed));
    expect(streamed.envs!.items).toMatchObject({ run: 1, reused: 1 });
    expect(streamed.roll!.items).toMatchObject({ run: 1, reused: 2 });
    expect(changed.events).toEqual(["env e2 end", "roll r2 on image-two-b"]);
  });
});

async function waitFor(check: () => boolean): Promise<void> {
  const until = Date.now() + 10_000;
  while (!check()) {
    if (Date.now() > until) throw new Error("timed out waiting");
    await new Promise((r) => setTimeout(r, 10));
  }
}
