import { spawnSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { describe, expect, it } from "vitest";
import { engineHost } from "../src/sandbox/engine.js";
import { ensurePodman } from "./contracts/support/podman.js";
import { engineProject } from "./engine-project.js";
import { REPO, sabuild, sabuildJson } from "./helpers.js";

/**
 * `sandbox.engine` (top level): the machine's container engine. Podman is reached through its
 * Docker-compatible socket, which passes the sandbox contract suite (tests/contracts/
 * sandbox-podman.test.ts); here, that the setting points this machine's clients at it.
 */
describe("sandbox.engine", () => {
  it("stands for a DOCKER_HOST: Podman's socket, unless DOCKER_HOST is set", () => {
    expect(engineHost("docker", {})).toBeUndefined();
    expect(engineHost("podman", { DOCKER_HOST: "tcp://10.0.0.1:2375" })).toBeUndefined();
    expect(engineHost("podman", { CONTAINER_HOST: "unix:///srv/podman.sock" })).toBe("unix:///srv/podman.sock");
    expect(engineHost("podman", {}, 0)).toBe("unix:///run/podman/podman.sock");
    expect(engineHost("podman", { XDG_RUNTIME_DIR: "/run/user/1000" }, 1000)).toBe("unix:///run/user/1000/podman/podman.sock");
  });

  it("points sabuild's Docker clients at Podman (doctor reaches it), and rejects an unknown engine at its line", async () => {
    const host = await ensurePodman([]);
    const dir = engineProject({ tasks: 1 });
    const file = join(dir, "subagents.yaml");
    const text = readFileSync(file, "utf8");
    type Doctor = { checks: { name: string; status: string; detail: string }[] };
    const docker = (env: Record<string, string>) => sabuildJson<Doctor>(dir, ["doctor"], env).checks.find((c) => c.name === "docker");
    writeFileSync(file, text.replace("version: 1\n", "version: 1\nsandbox: { engine: podman }\n"));
    expect(docker({ DOCKER_HOST: "", CONTAINER_HOST: host })).toMatchObject({ status: "ok", detail: expect.stringMatching(new RegExp(`^engine \\S+ at ${host}$`)) });
    // DOCKER_HOST wins over the setting.
    expect(docker({ DOCKER_HOST: "unix:///nonexistent.sock", CONTAINER_HOST: host })).toMatchObject({ status: "missing", detail: expect.stringContaining("unix:///nonexistent.sock") });
    writeFileSync(file, text.replace("version: 1\n", "version: 1\nsandbox: { engine: apptainer }\n"));
    const bad = sabuild(dir, ["doctor"]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('subagents.yaml:2:20: sandbox.engine: invalid value "apptainer"\n  expected: one of "docker", "podman"');
  }, 120_000);
});

/**
 * dockerode as the sandbox loads it: its BuildKit session (gRPC, protobufjs) and docker-modem's
 * SSH transport (ssh2) wait for their first call. In a fresh process, since the test runner
 * has loaded dockerode whole already.
 */
describe("the Docker client", () => {
  it("loads without gRPC and ssh2, and loads them when their part is called", () => {
    const script = `
      import { createRequire } from "node:module";
      const { loadDockerode } = await import(${JSON.stringify(pathToFileURL(join(REPO, "dist/sandbox/docker.js")).href)});
      const Docker = await loadDockerode();
      const require = createRequire(${JSON.stringify(join(REPO, "package.json"))});
      const loaded = (name) => Object.keys(require.cache).some((f) => f.includes("/node_modules/" + name + "/"));
      const before = { grpc: loaded("@grpc/grpc-js"), ssh2: loaded("ssh2"), client: typeof new Docker().ping };
      // The session's first call loads the real module, which dials the engine: a dial that fails
      // reaches the handler as before.
      const session = require("dockerode/lib/session.js");
      const err = await new Promise((resolve) => session({ modem: { dial: (_o, cb) => cb(new Error("no engine here")) } }, undefined, (e) => resolve(e.message)));
      console.log(JSON.stringify({ before, err, after: { grpc: loaded("@grpc/grpc-js") } }));
    `;
    const r = spawnSync(process.execPath, ["--input-type=module", "-e", script], { encoding: "utf8" });
    expect(r.stderr).toBe("");
    expect(JSON.parse(r.stdout)).toEqual({ before: { grpc: false, ssh2: false, client: "function" }, err: "no engine here", after: { grpc: true } });
  });
});
