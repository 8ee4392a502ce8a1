import { chmodSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { hostRunner, hostServerRunner } from "../../src/toolchain/runners.js";
import { describeToolRunnerContract } from "./tool-runner.js";

/**
 * Binaries on this machine (export.tools.quantize / server set to a path). Debian bookworm has no
 * llama.cpp and sid's binaries need sid's glibc, so each "binary" here is an executable script
 * that execs sid's build through `docker run` on the host network, with the work directory
 * mounted at its own path: to the runner it is a file it spawns, signals and waits for.
 */
function wrapper(dir: string, image: string, binary: string): string {
  const path = join(dir, binary);
  const user = `${process.getuid!()}:${process.getgid!()}`;
  writeFileSync(path, `#!/bin/sh\nexec docker run --rm --init --network host -u ${user} -v "${dir}:${dir}" --entrypoint ${binary} ${image} "$@"\n`);
  chmodSync(path, 0o755);
  return path;
}

describeToolRunnerContract("on this machine (an executable file)", async ({ dir, image }) => ({
  quantize: hostRunner(wrapper(dir, image, "llama-quantize")),
  server: hostServerRunner(wrapper(dir, image, "llama-server")),
}));
