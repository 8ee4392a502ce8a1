import { spawn, spawnSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import Docker from "dockerode";
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from "vitest";
import { buildRecipeImage, ensureImage, openSandbox, openContainerIds, reapOrphans, SandboxError, type SandboxImage, type SandboxSession } from "../src/sandbox/index.js";
import { exited, makeProject, REPO, sabuild, sabuildJson, waitFor } from "./helpers.js";
import { containerExists, dockerCli, ensureDocker, removeImage } from "./support/docker.js";

/**
 * Real containers on a real engine. Each image is built once per file (and then found by its
 * tag on later runs); sessions are shared where a test does not change the container's state.
 */

const MINI_RECIPE = {
  "recipes/mini/recipe.yaml": "description: a tiny test recipe\ntools: [Bash, Read]\nworkdir: /workspace\nuser: agent\nlimits:\n  memory: 256m\n  cpus: 1\n  pids: 64\n  command_timeout_s: 10\n  output_limit_bytes: 2000\n",
  "recipes/mini/Dockerfile": [
    "ARG BASE_IMAGE=debian:bookworm-slim",
    "FROM ${BASE_IMAGE}",
    "RUN useradd --create-home --uid 1000 agent && install -d -o agent -g agent /workspace",
    "COPY --chown=agent:agent workspace/ /workspace/",
    "USER agent",
    "WORKDIR /workspace",
    "",
  ].join("\n"),
  "recipes/mini/workspace/hello.txt": "hello from the seed\n",
};

function miniProject(extra: Record<string, string> = {}, sandbox = "{recipe: mini}"): string {
  return makeProject({
    "subagents.yaml": ["version: 1", "subagents:", "  boxed:", "    until: sandbox", "    source:", "      inline:", "        description: Runs commands", "        prompt: You run commands.", `    sandbox: ${sandbox}`, "    tasks: {seed: [List the files.], count: 1, holdout: 0}", ""].join("\n"),
    ...MINI_RECIPE,
    ...extra,
  });
}

type Stages = { stages: { id: string; status: string; error?: string; reasons: { type: string; message?: string; path?: string }[] }[] };
const stageOf = (r: Stages, id: string) => r.stages.find((s) => s.id === id)!;

let shell: SandboxImage;

beforeAll(async () => {
  await ensureDocker();
  shell = await buildRecipeImage({ recipe: "shell" });
}, 600_000);

afterAll(async () => {
  expect(openContainerIds()).toEqual([]);
});

// How a session behaves (argv, user, limits, network, output cap, abort, OOM, close) is the
// sandbox contract suite's (tests/contracts/sandbox.ts), run against Docker and Podman; this
// file keeps what is Docker- or stage-specific.

describe("cleanup", () => {
  it("reaps containers whose owner process is dead, and leaves live owners' alone", async () => {
    const dead = spawnSync("true").pid!;
    const live = spawn("sleep", ["60"]);
    const docker = new Docker();
    const make = async (pid: number) => {
      const c = await docker.createContainer({ Image: shell.id, Cmd: ["sleep", "infinity"], Labels: { "sabuild.managed": "1", "sabuild.owner.pid": String(pid), "sabuild.owner.host": (await import("node:os")).hostname() }, HostConfig: { NetworkMode: "none" } });
      await c.start();
      return c.id;
    };
    const orphan = await make(dead);
    const kept = await make(live.pid!);
    try {
      const reaped = await reapOrphans();
      expect(reaped).toContain(orphan);
      expect(reaped).not.toContain(kept);
      expect(containerExists(orphan)).toBe(false);
      expect(containerExists(kept)).toBe(true);
    } finally {
      live.kill();
      dockerCli(["rm", "-f", orphan, kept]);
    }
  });

  it("removes the container when preparing it fails, and throws the failure", async () => {
    let prepared = "";
    const failing = async (s: SandboxSession): Promise<void> => {
      prepared = s.containerId;
      if ((await s.exec(["sh", "-c", "exit 3"])).exitCode !== 0) throw new Error("cannot install the skill");
    };
    await expect(openSandbox(shell, { prepare: failing })).rejects.toThrow("cannot install the skill");
    expect(prepared).toMatch(/^[0-9a-f]{64}$/);
    expect(containerExists(prepared)).toBe(false);
    expect(openContainerIds()).not.toContain(prepared);
  });

  it.each(["SIGINT", "SIGTERM", "SIGHUP", "exit"])("removes open containers when the process ends (%s)", async (how) => {
    const script = [
      `import { openSandbox } from ${JSON.stringify(join(REPO, "dist/sandbox/index.js"))};`,
      `const s = await openSandbox(JSON.parse(process.argv[1]));`,
      `console.log(s.containerId);`,
      how === "exit" ? "process.exit(0);" : "setInterval(() => {}, 1000);",
    ].join("\n");
    const child = spawn(process.execPath, ["--input-type=module", "-e", script, JSON.stringify(shell)], { stdio: ["ignore", "pipe", "inherit"] });
    let out = "";
    child.stdout.on("data", (d) => (out += d));
    await waitFor(() => /^[0-9a-f]{64}$/m.test(out), 30_000, "the child's container");
    const id = out.trim();
    if (how !== "exit") child.kill(how as NodeJS.Signals);
    await exited(child);
    await waitFor(() => !containerExists(id), 15_000, `container ${id.slice(0, 12)} to be removed`);
  });
});

describe("errors", () => {
  it("an unreachable engine is a SandboxError with a hint, fast", () => {
    const dir = miniProject();
    const started = Date.now();
    const r = sabuild(dir, ["build"], { DOCKER_HOST: "unix:///nonexistent/docker.sock" });
    expect(Date.now() - started).toBeLessThan(15_000);
    expect(r.code).not.toBe(0);
    expect(r.stdout + r.stderr).toMatch(/cannot reach the Docker engine at unix:\/\/\/nonexistent\/docker.sock/);
    expect(r.stdout + r.stderr).toMatch(/hint: start the Docker engine/);
  });

  it("a failing Dockerfile fails the stage with the last lines of the build log", () => {
    const dir = miniProject({ "recipes/mini/Dockerfile": "ARG BASE_IMAGE=debian:bookworm-slim\nFROM ${BASE_IMAGE}\nRUN echo about to fail && exit 3\n" });
    const r = sabuildJson<Stages>(dir, ["build"]);
    expect(r.__code).not.toBe(0);
    const stage = stageOf(r, "boxed:sandbox");
    expect(stage.status).toBe("failed");
    expect(stage.error).toMatch(/building the sandbox image for the mini recipe failed: .*returned a non-zero code: 3/);
    expect(stage.error).toMatch(/\| about to fail/);
    expect(stage.error).toMatch(/hint: fix .*recipes\/mini\/Dockerfile/);
  });

  it("an unknown recipe is a config problem at sandbox.recipe, with the known ones", () => {
    const dir = miniProject({}, "{recipe: minii}");
    const r = sabuild(dir, ["plan"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/subagents\.yaml:\d+:\d+: subagents\.boxed\.sandbox\.recipe: unknown sandbox recipe "minii"/);
    expect(r.stderr).toMatch(/expected: one of mini, node-repo, python-repo, shell/);
    expect(r.stderr).toMatch(/did you mean "mini"\?/);
  });
});

describe("the sandbox stage", () => {
  it("builds the image, is up to date after, and goes stale when a recipe file changes", async () => {
    const dir = miniProject();
    const first = sabuildJson<Stages>(dir, ["build"]);
    expect(stageOf(first, "boxed:sandbox").status).toBe("built");
    const artifacts = sabuildJson<{ files: { path: string; blob: string }[] }>(dir, ["artifacts", "boxed:sandbox"]);
    const image = JSON.parse(readFileSync(artifacts.files.find((f) => f.path === "items/default/image.json")!.blob, "utf8")) as SandboxImage;
    expect(image).toMatchObject({ recipe: "mini", baseImage: "debian:bookworm-slim", workdir: "/workspace", user: "agent", tools: ["Bash", "Read"] });
    expect(image.tag).toBe(`sabuild/mini:${image.contextDigest.slice(0, 12)}`);
    expect(image.limits).toEqual({ memoryBytes: 256 * 1024 ** 2, cpus: 1, pids: 64, network: "none", commandTimeoutMs: 10_000, outputLimitBytes: 2000 });
    const inspected = await new Docker().getImage(image.tag).inspect();
    expect(inspected.Id).toBe(image.id);
    expect(inspected.Config.Labels["sabuild.context"]).toBe(image.contextDigest);

    expect(stageOf(sabuildJson<Stages>(dir, ["build"]), "boxed:sandbox").status).toBe("up-to-date");

    writeFileSync(join(dir, "recipes/mini/workspace/hello.txt"), "changed seed\n");
    const plan = sabuildJson<Stages>(dir, ["plan"]);
    expect(stageOf(plan, "boxed:sandbox").status).toBe("will-run");
    expect(stageOf(plan, "boxed:sandbox").reasons).toEqual([expect.objectContaining({ path: "recipes/mini/workspace/hello.txt" })]);
    const rebuilt = sabuildJson<Stages>(dir, ["build"]);
    expect(stageOf(rebuilt, "boxed:sandbox").status).toBe("built");
    const next = sabuildJson<{ files: { path: string; blob: string }[] }>(dir, ["artifacts", "boxed:sandbox"]);
    const image2 = JSON.parse(readFileSync(next.files.find((f) => f.path === "items/default/image.json")!.blob, "utf8")) as SandboxImage;
    expect(image2.contextDigest).not.toBe(image.contextDigest);
    const s = await openSandbox(image2);
    try {
      expect((await s.exec(["cat", "hello.txt"])).stdout).toBe("changed seed\n");
    } finally {
      await s.close();
    }
  });

  it("limits in subagents.yaml override the recipe's and change the key", () => {
    const dir = miniProject({}, "{recipe: mini, memory: 1g, command_timeout_s: 5}");
    expect(sabuild(dir, ["build"]).code).toBe(0);
    const artifacts = sabuildJson<{ files: { blob: string }[] }>(dir, ["artifacts", "boxed:sandbox"]);
    const image = JSON.parse(readFileSync(artifacts.files.find((f) => f.path === "items/default/image.json")!.blob, "utf8")) as SandboxImage;
    expect(image.limits).toMatchObject({ memoryBytes: 1024 ** 3, commandTimeoutMs: 5000, pids: 64 });
    writeFileSync(join(dir, "subagents.yaml"), readFileSync(join(dir, "subagents.yaml"), "utf8").replace("memory: 1g", "memory: 2g"));
    expect(stageOf(sabuildJson<Stages>(dir, ["plan"]), "boxed:sandbox").status).toBe("will-run");
  });

  it("ensureImage rebuilds an image that is gone from the engine", async () => {
    const dir = miniProject({ "recipes/mini/workspace/extra.txt": "ensure\n" });
    const image = await buildRecipeImage({ recipe: "mini", projectRoot: dir });
    removeImage(image.tag);
    const logs: string[] = [];
    const again = await ensureImage(image, { projectRoot: dir, log: (l) => logs.push(l) });
    expect(logs.join("\n")).toMatch(/missing from the Docker engine: rebuilding/);
    expect(again.contextDigest).toBe(image.contextDigest);
    expect(again.id).not.toBe(image.id);
    const s = await openSandbox(again);
    try {
      expect((await s.exec(["cat", "extra.txt"])).stdout).toBe("ensure\n");
    } finally {
      await s.close();
    }
    await expect(openSandbox(image)).rejects.toMatchObject({ message: /is not in the Docker engine/, hint: /call ensureImage/ });
  });
});

describe("the shipped recipes", () => {
  it("shell: a git repository with tagged releases and dependency bumps", async () => {
    const box = await openSandbox(shell);
    onTestFinished(() => box.close());
    const log = await box.exec(["git", "log", "--format=%s", "v1.2.0..HEAD"]);
    expect(log.exitCode).toBe(0);
    expect(log.stdout).toMatch(/^deps: bump curl/m);
    expect(log.stdout).toMatch(/^Merge branch/m);
    expect((await box.exec(["sh", "-c", "git tag --sort=-creatordate | head -1"])).stdout).toBe("v1.2.0\n");
    expect((await box.exec(["git", "status", "--porcelain"])).stdout).toBe("");
    // Fixed dates and names: the same commit ids on every build.
    expect((await box.exec(["git", "rev-parse", "--short", "v1.0.0^{commit}"])).stdout).toBe("26a1d92\n");
  });

  it.each([
    ["python-repo", ["python3", "-m", "pytest", "-q", "-p", "no:cacheprovider"], /3 failed, 25 passed/],
    ["node-repo", ["node", "--test", "test/"], /# pass 6\n# fail 2/],
  ])("%s: the test suite runs offline and some tests fail", async (recipe, argv, summary) => {
    const image = await buildRecipeImage({ recipe });
    expect(image.limits.network).toBe("none");
    const s = await openSandbox(image);
    try {
      const r = await s.exec(argv, { outputLimitBytes: 200_000 });
      expect(r.exitCode).toBe(1);
      expect(r.stdout).toMatch(summary);
    } finally {
      await s.close();
    }
  }, 600_000);
});
