import { chmodSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll } from "vitest";
import { bundleBackend, remoteBackend, storeBackend } from "../../src/store/backend.js";
import { openStore } from "../../src/store/index.js";
import { tempDir } from "../helpers.js";
import { startNginx, type Nginx } from "../nginx.js";
import { describeCacheBackendContract } from "./cache-backend.js";
import { damageTarEntry } from "./support/tar.js";

/** Flips one byte of a file in place: same size, other content. */
function flipFirstByte(path: string): void {
  const data = readFileSync(path);
  data[0] = data[0]! ^ 0xff;
  chmodSync(path, 0o644);
  writeFileSync(path, data);
}

describeCacheBackendContract("another store directory", async () => {
  const store = await openStore(tempDir("sabuild-contract-backend-store-"));
  return { backend: storeBackend(store), damage: async (digest) => flipFirstByte(store.cas.blobPath(digest)) };
});

let nginx: Nginx;
let servers = 0;
beforeAll(async () => {
  nginx = await startNginx();
});
afterAll(() => nginx?.stop());

describeCacheBackendContract("the HTTP remote cache on nginx (WebDAV)", async () => {
  // One server for the file; each test gets its own prefix, i.e. an empty cache.
  const prefix = `t${++servers}`;
  return {
    backend: remoteBackend({ url: `${nginx.url}/${prefix}`, mode: "readwrite", headers: {} }),
    damage: async (digest) => flipFirstByte(join(nginx.data, prefix, "cas", digest)),
  };
});

describeCacheBackendContract("a bundle file", async () => {
  const file = join(tempDir("sabuild-contract-bundle-"), "cache.tar");
  return { backend: bundleBackend(file), damage: async (digest) => damageTarEntry(file, `cas/${digest}`) };
});
