import { execFileSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { prepareSandboxImages } from "./support/docker.js";

/** Tests drive the compiled CLI, as users do: compile it once before any test file runs. */
export default async function setup(): Promise<void> {
  const root = join(import.meta.dirname, "..");
  execFileSync(process.execPath, [join(root, "node_modules/typescript/bin/tsc"), "-p", join(root, "tsconfig.json")], { stdio: "inherit" });
  writeFileSync(join(root, "dist/.build-stamp"), "");
  await prepareSandboxImages();
}
