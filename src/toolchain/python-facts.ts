import { childProcess } from "../builtin.js";
import { readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { writeFileAtomicSync } from "../store/atomic.js";
import { sameStamp, stampOf, type FileStamp } from "../store/stamp.js";
import { interpreterFile } from "./interpreter-path.js";
import { err, ok, type Result } from "../result.js";

/**
 * Facts about a Python and a requirements file that a stage's key needs, found by asking, never
 * by installing: an interpreter's version, what an environment has installed, what a
 * requirements file pins.
 */

export const PYTHON_HINT =
  "install Python 3.10+ with venv support (Debian/Ubuntu: apt-get install python3 python3-venv), or set SABUILD_PYTHON to an interpreter";

/** PEP 503: `Foo_Bar`, `foo.bar` and `foo-bar` name one package. */
export function normalizePackageName(name: string): string {
  return name.replace(/[-_.]+/g, "-").toLowerCase();
}

function runPython(python: string, args: string[]): Result<string, string> {
  try {
    return ok(childProcess().execFileSync(python, args, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] }));
  } catch (e) {
    const error = e as NodeJS.ErrnoException & { stderr?: string; status?: number };
    if (error.code === "ENOENT") return err(`${python} not found`);
    return err(`\`${python} ${args.join(" ")}\` failed (exit ${error.status ?? "?"}): ${(error.stderr ?? error.message).trim().split("\n").at(-1)}`);
  }
}

// One question per interpreter and process, however many stages ask: a pyenv shim takes ~0.2 s.
const versions = new Map<string, Result<string, string>>();

/**
 * The version `python --version` prints (PY_VERSION, as platform.python_version() gives it).
 * Remembered across processes by the interpreter's own file and its stamp (inode, size, mtime,
 * ctime), so a no-op plan does not spawn Python: the train key asks on every run, and through a
 * pyenv shim each answer took 0.2-0.3 s. A command whose file cannot be told without running it
 * (a wrapper script) is asked each time, as before.
 */
export function interpreterVersion(python: string): Result<string, string> {
  let known = versions.get(python);
  if (!known) {
    const file = interpreterFile(python);
    const remembered = file ? rememberedVersion(file) : undefined;
    known = remembered !== undefined ? ok(remembered) : askVersion(python);
    if (file && known.ok && remembered === undefined) rememberVersion(file, known.value);
    versions.set(python, known);
  }
  return known;
}

function askVersion(python: string): Result<string, string> {
  const out = runPython(python, ["--version"]);
  const m = out.ok ? /^Python (\S+)/.exec(out.value.trim()) : null;
  return !out.ok ? out : m ? ok(m[1]!) : err(`${python} --version printed ${JSON.stringify(out.value.trim())}, not a Python version`);
}

type VersionCache = Record<string, { stamp: FileStamp; version: string }>;

function versionCachePath(): string {
  return join(tmpdir(), `sabuild-${process.getuid?.() ?? "user"}`, "python-versions.json");
}

function readVersionCache(): VersionCache {
  try {
    return JSON.parse(readFileSync(versionCachePath(), "utf8")) as VersionCache;
  } catch {
    return {};
  }
}

function rememberedVersion(file: string): string | undefined {
  const entry = readVersionCache()[file];
  return entry && sameStamp(entry.stamp, stampOf(file)) ? entry.version : undefined;
}

function rememberVersion(file: string, version: string): void {
  const stamp = stampOf(file);
  if (!stamp) return;
  const cache = readVersionCache();
  cache[file] = { stamp, version };
  try {
    writeFileAtomicSync(versionCachePath(), JSON.stringify(cache));
  } catch {
    // A cache that cannot be written is asked again next time.
  }
}

export interface Installed {
  python: string;
  /** Every distribution the interpreter imports from, by normalized name (the first on sys.path wins). */
  packages: Record<string, string>;
}

const INSTALLED_SCRIPT = [
  "import json, platform",
  "from importlib import metadata",
  "out = {}",
  "for d in metadata.distributions():",
  "    name = d.metadata['Name']",
  "    if name and name not in out: out[name] = d.version",
  "print(json.dumps({'python': platform.python_version(), 'packages': out}))",
].join("\n");

/** What `python` has installed: its version and every distribution's (importlib.metadata). */
export function installedPackages(python: string): Result<Installed, string> {
  const out = runPython(python, ["-c", INSTALLED_SCRIPT]);
  if (!out.ok) return out;
  const parsed = JSON.parse(out.value.trim().split("\n").pop()!) as { python: string; packages: Record<string, string> };
  const packages: Record<string, string> = {};
  for (const [name, version] of Object.entries(parsed.packages)) packages[normalizePackageName(name)] ??= version;
  return ok({ python: parsed.python, packages });
}

export interface Requirements {
  /** Normalized package name -> what the line asks for after the name: `==2.13.0`, `[extra]>=1 ; markers`. */
  pins: Record<string, string>;
  /** Lines that name no package (pip options such as --extra-index-url, URLs, paths), as written. */
  other: string[];
}

// A name, then extras, a version specifier, markers or `@ url` (a bare URL or path is no package line).
const PACKAGE_LINE = /^([A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?)\s*((?:[[<>=!~;@]).*)?$/;
const INCLUDE = /^(-r|-c|--requirement|--constraint)\b/;

/**
 * The pins of a pip requirements file. Includes (-r, -c) are refused: the venv's stamp and the
 * key read this one file, so what another file pins would change nothing either sees.
 */
export function readRequirements(file: string): Result<Requirements, string> {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (e) {
    return err(`cannot read ${file}: ${(e as Error).message}`);
  }
  const pins: Record<string, string> = {};
  const other: string[] = [];
  for (const raw of text.replace(/\\\r?\n/g, "").split(/\r?\n/)) {
    // pip reads `#` as a comment at the start of a line or after whitespace (a URL may hold one).
    const line = raw.replace(/(^|\s)#.*$/, "").replace(/\s+/g, " ").trim();
    if (!line) continue;
    if (INCLUDE.test(line)) return err(`${file}: ${line}: includes are not supported here; list the pins in this file`);
    const m = line.startsWith("-") ? null : PACKAGE_LINE.exec(line);
    if (!m) {
      other.push(line);
      continue;
    }
    const name = normalizePackageName(m[1]!);
    const spec = m[2] || "(unpinned)";
    pins[name] = pins[name] === undefined ? spec : `${pins[name]}, ${spec}`;
  }
  return ok({ pins, other });
}
