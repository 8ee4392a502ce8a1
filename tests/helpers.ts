import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { cpSync, mkdtempSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";

export const REPO = join(import.meta.dirname, "..");
export const CLI = join(REPO, "dist/cli/main.js");

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the real CLI in a directory; CI=1 picks the plain renderer, as in a CI log. */
export function sabuild(cwd: string, args: string[], env: Record<string, string> = {}): CliResult {
  const r = spawnSync(process.execPath, [CLI, ...args], { cwd, encoding: "utf8", env: { ...process.env, CI: "1", ...env } });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

export function sabuildJson<T = any>(cwd: string, args: string[], env: Record<string, string> = {}): T & { __code: number } {
  const r = sabuild(cwd, [...args, "--json"], env);
  try {
    return Object.assign(JSON.parse(r.stdout) as T, { __code: r.code });
  } catch {
    throw new Error(`not JSON (exit ${r.code}):\n${r.stdout}\n${r.stderr}`);
  }
}

/** The CLI, spawned without blocking this process: a stand-in served from this process answers from its event loop. */
export function sabuildAsync(cwd: string, args: string[], env: Record<string, string> = {}): Promise<CliResult> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI, ...args], { cwd, env: { ...process.env, CI: "1", ...env } });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    child.on("close", (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}

export async function sabuildJsonAsync<T = any>(cwd: string, args: string[], env: Record<string, string> = {}): Promise<T> {
  const r = await sabuildAsync(cwd, [...args, "--json"], env);
  try {
    return JSON.parse(r.stdout) as T;
  } catch {
    throw new Error(`not JSON (exit ${r.code}):\n${r.stdout}\n${r.stderr}`);
  }
}

export function spawnSabuild(cwd: string, args: string[], env: Record<string, string> = {}): ChildProcess & { output: () => string } {
  const child = spawn(process.execPath, [CLI, ...args], { cwd, env: { ...process.env, CI: "1", ...env } });
  let out = "";
  child.stdout.on("data", (d) => (out += d));
  child.stderr.on("data", (d) => (out += d));
  return Object.assign(child, { output: () => out });
}

/** Starts `sabuild serve <args> --json` and waits for its ready line (the first JSON line on stdout); its stderr is kept. */
export async function startServe<R>(cwd: string, args: string[]): Promise<{ child: ChildProcess; ready: R; stderr: () => string }> {
  const child = spawn(process.execPath, [CLI, "serve", ...args, "--json"], { cwd, env: { ...process.env, CI: "1" } });
  let err = "";
  child.stderr.on("data", (d) => (err += d));
  const ready = await new Promise<R>((resolve, reject) => {
    let out = "";
    child.stdout.on("data", (d) => {
      out += d;
      const line = out.split("\n").find((l) => l.startsWith("{"));
      if (line) resolve(JSON.parse(line) as R);
    });
    child.on("exit", (code) => reject(new Error(`serve exited ${code}: ${err}`)));
  });
  return { child, ready, stderr: () => err };
}

const tempDirs: string[] = [];

/** A temp directory that is removed after the test file (see tests/setup.ts). */
export function tempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  tempDirs.push(dir);
  return dir;
}

export function removeTempDirs(): void {
  for (const dir of tempDirs.splice(0)) rmSync(dir, { recursive: true, force: true });
}

/** A temp project directory holding the given files. */
export function makeProject(files: Record<string, string>): string {
  const dir = tempDir("sabuild-test-");
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), content);
  }
  return dir;
}

/** A copy of the bundled example project (config + example/ sources). */
export function copyExample(): string {
  const dir = tempDir("sabuild-example-");
  cpSync(join(REPO, "example"), join(dir, "example"), { recursive: true });
  writeFileSync(join(dir, "subagents.yaml"), readFileSync(join(REPO, "subagents.yaml")));
  return dir;
}

export async function waitFor(check: () => boolean, timeoutMs = 30_000, what = "condition"): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export function exited(child: ChildProcess): Promise<number | null> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve(child.exitCode);
    else child.once("exit", (code) => resolve(code));
  });
}
