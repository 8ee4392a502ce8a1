import { execFileSync } from "node:child_process";
import { startRayHead } from "../support/ray-head.js";
import { describeExecutorContract } from "./executor.js";

/**
 * Against a real Ray head (pip's ray 2.58, core only) started by this file in a private network
 * namespace with its remote cache (tests/support/ray-head.ts). Without Ray the setup fails.
 */
describeExecutorContract("Ray (core API tasks)", async () => {
  const head = await startRayHead({ cpus: 4, gpus: 1 });
  const executor = (name: string, extra: string, env: Record<string, string>): string =>
    `  ${name}: { type: ray, address: '${head.address}', python: ${head.python}, poll_s: 0.5, runtime_env: { env_vars: ${JSON.stringify(env)} }${extra} }`;
  return {
    executorsYaml: (env) => [executor("ray", "", env), executor("ray-gpu", ", num_gpus: 1", env)],
    plain: "ray",
    map: "ray",
    gpu: "ray-gpu",
    shipped: (env, command) => executor("shipped", `, ship: bundle, items_per_task: 2, sabuild: '${command}'`, env),
    failedTask: /Ray ray task \d+ failed \(exit 1\)/,
    cacheUrl: head.cacheUrl,
    deadCacheUrl: "http://127.0.0.1:9/cache",
    cli: head.cli,
    spawn: head.spawn,
    // The tasks' sabuild exec processes (Ray's own task table needs the dashboard's state API).
    jobsLeft: async () => execFileSync("ps", ["-eo", "args"], { encoding: "utf8" }).split("\n").filter((l) => / exec alpha:\S+ .*--order /.test(l)).length,
    stop: head.stop,
  };
}, { gpus: true, bundle: true });
