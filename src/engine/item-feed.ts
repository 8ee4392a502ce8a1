import type { Store } from "../store/index.js";

/**
 * How the items of a map node end, for the items of downstream stages that need them one by one
 * (`MapItem.needs`). A running map stage feeds each item as it ends; a node already built feeds
 * them from its output's index.json; a plain stage's output stands whole for any id.
 */

/** One upstream item as a downstream item sees it: its output, or why there is none. */
export type ItemEnd = { ok: true; output: string } | { ok: false; message: string };

export interface ItemFeed {
  /** Settles when the item ends; an id the node does not list ends at once, not ok. */
  get(id: string): Promise<ItemEnd>;
}

/** The feed of a map stage while it runs: `end` settles an item, `close` ends those never reached. */
export class LiveFeed implements ItemFeed {
  private readonly waiting = new Map<string, { promise: Promise<ItemEnd>; resolve(end: ItemEnd): void }>();

  constructor(
    private readonly node: string,
    ids: readonly string[],
  ) {
    for (const id of ids) {
      let resolve!: (end: ItemEnd) => void;
      const promise = new Promise<ItemEnd>((r) => (resolve = r));
      this.waiting.set(id, { promise, resolve });
    }
  }

  get(id: string): Promise<ItemEnd> {
    return this.waiting.get(id)?.promise ?? Promise.resolve(notListed(this.node, id));
  }

  end(id: string, end: ItemEnd): void {
    this.waiting.get(id)?.resolve(end);
  }

  /** Settles every item not ended yet (the stage stopped or was cancelled first); a settled one keeps its end. */
  close(message: string): void {
    for (const w of this.waiting.values()) w.resolve({ ok: false, message });
  }
}

/**
 * The feed of a built node: a map stage's items from its output's index.json, read on the first
 * `get` (a no-op build asks none); a plain stage's whole output for any id.
 */
export function feedFromOutput(store: Store, node: string, output: string, mapped: boolean): ItemFeed {
  if (!mapped) return { get: () => Promise.resolve({ ok: true, output }) };
  let items: Promise<Map<string, string> | undefined> | undefined;
  const load = async (): Promise<Map<string, string> | undefined> => {
    const manifest = await store.cas.readManifest(output);
    const index = manifest.entries.find((e) => e.path === "index.json");
    if (!index) return undefined;
    const parsed = JSON.parse((await store.cas.readBlob(index.digest)).toString("utf8")) as { items?: { id: string; output: string }[] };
    return new Map((parsed.items ?? []).map((i) => [i.id, i.output]));
  };
  return {
    async get(id) {
      const listed = await (items ??= load());
      if (!listed) return { ok: false, message: `${node}: its output has no index.json` };
      const found = listed.get(id);
      return found ? { ok: true, output: found } : notListed(node, id);
    },
  };
}

/** A feed for a node that produced no output: every item ends with why. */
export function failedFeed(message: string): ItemFeed {
  return { get: () => Promise.resolve({ ok: false, message }) };
}

function notListed(node: string, id: string): ItemEnd {
  return { ok: false, message: `${node} has no item ${id}` };
}
