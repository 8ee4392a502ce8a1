import { execFileSync } from "node:child_process";
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync, symlinkSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { interpreterFile } from "../src/toolchain/interpreter-path.js";
import { interpreterVersion } from "../src/toolchain/python-facts.js";

// The real interpreter, whatever launches it here (a pyenv shim or /usr/bin/python3).
const realPython = execFileSync("python3", ["-c", "import sys; print(sys.executable)"], { encoding: "utf8" }).trim();
const realVersion = execFileSync(realPython, ["--version"], { encoding: "utf8" }).trim().replace(/^Python /, "");
const work = mkdtempSync(join(tmpdir(), "sabuild-pyver-"));
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** A pyenv root as pyenv lays it out: shims/, libexec/pyenv, versions/<v>/bin/python3. */
function pyenvRoot(name: string, versions: string[]): string {
  const root = join(work, name);
  mkdirSync(join(root, "shims"), { recursive: true });
  mkdirSync(join(root, "libexec"), { recursive: true });
  writeFileSync(join(root, "libexec", "pyenv"), "#!/usr/bin/env bash\n", { mode: 0o755 });
  writeFileSync(join(root, "shims", "python3"), `#!/usr/bin/env bash\nexec "${root}/libexec/pyenv" exec "\${0##*/}" "$@"\n`, { mode: 0o755 });
  for (const v of versions) {
    mkdirSync(join(root, "versions", v, "bin"), { recursive: true });
    symlinkSync(realPython, join(root, "versions", v, "bin", "python3"));
  }
  return root;
}

describe("the file a python command runs, found without running it", () => {
  it("follows a pyenv shim by PYENV_VERSION, the nearest .python-version, then the global version file", () => {
    const root = pyenvRoot("pyenv", ["3.99.0", "3.98.0"]);
    const env = { PATH: `${join(root, "shims")}:/usr/bin:/bin`, PYENV_ROOT: root };
    const project = join(work, "project", "sub");
    mkdirSync(project, { recursive: true });
    const real = realpathSync(realPython);
    expect(interpreterFile("python3", { ...env, PYENV_VERSION: "3.99.0" }, project)).toBe(real);
    // No selection at all: pyenv's `system`, which only running the shim can resolve.
    expect(interpreterFile("python3", env, project)).toBeUndefined();
    writeFileSync(join(root, "version"), "3.98.0\n");
    expect(interpreterFile("python3", env, project)).toBe(real);
    // A .python-version above the working directory wins over the global file; comments are skipped.
    writeFileSync(join(work, "project", ".python-version"), "# pinned\n3.99.0\n");
    expect(interpreterFile("python3", env, project)).toBe(real);
    // What pyenv would resolve by running (several versions, a missing one, `system`) is not guessed.
    for (const v of ["3.99.0:3.98.0", "3.97.0", "system"]) expect(interpreterFile("python3", { ...env, PYENV_VERSION: v }, project)).toBeUndefined();
    writeFileSync(join(work, "project", ".python-version"), "3.99.0\n3.98.0\n");
    expect(interpreterFile("python3", env, project)).toBeUndefined();
  });

  it("takes a binary on PATH through its links, and leaves any other wrapper script to be run", () => {
    const bin = join(work, "bin");
    mkdirSync(bin, { recursive: true });
    symlinkSync(realPython, join(bin, "python3"));
    expect(interpreterFile("python3", { PATH: `${join(work, "empty")}:${bin}` }, work)).toBe(realpathSync(realPython));
    const wrappers = join(work, "wrappers");
    mkdirSync(wrappers, { recursive: true });
    writeFileSync(join(wrappers, "python3"), `#!/bin/sh\nexec ${realPython} "$@"\n`, { mode: 0o755 });
    expect(interpreterFile("python3", { PATH: `${wrappers}:${bin}` }, work)).toBeUndefined();
    expect(interpreterFile("no-such-python", { PATH: bin }, work)).toBeUndefined();
  });
});

describe("interpreterVersion", () => {
  it("is remembered by the interpreter file's stamp, and asked again when the file changes", () => {
    // A copy of the interpreter of our own, so that its stamp can change; `--version` needs no stdlib.
    const dir = join(work, "copy");
    mkdirSync(dir, { recursive: true });
    const python = join(dir, "python3");
    copyFileSync(realPython, python);
    execFileSync("chmod", ["755", python]);
    expect(interpreterVersion(python)).toEqual({ ok: true, value: realVersion });
    const cachePath = join(tmpdir(), `sabuild-${process.getuid?.() ?? "user"}`, "python-versions.json");
    const cache = JSON.parse(readFileSync(cachePath, "utf8")) as Record<string, { version: string }>;
    expect(cache[realpathSync(python)]?.version).toBe(realVersion);
    // Another process (another command string: the memo is per process and command) reads the
    // remembered answer without running the file: a planted one comes back as it was written.
    cache[realpathSync(python)]!.version = "9.9.9-remembered";
    writeFileSync(cachePath, JSON.stringify(cache));
    expect(interpreterVersion(`${dir}/./python3`)).toEqual({ ok: true, value: "9.9.9-remembered" });
    // A new interpreter in the same place (mtime and ctime change) is asked again.
    utimesSync(python, new Date(), new Date(Date.now() - 60_000));
    expect(interpreterVersion(`${dir}/../copy/python3`)).toEqual({ ok: true, value: realVersion });
  });

  it("still says what is wrong when the interpreter is missing", () => {
    const r = interpreterVersion(join(work, "nowhere", "python3"));
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error).toContain("not found");
  });
});
