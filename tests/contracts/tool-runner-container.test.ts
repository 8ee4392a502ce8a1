import Docker from "dockerode";
import { containerRunner, containerServerRunner } from "../../src/toolchain/runners.js";
import { describeToolRunnerContract } from "./tool-runner.js";

// What sabuild runs when llama.cpp's binaries come from an image (by default its managed Debian sid one).
describeToolRunnerContract("in an image (sabuild/llama.cpp)", async ({ image }) => {
  const docker = new Docker();
  return { quantize: containerRunner(docker, image, "llama-quantize"), server: containerServerRunner(docker, image) };
});
