import { sabuildAsync, spawnSabuild } from "../helpers.js";
import { startNginx } from "../nginx.js";
import { describeExecutorContract } from "./executor.js";

describeExecutorContract("local (this machine)", async () => {
  const nginx = await startNginx();
  return {
    executorsYaml: () => [],
    plain: "local",
    map: "local",
    cacheUrl: (prefix) => `${nginx.url}/${prefix}`,
    deadCacheUrl: "http://127.0.0.1:9/cache",
    cli: sabuildAsync,
    spawn: spawnSabuild,
    jobsLeft: async () => 0,
    stop: () => nginx.stop(),
  };
  // This machine hands out no GPUs: the GPU test is for the cluster engines.
}, { gpus: false });
