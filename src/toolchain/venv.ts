import { childProcess, nodeCrypto } from "../builtin.js";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { mkdir, readdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import { basename, dirname, isAbsolute, join, resolve } from "node:path";
import { processAlive } from "../process-alive.js";
import { ok, type Result } from "../result.js";
import { installedPackages, interpreterVersion, PYTHON_HINT, readRequirements } from "./python-facts.js";

/**
 * The `local` trainer runner's Python: a virtual environment that sabuild creates from
 * trainer/requirements.txt with the base interpreter, and reuses while neither changed. It is
 * built in a sibling temp directory and renamed into place with its stamp already inside, so a
 * crash never leaves a half-installed venv that looks ready. A venv sabuild did not make (no
 * stamp; SABUILD_VENV pointing at the user's own) is used as it is and never replaced.
 */

/** The root of the installed sabuild package: the parent of trainer/. */
export const PACKAGE_ROOT = resolve(import.meta.dirname, "../..");
export const TRAINER_REQUIREMENTS = join(PACKAGE_ROOT, "trainer/requirements.txt");
/** The trainer modules `python -m trainer.sft` runs: their digest joins the train stage's key. */
export const TRAINER_MODULES = ["__init__.py", "config.py", "progress.py", "report.py", "rows.py", "sft.py", "throughput.py"];
/** The Python modules the export stage runs: merging, the LoRA GGUF writer, the fidelity check. */
export const EXPORT_MODULES = ["__init__.py", "merge.py", "lora_gguf.py", "fidelity.py"];

const STAMP = "sabuild-venv.json";

export interface Venv {
  dir: string;
  /** The interpreter to run: <dir>/bin/python. */
  python: string;
  /** python and every package requirements.txt names, as installed (e.g. torch "2.13.0+cpu"; "missing"). */
  versions: Record<string, string>;
}

interface Stamp {
  /** sha256 of the requirements file it was installed from. */
  requirements: string;
  /** versions.python is also the base interpreter's version it was made with. */
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

/** The interpreter sabuild makes venvs with: $SABUILD_PYTHON, else python3 on PATH. */
export function baseInterpreter(env: NodeJS.ProcessEnv = process.env): string {
  return env.SABUILD_PYTHON || "python3";
}

/** <project>/.sabuild/venv, or $SABUILD_VENV (relative to the project when not absolute). */
export function venvDir(projectRoot: string, env: NodeJS.ProcessEnv = process.env): string {
  const configured = env.SABUILD_VENV;
  if (configured) return isAbsolute(configured) ? configured : resolve(projectRoot, configured);
  return join(projectRoot, ".sabuild", "venv");
}

function sha256(data: string | Buffer): string {
  return nodeCrypto().createHash("sha256").update(data).digest("hex");
}

/**
 * Who keeps the directory: sabuild (absent, empty, or holding sabuild's stamp), the user (a venv
 * without the stamp), or nobody (something else, which sabuild must not delete to make a venv).
 */
export type VenvState = { kind: "managed" } | { kind: "user"; python: string } | { kind: "not-a-venv" };

export function venvState(dir: string): VenvState {
  if (existsSync(join(dir, STAMP))) return { kind: "managed" };
  const python = join(dir, "bin", "python");
  if (existsSync(python)) return { kind: "user", python };
  try {
    return readdirSync(dir).length ? { kind: "not-a-venv" } : { kind: "managed" };
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "ENOENT" ? { kind: "managed" } : { kind: "not-a-venv" };
  }
}

/** Why a directory cannot be the trainer venv, with a hint line. */
export function notAVenv(dir: string): string {
  return `${dir} exists and is not a Python venv (no bin/python)\n  hint: remove it, or point SABUILD_VENV at a venv or at a directory that does not exist yet`;
}

/**
 * The venv at dir when it is ready to use: the user's own, or sabuild's when its stamp matches
 * the requirements file and the base interpreter's version. Asks Python, so not for every plan.
 */
export function readVenv(dir: string, requirements = TRAINER_REQUIREMENTS, base = baseInterpreter()): Venv | undefined {
  const state = venvState(dir);
  if (state.kind === "not-a-venv") return undefined;
  if (state.kind === "user") {
    const versions = stackVersions(state.python, requirements);
    return versions.ok ? { dir, python: state.python, versions: versions.value } : undefined;
  }
  try {
    const stamp = JSON.parse(readFileSync(join(dir, STAMP), "utf8")) as Stamp;
    const python = join(dir, "bin", "python");
    if (stamp.requirements !== sha256(readFileSync(requirements)) || !existsSync(python)) return undefined;
    const version = interpreterVersion(base);
    if (!version.ok || stamp.versions.python !== version.value) return undefined;
    return { dir, python, versions: stamp.versions };
  } catch {
    return undefined;
  }
}

/** python and the installed version of each package the requirements file names. */
function stackVersions(python: string, requirements: string): Result<Record<string, string>, string> {
  const installed = installedPackages(python);
  if (!installed.ok) return installed;
  const wanted = readRequirements(requirements);
  if (!wanted.ok) return wanted;
  const versions: Record<string, string> = { python: installed.value.python };
  for (const name of Object.keys(wanted.value.pins)) versions[name] = installed.value.packages[name] ?? "missing";
  return ok(versions);
}

/** The digest of the trainer modules (or another list of trainer/ files), so that editing them re-runs their stage. */
export function trainerCodeDigest(modules: readonly string[] = TRAINER_MODULES): string {
  const h = nodeCrypto().createHash("sha256");
  for (const name of modules) h.update(`${name}\0`).update(readFileSync(join(PACKAGE_ROOT, "trainer", name))).update("\0");
  return h.digest("hex");
}

// One creation per directory at a time in this process: subagents train (and count tokens) in parallel.
const creating = new Map<string, Promise<Venv>>();

/** Returns the ready venv, creating (or replacing) sabuild's when the requirements or the interpreter changed. */
export function ensureVenv(opts: VenvOptions): Promise<Venv> {
  let pending = creating.get(opts.dir);
  if (!pending) {
    pending = readyOrCreate(opts).finally(() => creating.delete(opts.dir));
    creating.set(opts.dir, pending);
  }
  return pending;
}

async function readyOrCreate(opts: VenvOptions): Promise<Venv> {
  const requirements = opts.requirements ?? TRAINER_REQUIREMENTS;
  const base = opts.python ?? baseInterpreter();
  const state = venvState(opts.dir);
  if (state.kind === "not-a-venv") throw new Error(notAVenv(opts.dir));
  if (state.kind === "user") {
    const versions = stackVersions(state.python, requirements);
    if (!versions.ok) throw new Error(`the venv at ${opts.dir} (SABUILD_VENV): ${versions.error}`);
    return { dir: opts.dir, python: state.python, versions: versions.value };
  }
  // Refused before minutes of pip install, not after: the key could not see what it installed.
  const wanted = readRequirements(requirements);
  if (!wanted.ok) throw new Error(wanted.error);
  const ready = readVenv(opts.dir, requirements, base);
  if (ready) return ready;
  const say = opts.onProgress ?? (() => {});
  await mkdir(dirname(opts.dir), { recursive: true });
  await removeStale(opts.dir);
  const tmp = `${opts.dir}.partial-${process.pid}`;
  await rm(tmp, { recursive: true, force: true });
  try {
    say(`creating the trainer venv at ${opts.dir} (${base} -m venv)`);
    await run(base, ["-m", "venv", "--prompt", basename(opts.dir), tmp], { say, signal: opts.signal }).catch((e: Error) => {
      throw new Error(`${e.message}\n  hint: ${PYTHON_HINT}`);
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
    const versions = stackVersions(python, requirements);
    if (!versions.ok) throw new Error(versions.error);
    await fixPaths(tmp, opts.dir);
    const stamp: Stamp = { requirements: sha256(await readFile(requirements)), versions: versions.value };
    await writeFile(join(tmp, STAMP), `${JSON.stringify(stamp, null, 2)}\n`);
    await swapInto(tmp, opts.dir);
    say(`trainer venv ready: ${Object.entries(versions.value).map(([k, v]) => `${k} ${v}`).join(", ")}`);
    return { dir: opts.dir, python: join(opts.dir, "bin", "python"), versions: versions.value };
  } catch (e) {
    await rm(tmp, { recursive: true, force: true });
    throw e;
  }
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
    const child = childProcess().spawn(cmd, args, { env: { ...process.env, ...opts.env }, stdio: ["ignore", "pipe", "pipe"], signal: opts.signal });
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
