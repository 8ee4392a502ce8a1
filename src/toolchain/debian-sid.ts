import { existsSync, readFileSync } from "node:fs";
import { mkdir, mkdtemp, readdir, rename, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { runChecked } from "./process.js";

/**
 * llama.cpp from Debian sid without installing anything system-wide: `apt-get download` with a
 * private sources list and state directories, then `dpkg-deb -x` into the user cache. Only the
 * Python converter runs from here (with the trainer's Python); sid's binaries need sid's glibc,
 * so they run in the sabuild/llama.cpp image instead (llamacpp-image.ts), pinned to the same
 * versions.
 */

export const SID_PACKAGES = ["llama.cpp-tools", "python3-gguf", "libllama0", "libggml0"] as const;
const EXTRACTED = ["llama.cpp-tools", "python3-gguf"];
const KEYRING = "/usr/share/keyrings/debian-archive-keyring.gpg";

export interface SidConverter {
  /** Root of the extracted packages. */
  root: string;
  /** Package versions from sid, as apt spells them (e.g. 1:0.7.0+dfsg-2). */
  versions: Record<string, string>;
  script: string;
  /** Directories for PYTHONPATH: sid's gguf-py and the converter's `conversion` package. */
  pythonPath: string[];
  installedAt: string;
}

export function mirror(): string {
  return process.env.SABUILD_DEBIAN_MIRROR ?? "http://deb.debian.org/debian";
}

/** A version as a directory name and image tag: 1:0.7.0+dfsg-2 -> 1-0.7.0-dfsg-2. */
export function versionSlug(version: string): string {
  return version.replace(/[^A-Za-z0-9_.-]/g, "-");
}

function stateFile(cacheDir: string): string {
  return join(cacheDir, "llama.cpp", "current.json");
}

function layout(root: string): Pick<SidConverter, "script" | "pythonPath"> {
  return {
    script: join(root, "usr/share/doc/llama.cpp-tools/scripts/convert_hf_to_gguf.py"),
    pythonPath: [join(root, "usr/lib/python3/dist-packages"), join(root, "usr/share/llama.cpp/llama.cpp-tools")],
  };
}

/** The converter set up earlier on this machine, if it is still complete. Reads one small file. */
export function readSidConverter(cacheDir: string): SidConverter | undefined {
  try {
    const state = JSON.parse(readFileSync(stateFile(cacheDir), "utf8")) as SidConverter;
    const current = { ...state, ...layout(state.root) };
    return existsSync(current.script) && current.pythonPath.every((p) => existsSync(p)) ? current : undefined;
  } catch {
    return undefined;
  }
}

/** Why the managed setup cannot run here, or undefined when it can. */
export function sidSetupBlocker(): string | undefined {
  const missing = ["/usr/bin/apt-get", "/usr/bin/apt-cache", "/usr/bin/dpkg-deb"].filter((p) => !existsSync(p));
  if (missing.length) return `this machine has no ${missing.join(", ")} (not Debian or Ubuntu)`;
  if (!existsSync(KEYRING)) return `${KEYRING} is missing (apt-get install debian-archive-keyring)`;
  return undefined;
}

function aptOptions(dir: string): string[] {
  const o = {
    "Dir::Etc::sourcelist": join(dir, "sid.list"),
    "Dir::Etc::sourceparts": "/nonexistent",
    "Dir::State::Lists": join(dir, "lists"),
    // An empty status file: versions are resolved as for a fresh sid system, not against the host.
    "Dir::State::status": join(dir, "status"),
    "Dir::Cache": join(dir, "cache"),
    "Acquire::Check-Valid-Until": "false",
    "Debug::NoLocking": "true",
  };
  return Object.entries(o).flatMap(([k, v]) => ["-o", `${k}=${v}`]);
}

function parseVersions(showOutput: string): Record<string, string> {
  const versions: Record<string, string> = {};
  for (const stanza of showOutput.split(/\n\s*\n/)) {
    const pkg = /^Package: (.+)$/m.exec(stanza)?.[1];
    const version = /^Version: (.+)$/m.exec(stanza)?.[1];
    if (pkg && version && !versions[pkg]) versions[pkg] = version.trim();
  }
  return versions;
}

/** Downloads sid's llama.cpp-tools and python3-gguf (~2 MB) and extracts them into the cache. */
export async function setupSidConverter(cacheDir: string, opts: { log?: (line: string) => void; signal?: AbortSignal } = {}): Promise<SidConverter> {
  const blocker = sidSetupBlocker();
  if (blocker) throw new Error(`cannot set up llama.cpp from Debian sid: ${blocker}`);
  const base = join(cacheDir, "llama.cpp");
  await mkdir(base, { recursive: true });
  const work = await mkdtemp(join(base, "setup-"));
  const log = opts.log ?? (() => {});
  try {
    await mkdir(join(work, "lists", "partial"), { recursive: true });
    await mkdir(join(work, "cache", "archives", "partial"), { recursive: true });
    await mkdir(join(work, "debs"));
    await writeFile(join(work, "status"), "");
    await writeFile(join(work, "sid.list"), `deb [signed-by=${KEYRING}] ${mirror()} sid main\n`);
    const o = aptOptions(work);
    log(`llama.cpp: reading the Debian sid package index from ${mirror()}`);
    await runChecked("apt-get update (Debian sid index)", "apt-get", [...o, "update"], { signal: opts.signal });
    const shown = await runChecked("apt-cache show", "apt-cache", [...o, "show", "--no-all-versions", ...SID_PACKAGES], { signal: opts.signal });
    const versions = parseVersions(shown.stdout);
    const absent = SID_PACKAGES.filter((p) => !versions[p]);
    if (absent.length) throw new Error(`Debian sid has no ${absent.join(", ")} at ${mirror()}`);
    log(`llama.cpp: downloading ${EXTRACTED.map((p) => `${p} ${versions[p]}`).join(", ")}`);
    await runChecked("apt-get download", "apt-get", [...o, "download", ...EXTRACTED.map((p) => `${p}=${versions[p]}`)], {
      cwd: join(work, "debs"),
      signal: opts.signal,
    });
    const staged = join(work, "root");
    for (const deb of await readdir(join(work, "debs"))) {
      await runChecked(`dpkg-deb -x ${deb}`, "dpkg-deb", ["-x", join(work, "debs", deb), staged], { signal: opts.signal });
    }
    const root = join(base, versionSlug(versions["llama.cpp-tools"]!));
    // Another process may have finished the same version first; theirs is as good as ours.
    if (!existsSync(root)) await rename(staged, root).catch((e: NodeJS.ErrnoException) => {
      if (!existsSync(root)) throw e;
    });
    const state: SidConverter = { root, versions, ...layout(root), installedAt: new Date().toISOString() };
    if (!existsSync(state.script)) throw new Error(`the llama.cpp-tools package has no ${state.script}: its layout changed`);
    const tmp = join(work, "current.json");
    await writeFile(tmp, `${JSON.stringify(state, null, 2)}\n`);
    await rename(tmp, stateFile(cacheDir));
    log(`llama.cpp: converter ready in ${root}`);
    return state;
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}
