import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { mkdir, readdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import { basename, dirname, isAbsolute, join, resolve } from "node:path";
import { processAlive } from "../process-alive.js";

/**
 * The `local` trainer runner's Python: a virtual environment that sabuild creates from
 * trainer/requirements.txt and reuses while that file is unchanged. It is built in a sibling
 * temp directory and renamed into place with its stamp already inside, so a crash never leaves
 * a half-installed venv that looks ready.
 */

/** The root of the installed sabuild package: the parent of trainer/. */
export const PACKAGE_ROOT = resolve(import.meta.dirname, "../..");
export const TRAINER_REQUIREMENTS = join(PACKAGE_ROOT, "trainer/requirements.txt");
/** The trainer modules `python -m trainer.sft` runs: their digest joins the train stage's key. */
export const TRAINER_MODULES = ["__init__.py", "config.py", "progress.py", "report.py", "rows.py", "sft.py"];
/** The Python modules the export stage runs: merging, the LoRA GGUF writer, the fidelity check. */
export const EXPORT_MODULES = ["__init__.py", "merge.py", "lora_gguf.py", "fidelity.py"];
/** Packages whose resolved versions are part of the toolchain identity. */
export const STACK = ["torch", "transformers", "tokenizers", "peft", "trl", "accelerate", "datasets", "safetensors"];

const STAMP = "sabuild-venv.json";

export interface Venv {
  dir: string;
  /** The interpreter to run: <dir>/bin/python. */
  python: string;
  /** python and every STACK package, as installed (e.g. torch "2.13.0+cpu"). */
  versions: Record<string, string>;
}

interface Stamp {
  requirements: string;
  versions: Record<string, string>;
}

export interface VenvOptions {
  dir: string;
  requirements?: string;
  /** The interpreter that creates the venv: $SABUILD_PYTHON, else python3 on PATH. */
  python?: string;
  onProgress?: (line: string) => void;
  signal?: AbortSignal;
}

/** <project>/.sabuild/venv, or $SABUILD_VENV (relative to the project when not absolute). */
export function venvDir(projectRoot: string, env: NodeJS.ProcessEnv = process.env): string {
  const configured = env.SABUILD_VENV;
  if (configured) return isAbsolute(configured) ? configured : resolve(projectRoot, configured);
  return join(projectRoot, ".sabuild", "venv");
}

function sha256(data: string | Buffer): string {
  return createHash("sha256").update(data).digest("hex");
}

/** The venv at dir when its stamp matches the requirements file; cheap enough for every plan. */
export function readVenv(dir: string, requirements = TRAINER_REQUIREMENTS): Venv | undefined {
  try {
    const stamp = JSON.parse(readFileSync(join(dir, STAMP), "utf8")) as Stamp;
    const python = join(dir, "bin", "python");
    if (stamp.requirements !== sha256(readFileSync(requirements)) || !existsSync(python)) return undefined;
    return { dir, python, versions: stamp.versions };
  } catch {
    return undefined;
  }
}

/** The digest of the trainer modules (or another list of trainer/ files), so that editing them re-runs their stage. */
export function trainerCodeDigest(modules: readonly string[] = TRAINER_MODULES): string {
  const h = createHash("sha256");
  for (const name of modules) h.update(`${name}\0`).update(readFileSync(join(PACKAGE_ROOT, "trainer", name))).update("\0");
  return h.digest("hex");
}

/** Returns the ready venv, creating (or replacing) it when the requirements changed. */
export async function ensureVenv(opts: VenvOptions): Promise<Venv> {
  const requirements = opts.requirements ?? TRAINER_REQUIREMENTS;
  const ready = readVenv(opts.dir, requirements);
  if (ready) return ready;
  const say = opts.onProgress ?? (() => {});
  const base = opts.python ?? process.env.SABUILD_PYTHON ?? "python3";
  await mkdir(dirname(opts.dir), { recursive: true });
  await removeStale(opts.dir);
  const tmp = `${opts.dir}.partial-${process.pid}`;
  await rm(tmp, { recursive: true, force: true });
  try {
    say(`creating the trainer venv at ${opts.dir} (${base} -m venv)`);
    await run(base, ["-m", "venv", "--prompt", basename(opts.dir), tmp], { say, signal: opts.signal }).catch((e: Error) => {
      throw new Error(`${e.message}\n  hint: install Python 3.10+ with venv support (Debian/Ubuntu: apt-get install python3 python3-venv), or set SABUILD_PYTHON to an interpreter`);
    });
    const python = join(tmp, "bin", "python");
    say(`pip install -r ${requirements} (torch and the Hugging Face stack: a few minutes the first time)`);
    await run(python, ["-m", "pip", "install", "--disable-pip-version-check", "-r", requirements], {
      say,
      signal: opts.signal,
      env: { PIP_RETRIES: "0", PIP_NO_INPUT: "1" },
    }).catch((e: Error) => {
      throw new Error(
        `${e.message}\n  hint: check pip's index settings (pip config list, PIP_INDEX_URL), then build again; by hand: ` +
          `${base} -m venv /tmp/v && PIP_RETRIES=0 /tmp/v/bin/pip install -r ${requirements}`,
      );
    });
    const versions = await installedVersions(python);
    await fixPaths(tmp, opts.dir);
    const stamp: Stamp = { requirements: sha256(await readFile(requirements)), versions };
    await writeFile(join(tmp, STAMP), `${JSON.stringify(stamp, null, 2)}\n`);
    await swapInto(tmp, opts.dir);
    say(`trainer venv ready: ${Object.entries(versions).map(([k, v]) => `${k} ${v}`).join(", ")}`);
    return { dir: opts.dir, python: join(opts.dir, "bin", "python"), versions };
  } catch (e) {
    await rm(tmp, { recursive: true, force: true });
    throw e;
  }
}

async function installedVersions(python: string): Promise<Record<string, string>> {
  const script = [
    "import json, platform",
    "from importlib import metadata",
    `names = ${JSON.stringify(STACK)}`,
    "out = {'python': platform.python_version()}",
    "for n in names:",
    "    try: out[n] = metadata.version(n)",
    "    except metadata.PackageNotFoundError: out[n] = 'missing'",
    "print(json.dumps(out))",
  ].join("\n");
  const out = await run(python, ["-c", script], {});
  return JSON.parse(out.trim().split("\n").pop()!) as Record<string, string>;
}

/** Scripts in bin/ name the directory they were installed in: point them at the final one. */
async function fixPaths(tmp: string, dir: string): Promise<void> {
  const files = [join(tmp, "pyvenv.cfg"), ...(await readdir(join(tmp, "bin"))).map((f) => join(tmp, "bin", f))];
  for (const file of files) {
    let text: string;
    try {
      const buf = await readFile(file);
      if (buf.length > 1_000_000 || buf.includes(0)) continue;
      text = buf.toString("utf8");
    } catch {
      continue; // a directory or a dangling link
    }
    if (text.includes(tmp)) await writeFile(file, text.split(tmp).join(dir));
  }
}

async function swapInto(tmp: string, dir: string): Promise<void> {
  const old = `${dir}.old-${process.pid}`;
  if (existsSync(dir)) await rename(dir, old);
  await rename(tmp, dir);
  await rm(old, { recursive: true, force: true });
}

/** Leftovers of creations that died (their pid is gone). */
async function removeStale(dir: string): Promise<void> {
  const prefix = basename(dir);
  const pattern = new RegExp(`^${prefix.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}\\.(partial|old)-(\\d+)$`);
  for (const name of await readdir(dirname(dir)).catch(() => [] as string[])) {
    const m = pattern.exec(name);
    if (m && !processAlive(Number(m[2]))) await rm(join(dirname(dir), name), { recursive: true, force: true });
  }
}


function run(cmd: string, args: string[], opts: { say?: (line: string) => void; signal?: AbortSignal; env?: Record<string, string> }): Promise<string> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(cmd, args, { env: { ...process.env, ...opts.env }, stdio: ["ignore", "pipe", "pipe"], signal: opts.signal });
    let out = "";
    const tail: string[] = [];
    const onData = (d: Buffer, keep: boolean) => {
      const text = d.toString();
      if (keep) out += text;
      for (const line of text.split(/\r?\n/)) {
        if (!line.trim()) continue;
        tail.push(line);
        if (tail.length > 15) tail.shift();
        if (opts.say && /^(Collecting|Installing|Successfully|ERROR|error)/.test(line.trim())) opts.say(line.trim());
      }
    };
    child.stdout.on("data", (d: Buffer) => onData(d, true));
    child.stderr.on("data", (d: Buffer) => onData(d, false));
    child.on("error", (e: NodeJS.ErrnoException) => {
      reject(new Error(e.code === "ENOENT" ? `${cmd} not found` : e.name === "AbortError" ? "aborted" : `${cmd}: ${e.message}`));
    });
    child.on("close", (code) => {
      if (code === 0) resolvePromise(out);
      else reject(new Error(`\`${[basename(cmd), ...args].join(" ")}\` failed (exit ${code}):\n    ${tail.join("\n    ")}`));
    });
  });
}
