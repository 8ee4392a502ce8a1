import { execFileSync, spawnSync } from "node:child_process";
import { appendFileSync, chmodSync, cpSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { beforeAll, describe, expect, it } from "vitest";
import { makeProject, REPO, sabuildJson, tempDir, type CliResult } from "./helpers.js";

/**
 * `plan` decides without running anything: on a fresh project it makes no trainer venv (that
 * took minutes), yet the train key it shows is the one the first build commits under, and it
 * still changes with what the venv holds or would hold.
 */

type Planned = { __code: number; stages: { id: string; status: string; key?: string; reasons: { type: string; message?: string }[] }[] };
type Explained = { fields: { field: string; now?: unknown }[] };

// A dataset stage as a plugin (the real one counts tokens in the venv): one short row.
const DATASET_PLUGIN = `
import { writeFileSync } from "node:fs";
import { join } from "node:path";
const row = { messages: [{ role: "user", content: "Say hi" }, { role: "assistant", content: "hi there" }], tools: [], meta: {} };
export default () => [{
  kind: "dataset",
  version: "1",
  deps: ["import"],
  inputs: async () => ({ ok: true, value: { params: null, files: [] } }),
  async run(ctx) { writeFileSync(join(ctx.outDir, "train.jsonl"), JSON.stringify(row) + "\\n"); },
}];
`;

const TOOLS = ["convert_hf_to_gguf.py", "convert_lora_to_gguf.py", "llama-quantize", "llama-server"];

/** One subagent up to export, with a local base model and llama.cpp tools given as files (no downloads). */
function project(): string {
  return makeProject({
    "subagents.yaml": [
      "version: 1",
      "plugins: [plugins/dataset.mjs]",
      "subagents:",
      "  alpha:",
      "    until: export",
      "    source:",
      "      inline:",
      "        description: Runs the tests",
      "        prompt: You run tests.",
      "    base_model: models/tiny",
      "    export:",
      "      tools:",
      "        convert: llama/convert_hf_to_gguf.py",
      "        convert_lora: llama/convert_lora_to_gguf.py",
      "        quantize: llama/llama-quantize",
      "        server: llama/llama-server",
      "",
    ].join("\n"),
    "plugins/dataset.mjs": DATASET_PLUGIN,
    "models/tiny/config.json": '{"model_type": "qwen3"}',
    ...Object.fromEntries(TOOLS.map((t) => [`llama/${t}`, "v1\n"])),
  });
}

const trainKey = (p: Planned): string | undefined => p.stages.find((s) => s.id === "alpha:train")?.key;

/** The toolchain fields of the stage's key as they are now (sabuild explain). */
function toolchainOf(run: (args: string[]) => CliResult, target: string): Record<string, unknown> {
  const r = run(["explain", target, "--json"]);
  expect(r.code, r.stderr).toBe(0);
  const fields = (JSON.parse(r.stdout) as Explained).fields.filter((f) => f.field.startsWith("toolchain."));
  return Object.fromEntries(fields.map((f) => [f.field.slice("toolchain.".length), f.now]));
}

describe("plan on a fresh project", () => {
  it("makes no trainer venv, at SABUILD_VENV or in .sabuild/, and plans train and export", () => {
    const dir = project();
    const parent = tempDir("sabuild-venv-");
    const venv = join(parent, "not-yet", "venv");
    for (const env of [{ SABUILD_VENV: venv }, { SABUILD_VENV: "" }]) {
      const plan = sabuildJson<Planned>(dir, ["plan", "alpha:export"], env);
      expect(plan.__code, JSON.stringify(plan.stages)).toBe(0);
      expect(plan.stages.map((s) => [s.id, s.status])).toEqual([
        ["alpha:import", "will-run"],
        ["alpha:dataset", "will-run"],
        ["alpha:train", "will-run"],
        ["alpha:export", "will-run"],
      ]);
    }
    expect(existsSync(venv)).toBe(false);
    expect(readdirSync(parent)).toEqual([]);
    expect(existsSync(join(dir, ".sabuild", "venv"))).toBe(false);
  });

  it("refuses a SABUILD_VENV that is something else, and leaves it there", () => {
    const dir = project();
    const other = tempDir("sabuild-venv-");
    writeFileSync(join(other, "notes.txt"), "mine\n");
    const plan = sabuildJson<Planned>(dir, ["plan", "alpha:train"], { SABUILD_VENV: other });
    const train = plan.stages.find((s) => s.id === "alpha:train")!;
    expect(train.status).toBe("error");
    expect(train.reasons[0]!.message).toContain(`${other} exists and is not a Python venv`);
    expect(readdirSync(other)).toEqual(["notes.txt"]);
  });
});

/**
 * A copy of the installed package (dist/, trainer/) whose requirements.txt the test may edit:
 * what sabuild would install is the package's own file.
 */
function packageCopy(requirements: string): string {
  const pkg = tempDir("sabuild-pkg-");
  cpSync(join(REPO, "dist"), join(pkg, "dist"), { recursive: true });
  cpSync(join(REPO, "trainer"), join(pkg, "trainer"), { recursive: true, filter: (p) => !p.includes("__pycache__") });
  cpSync(join(REPO, "package.json"), join(pkg, "package.json"));
  for (const shared of ["node_modules", "recipes", "schema", "bin"]) symlinkSync(join(REPO, shared), join(pkg, shared));
  writeFileSync(join(pkg, "trainer", "requirements.txt"), requirements);
  return pkg;
}

describe("the train key", () => {
  let pkg: string;
  let dir: string;
  let venv: string;
  const run = (args: string[], env: Record<string, string> = {}): CliResult => {
    const r = spawnSync(process.execPath, [join(pkg, "dist/cli/main.js"), ...args], { cwd: dir, encoding: "utf8", env: { ...process.env, CI: "1", SABUILD_VENV: venv, ...env } });
    return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
  };
  const planKey = (env: Record<string, string> = {}): string => {
    const r = run(["plan", "alpha:train", "--json"], env);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    const key = trainKey(JSON.parse(r.stdout) as Planned);
    expect(key, r.stdout).toBeDefined();
    return key!;
  };

  beforeAll(() => {
    // A pin the local package index has and that installs in seconds.
    pkg = packageCopy("# the trainer's stack, for this test\nsix==1.17.0\n");
    dir = project();
    venv = join(tempDir("sabuild-venv-"), "venv");
    const built = run(["build", "alpha:dataset"]);
    expect(built.code, built.stderr).toBe(0);
  });

  it("is the same before and after the venv is made, and names the pins and the interpreter", async () => {
    const before = planKey();
    expect(existsSync(venv)).toBe(false);
    const python = execFileSync("python3", ["--version"], { encoding: "utf8" }).trim().replace("Python ", "");
    expect(toolchainOf(run, "alpha:train")).toMatchObject({ "trainer.runner": "local", "trainer.python": python, "trainer.requirements.six": "==1.17.0" });

    // What the train stage's run() does on the first build.
    const { ensureVenv } = (await import(pathToFileURL(join(pkg, "dist/toolchain/venv.js")).href)) as typeof import("../src/toolchain/venv.js");
    const made = await ensureVenv({ dir: venv });
    expect(made.versions).toEqual({ python, six: "1.17.0" });
    expect(planKey()).toBe(before);
    expect(existsSync(join(venv, "sabuild-venv.json"))).toBe(true);
  }, 180_000);

  it("changes when a pin, the interpreter's version or a trainer module changes, and plan remakes nothing", () => {
    const before = planKey();
    const stamp = statSync(join(venv, "sabuild-venv.json")).mtimeMs;
    const requirements = join(pkg, "trainer", "requirements.txt");
    const original = readFileSync(requirements, "utf8");

    writeFileSync(requirements, original.replace("six==1.17.0", "six==1.16.0"));
    const pinned = planKey();
    expect(pinned).not.toBe(before);
    expect(toolchainOf(run, "alpha:train")["trainer.requirements.six"]).toBe("==1.16.0");
    // Only a comment: nothing installed would change.
    writeFileSync(requirements, `${original}# a note\n`);
    expect(planKey()).toBe(before);
    writeFileSync(requirements, original);

    // An interpreter of another version (SABUILD_PYTHON makes the venv).
    const bin = tempDir("sabuild-python-");
    const fake = join(bin, "python3");
    writeFileSync(fake, '#!/bin/sh\nif [ "$1" = --version ]; then echo "Python 3.99.0"; else exec python3 "$@"; fi\n');
    chmodSync(fake, 0o755);
    const other = planKey({ SABUILD_PYTHON: fake });
    expect(other).not.toBe(before);
    expect(other).not.toBe(pinned);

    appendFileSync(join(pkg, "trainer", "sft.py"), "\n# edited\n");
    const edited = planKey();
    expect(edited).not.toBe(before);
    // throughput.py plans the batch (and its split over data-parallel ranks): it is trainer code too.
    appendFileSync(join(pkg, "trainer", "throughput.py"), "\n# edited\n");
    expect(planKey()).not.toBe(edited);
    expect(statSync(join(venv, "sabuild-venv.json")).mtimeMs).toBe(stamp);
  });
});

describe("a venv of the user's own (SABUILD_VENV)", () => {
  it("keys what it has installed, and plan writes nothing into it", () => {
    const dir = project();
    const venv = join(tempDir("sabuild-venv-"), "mine");
    execFileSync("python3", ["-m", "venv", "--without-pip", venv]);
    const env = { SABUILD_VENV: venv };
    const planKey = (): string => {
      const plan = sabuildJson<Planned>(dir, ["plan", "alpha:train"], env);
      expect(plan.__code, JSON.stringify(plan.stages)).toBe(0);
      return trainKey(plan)!;
    };
    expect(sabuildJson<Planned>(dir, ["build", "alpha:dataset"], env).__code).toBe(0);
    const before = planKey();
    expect(before).toBeDefined();
    const run = (args: string[]): CliResult => {
      const r = spawnSync(process.execPath, [join(REPO, "dist/cli/main.js"), ...args], { cwd: dir, encoding: "utf8", env: { ...process.env, CI: "1", ...env } });
      return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
    };
    expect(toolchainOf(run, "alpha:train")).toMatchObject({ "trainer.runner": "local", "trainer.installed.torch": "missing" });

    // An install, as pip leaves it: a dist-info directory in site-packages.
    const site = join(venv, "lib", readdirSync(join(venv, "lib")).find((d) => d.startsWith("python"))!, "site-packages");
    const install = (name: string, version: string): void => {
      mkdirSync(join(site, `${name}-${version}.dist-info`), { recursive: true });
      writeFileSync(join(site, `${name}-${version}.dist-info`, "METADATA"), `Metadata-Version: 2.1\nName: ${name}\nVersion: ${version}\n`);
    };
    install("torch", "2.13.0");
    const torch = planKey();
    expect(torch).not.toBe(before);
    expect(toolchainOf(run, "alpha:train")["trainer.installed.torch"]).toBe("2.13.0");
    // A package the requirements do not name is an input too.
    install("numpy", "2.4.6");
    expect(planKey()).not.toBe(torch);
    expect(existsSync(join(venv, "sabuild-venv.json"))).toBe(false);
  });
});
