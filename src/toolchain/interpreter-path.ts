import { accessSync, constants, closeSync, existsSync, openSync, readFileSync, readSync, realpathSync } from "node:fs";
import { delimiter, dirname, isAbsolute, join, resolve } from "node:path";

/**
 * The file a command such as `python3` runs, found without running it, so that what is known
 * of that file (its version) can be remembered by the file's stamp. Undefined when the answer
 * depends on more than the file: a wrapper script (asdf, mise, a user's own) picks its target at
 * run time. pyenv's shims are the common case of that, and their choice is documented (the
 * first of PYENV_VERSION, a .python-version file from the working directory up, the global
 * version file): that is followed here, and anything unusual (several versions, `system`, a
 * prefix, a missing version) gives undefined, so the caller asks the interpreter as before.
 */
export function interpreterFile(command: string, env: NodeJS.ProcessEnv = process.env, cwd = process.cwd()): string | undefined {
  const found = onPath(command, env, cwd);
  if (!found) return undefined;
  const shim = pyenvShim(found, env);
  const target = shim ? pyenvTarget(shim.root, command.split("/").pop()!, env, cwd) : found;
  if (!target || isScript(target)) return undefined;
  try {
    return realpathSync(target);
  } catch {
    return undefined;
  }
}

function onPath(command: string, env: NodeJS.ProcessEnv, cwd: string): string | undefined {
  if (command.includes("/")) return isAbsolute(command) ? command : resolve(cwd, command);
  for (const dir of (env.PATH ?? "").split(delimiter)) {
    if (!dir) continue;
    const file = join(isAbsolute(dir) ? dir : resolve(cwd, dir), command);
    try {
      accessSync(file, constants.X_OK);
      return file;
    } catch {
      // Not here: the next directory on PATH.
    }
  }
  return undefined;
}

function pyenvShim(file: string, env: NodeJS.ProcessEnv): { root: string } | undefined {
  const shims = dirname(file);
  if (!shims.endsWith("/shims")) return undefined;
  const root = dirname(shims);
  // A pyenv shim execs `pyenv exec` from its root; PYENV_ROOT, when set, names the same root.
  if (env.PYENV_ROOT && resolve(env.PYENV_ROOT) !== root) return undefined;
  return existsSync(join(root, "libexec", "pyenv")) ? { root } : undefined;
}

function pyenvTarget(root: string, program: string, env: NodeJS.ProcessEnv, cwd: string): string | undefined {
  const versions = env.PYENV_VERSION !== undefined ? env.PYENV_VERSION.split(":") : versionFile(root, cwd);
  if (!versions || versions.length !== 1) return undefined;
  const version = versions[0]!;
  if (!version || version === "system" || version.includes("/")) return undefined;
  const file = join(root, "versions", version, "bin", program);
  return existsSync(file) ? file : undefined;
}

/** The versions the nearest .python-version names (or the global version file). */
function versionFile(root: string, cwd: string): string[] | undefined {
  for (let dir = resolve(cwd); ; dir = dirname(dir)) {
    const names = readVersions(join(dir, ".python-version"));
    if (names) return names;
    if (dirname(dir) === dir) break;
  }
  return readVersions(join(root, "version")) ?? ["system"];
}

function readVersions(file: string): string[] | undefined {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch {
    return undefined;
  }
  // As pyenv reads it: the first word of each line, comments and relative paths skipped.
  const names: string[] = [];
  for (const line of text.split("\n")) {
    const word = line.trim().split(/\s+/)[0];
    if (word && !word.startsWith("#") && word !== ".." && !word.includes("/")) names.push(word);
  }
  return names;
}

/** A file that starts with `#!` is a script: what it runs is decided when it runs. */
function isScript(file: string): boolean {
  let fd: number | undefined;
  try {
    fd = openSync(file, "r");
    const head = Buffer.alloc(2);
    return readSync(fd, head, 0, 2, 0) === 2 && head.toString("latin1") === "#!";
  } catch {
    return true;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}
