import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { REPO } from "../helpers.js";

/**
 * A project recipe whose image has the inventory MCP server installed, as a user's recipe installs
 * the servers its agents use: Debian's nodejs (18, as in the bundled node-repo recipe, whose first
 * layer this one shares) and the server bundled into one file with rolldown (the bundler vite
 * ships), since the sandbox has no npm registry to install the SDK from.
 */

export const SERVER = join(REPO, "tests/fixtures/mcp/inventory-server.mjs");
/** Where the recipe puts the server in the image. */
export const SERVER_IN_IMAGE = "/opt/inventory/server.mjs";

let bundled: Promise<string> | undefined;

async function bundle(): Promise<string> {
  const { build } = await import("rolldown");
  const out = await build({ input: SERVER, platform: "node", write: false, logLevel: "silent", output: { format: "esm", codeSplitting: false } });
  const chunk = out.output.find((o) => o.type === "chunk");
  if (!chunk || chunk.type !== "chunk") throw new Error("rolldown wrote no chunk for the inventory server");
  return chunk.code;
}

/** Writes recipes/<name>/ into the project: Dockerfile, recipe.yaml and the bundled server. */
export async function writeInventoryRecipe(projectDir: string, name = "inventory"): Promise<void> {
  const dir = join(projectDir, "recipes", name);
  mkdirSync(dir, { recursive: true });
  // The first RUN is node-repo's, word for word, so Docker's layer cache builds it once.
  const nodeRepo = readFileSync(join(REPO, "recipes/node-repo/Dockerfile"), "utf8");
  const firstRun = /^RUN [\s\S]*?useradd[^\n]*\n/m.exec(nodeRepo)?.[0];
  if (!firstRun) throw new Error("recipes/node-repo/Dockerfile has no RUN that installs nodejs");
  writeFileSync(
    join(dir, "Dockerfile"),
    ["ARG BASE_IMAGE=debian:bookworm-slim", "FROM ${BASE_IMAGE}", firstRun.trimEnd(), "RUN install -d -o agent -g agent /workspace", `COPY server.mjs ${SERVER_IN_IMAGE}`, "USER agent", "WORKDIR /workspace", ""].join("\n"),
  );
  writeFileSync(
    join(dir, "recipe.yaml"),
    "description: Node.js 18 with the inventory MCP server installed\ntools: [Bash, Read]\nworkdir: /workspace\nuser: agent\nnetwork: none\nlimits: {memory: 1g, cpus: 1, pids: 256, command_timeout_s: 60, output_limit_bytes: 30000}\n",
  );
  writeFileSync(join(dir, "server.mjs"), await (bundled ??= bundle()));
}
