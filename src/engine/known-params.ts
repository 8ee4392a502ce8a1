// A leaf module: the store (store/verified.ts) implements it and the engine reads it, without
// either importing the other's modules.

/**
 * The canonical params text of nodes, each with the sha256 of it a build computed: with a
 * trusted lock, a node whose params read as remembered has its entry's params without hashing.
 */
export interface KnownParams {
  /** [sha256, canonical text] remembered for a node. */
  get(id: string): readonly [string, string] | undefined;
  /** A node's params as hashed in this run, for the next. */
  learn(id: string, digest: string, canonical: string): void;
}
