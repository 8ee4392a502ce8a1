import { createHash } from "node:crypto";
import { createReadStream, existsSync, statSync } from "node:fs";
import { homedir } from "node:os";
import { delimiter, dirname, isAbsolute, join, resolve } from "node:path";
import type Docker from "dockerode";
import { readSidConverter, setupSidConverter, sidSetupBlocker, type SidConverter } from "./debian-sid.js";
import { trainerPython, userCacheDir } from "./dirs.js";
import { runChecked, type SpawnResult } from "./process.js";
import type { Runner, ServerRunner } from "./runners.js";

export type { LlamaServer, Runner, RunOptions, ServerOptions, ServerRunner } from "./runners.js";

/**
 * Finds or sets up llama.cpp's tools for the export stage (and eval/serve, which need llama-server).
 * Each tool comes from, in order: its path in subagents.yaml (export.tools.*), the image in
 * export.tools.image (binaries only), PATH (binaries only), or sabuild's managed setup: the
 * converter from Debian sid's packages extracted into the user cache, and the binaries in the
 * sabuild/llama.cpp image built from Debian sid, both pinned to one llama.cpp version.
 */

/** export.tools in subagents.yaml. Paths are relative to the project directory; ~/ is the home directory. */
export interface LlamaToolsConfig {
  /** convert_hf_to_gguf.py, or a llama.cpp checkout that holds it. */
  convert?: string | undefined;
  /** convert_lora_to_gguf.py, or a checkout; by default the one next to the converter, when there is one. */
  convert_lora?: string | undefined;
  quantize?: string | undefined;
  server?: string | undefined;
  /** A Docker image with llama-quantize and llama-server on its PATH. */
  image?: string | undefined;
}

export type ToolName = "convert" | "convert_lora" | "quantize" | "server";

export type ToolSource =
  | { kind: "path"; path: string; configured: boolean }
  | { kind: "image"; image: string; configured: boolean }
  | { kind: "managed-converter" }
  | { kind: "managed-image" }
  | { kind: "none"; reason: string };

/** A Python script run with the trainer's interpreter. */
export interface PythonTool {
  python: string;
  script: string;
  /** Extra environment (PYTHONPATH for the managed converter). */
  env: Record<string, string>;
  /** Where the script comes from, for logs and export.json. */
  where: string;
  /** Runs `python script ...args`; throws a ToolError with the output's tail on failure. */
  run(args: string[], opts?: { signal?: AbortSignal; log?: (line: string) => void; cwd?: string }): Promise<SpawnResult>;
}

export interface LlamaTools {
  convert: PythonTool;
  /** Absent when no convert_lora_to_gguf.py is at hand (Debian's package has none). */
  convertLora?: PythonTool;
  quantize: Runner;
  server: ServerRunner;
  /** Tool identities for stage keys: package versions, file digests or image ids. */
  identity: Record<string, string>;
}

export interface ToolStatus {
  source: ToolSource;
  /** True when the tool can run now without setting anything up. */
  ready: boolean;
  /** One line for `doctor`: what was found or what is missing and how to get it. */
  detail: string;
}

export interface LlamaToolsReport {
  tools: Record<ToolName, ToolStatus>;
  /** The managed converter already set up on this machine, if any. */
  managed?: SidConverter;
  /** The managed image's tag and whether it exists (when a binary needs it). */
  managedImage?: { tag: string; present: boolean };
  /** Whether `ensureLlamaTools` can finish: nothing configured is missing. */
  ok: boolean;
}

export interface EnsureOptions {
  log?: (line: string) => void;
  signal?: AbortSignal;
  /** Interpreter for the Python tools; default trainerPython(root). */
  python?: string;
  /** Re-read Debian sid and move the managed tools to its current version. */
  upgrade?: boolean;
  /** Overrides userCacheDir(). */
  cacheDir?: string;
}

/** A tool cannot be found or set up: says which (when one is configured) and how to get it. */
export class LlamaToolsError extends Error {
  constructor(
    message: string,
    readonly hint: string,
    /** The export.tools key at fault, when a configured value is wrong. */
    readonly tool?: ToolName | "image",
  ) {
    super(`${message}\n  hint: ${hint}`);
    this.name = "LlamaToolsError";
  }
}

const HOW_TO_GET =
  "run `sabuild setup` (sets up llama.cpp from Debian sid: needs apt and Docker), install llama.cpp so llama-quantize and llama-server are on PATH, " +
  "or set export.tools.convert / quantize / server to a llama.cpp checkout and its build, or export.tools.image to an image that has the binaries";

function onPath(name: string): string | undefined {
  for (const dir of (process.env.PATH ?? "").split(delimiter)) {
    if (!dir) continue;
    const p = join(dir, name);
    try {
      if (statSync(p).isFile()) return p;
    } catch {
      // not here
    }
  }
  return undefined;
}

function configuredFile(root: string, value: string, fileInDir: string): string {
  const expanded = value === "~" || value.startsWith("~/") ? join(homedir(), value.slice(1)) : value;
  const p = isAbsolute(expanded) ? expanded : resolve(root, expanded);
  try {
    if (statSync(p).isDirectory()) {
      // A llama.cpp checkout: scripts at its top, binaries under build/bin after a CMake build.
      const candidates = [join(p, fileInDir), join(p, "build", "bin", fileInDir), join(p, "bin", fileInDir)];
      return candidates.find((c) => existsSync(c)) ?? join(p, fileInDir);
    }
  } catch {
    // missing: reported by the caller
  }
  return p;
}

function pathSource(root: string, configured: string | undefined, file: string): ToolSource | undefined {
  if (!configured) return undefined;
  const path = configuredFile(root, configured, file);
  return { kind: "path", path, configured: true };
}

/** Where each tool would come from, decided from config, PATH and the cache; nothing is installed. */
export function locateLlamaTools(root: string, config: LlamaToolsConfig): Record<ToolName, ToolSource> {
  const convert = pathSource(root, config.convert, "convert_hf_to_gguf.py") ?? { kind: "managed-converter" as const };
  let convertLora = pathSource(root, config.convert_lora, "convert_lora_to_gguf.py");
  if (!convertLora && convert.kind === "path") {
    const sibling = join(dirname(convert.path), "convert_lora_to_gguf.py");
    if (existsSync(sibling)) convertLora = { kind: "path", path: sibling, configured: false };
  }
  const binary = (configured: string | undefined, name: string): ToolSource => {
    const fromConfig = pathSource(root, configured, name);
    if (fromConfig) return fromConfig;
    if (config.image) return { kind: "image", image: config.image, configured: true };
    const found = onPath(name);
    return found ? { kind: "path", path: found, configured: false } : { kind: "managed-image" };
  };
  return {
    convert,
    convert_lora: convertLora ?? {
      kind: "none",
      reason: convert.kind === "path" ? "no convert_lora_to_gguf.py next to the converter" : "Debian's llama.cpp-tools has no convert_lora_to_gguf.py",
    },
    quantize: binary(config.quantize, "llama-quantize"),
    server: binary(config.server, "llama-server"),
  };
}

async function docker(): Promise<Docker> {
  // Loaded on demand: plan and no-op builds never pay for dockerode.
  const { loadDockerode } = await import("../sandbox/docker.js");
  return new (await loadDockerode())();
}

async function dockerReachable(d: Docker): Promise<string | undefined> {
  try {
    await d.ping();
    return undefined;
  } catch (e) {
    return `Docker is not reachable (${(e as Error).message})`;
  }
}

const fileDigests = new Map<string, { size: number; mtimeMs: number; digest: string }>();

/** sha256 of a tool file; remembered by size and mtime within one process. */
async function fileDigest(path: string): Promise<string> {
  const st = statSync(path);
  const known = fileDigests.get(path);
  if (known && known.size === st.size && known.mtimeMs === st.mtimeMs) return known.digest;
  const hash = createHash("sha256");
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  const digest = hash.digest("hex");
  fileDigests.set(path, { size: st.size, mtimeMs: st.mtimeMs, digest });
  return digest;
}

function missingFile(tool: ToolName, path: string): string {
  return `export.tools.${tool}: ${path} does not exist`;
}

/** What is there and what is missing, without installing or downloading anything. */
export async function checkLlamaTools(root: string, config: LlamaToolsConfig, opts: { cacheDir?: string } = {}): Promise<LlamaToolsReport> {
  const sources = locateLlamaTools(root, config);
  const managed = readSidConverter(opts.cacheDir ?? userCacheDir());
  const tools = {} as Record<ToolName, ToolStatus>;
  let ok = true;
  let managedImage: LlamaToolsReport["managedImage"];
  let dockerProblem: string | undefined;
  let client: Docker | undefined;
  const needDocker = async (): Promise<Docker | undefined> => {
    if (client || dockerProblem) return client;
    const d = await docker();
    dockerProblem = await dockerReachable(d);
    if (!dockerProblem) client = d;
    return client;
  };
  for (const [name, source] of Object.entries(sources) as [ToolName, ToolSource][]) {
    switch (source.kind) {
      case "path": {
        const exists = existsSync(source.path);
        if (!exists && source.configured) ok = false;
        tools[name] = { source, ready: exists, detail: exists ? source.path : missingFile(name, source.path) };
        break;
      }
      case "image": {
        const d = await needDocker();
        const { imageId } = await import("./llamacpp-image.js");
        const id = d ? await imageId(d, source.image) : undefined;
        if (!id) ok = false;
        tools[name] = { source, ready: !!id, detail: id ? `${source.image} (${id.slice(7, 19)})` : dockerProblem ?? `image ${source.image} is not in the Docker engine (docker pull it, or fix export.tools.image)` };
        break;
      }
      case "managed-converter": {
        const blocker = managed ? undefined : sidSetupBlocker();
        if (blocker) ok = false;
        tools[name] = {
          source,
          ready: !!managed,
          detail: managed ? `llama.cpp-tools ${managed.versions["llama.cpp-tools"]} from Debian sid in ${managed.root}` : blocker ? `cannot set up: ${blocker}` : "not set up yet (sabuild setup, or the first export, downloads it)",
        };
        break;
      }
      case "managed-image": {
        const d = await needDocker();
        const { toolsImageTag, imageId } = await import("./llamacpp-image.js");
        const tag = managed ? toolsImageTag(managed.versions) : "sabuild/llama.cpp";
        const present = !!(d && managed && (await imageId(d, tag)));
        managedImage = { tag, present };
        if (!d) ok = false;
        tools[name] = { source, ready: present, detail: present ? tag : d ? `${tag} not built yet (sabuild setup, or the first export, builds it)` : `${dockerProblem}: the managed llama.cpp binaries run in Docker` };
        break;
      }
      case "none":
        tools[name] = { source, ready: false, detail: source.reason };
        break;
    }
  }
  return { tools, ...(managed ? { managed } : {}), ...(managedImage ? { managedImage } : {}), ok };
}

/** Identity of each tool for stage keys, cheap enough for every plan; downloads the managed converter (~2 MB) the first time. */
export async function llamaToolsIdentity(root: string, config: LlamaToolsConfig, opts: EnsureOptions = {}): Promise<Record<string, string>> {
  const sources = locateLlamaTools(root, config);
  const identity: Record<string, string> = {};
  let managed: SidConverter | undefined;
  const sid = async (): Promise<SidConverter> => (managed ??= await managedConverter(opts));
  let client: Docker | undefined;
  for (const [name, source] of Object.entries(sources) as [ToolName, ToolSource][]) {
    const key = `llama.cpp/${name}`;
    switch (source.kind) {
      case "path":
        if (!existsSync(source.path)) throw new LlamaToolsError(missingFile(name, source.path), `fix the path, or remove it and ${HOW_TO_GET}`, name);
        identity[key] = `sha256:${await fileDigest(source.path)}`;
        break;
      case "image": {
        client ??= await docker();
        const problem = await dockerReachable(client);
        if (problem) throw new LlamaToolsError(`${problem}; export.tools.image (${source.image}) needs it`, "start Docker, or point export.tools.quantize and server at binaries on this machine", "image");
        const { imageId } = await import("./llamacpp-image.js");
        const id = await imageId(client, source.image);
        if (!id) throw new LlamaToolsError(`export.tools.image: image ${source.image} is not in the Docker engine`, `docker pull ${source.image}, or fix the name`, "image");
        identity[key] = `${source.image}@${id}`;
        break;
      }
      case "managed-converter": {
        const m = await sid();
        identity[key] = `debian-sid:llama.cpp-tools=${m.versions["llama.cpp-tools"]},python3-gguf=${m.versions["python3-gguf"]}`;
        break;
      }
      case "managed-image": {
        const m = await sid();
        identity[key] = `debian-sid:llama.cpp-tools=${m.versions["llama.cpp-tools"]},libggml0=${m.versions["libggml0"]}`;
        break;
      }
      case "none":
        break;
    }
  }
  return identity;
}

// One download per process, however many subagents export at once.
const settingUp = new Map<string, Promise<SidConverter>>();

async function managedConverter(opts: EnsureOptions): Promise<SidConverter> {
  const cacheDir = opts.cacheDir ?? userCacheDir();
  const existing = opts.upgrade ? undefined : readSidConverter(cacheDir);
  if (existing) return existing;
  let pending = settingUp.get(cacheDir);
  if (!pending) {
    pending = setupSidConverter(cacheDir, { ...(opts.log ? { log: opts.log } : {}), ...(opts.signal ? { signal: opts.signal } : {}) }).finally(() => settingUp.delete(cacheDir));
    settingUp.set(cacheDir, pending);
  }
  try {
    return await pending;
  } catch (e) {
    opts.signal?.throwIfAborted();
    throw new LlamaToolsError((e as Error).message, HOW_TO_GET);
  }
}

function pythonTool(python: string, script: string, env: Record<string, string>, where: string): PythonTool {
  return {
    python,
    script,
    env,
    where,
    run: (args, o = {}) => runChecked(script.split("/").pop()!, python, [script, ...args], { env: { PYTHONUNBUFFERED: "1", ...env }, ...o }),
  };
}

/** Finds every tool and sets up the managed ones that are missing (a download and an image build, once per machine). */
export async function ensureLlamaTools(root: string, config: LlamaToolsConfig, opts: EnsureOptions = {}): Promise<LlamaTools> {
  const sources = locateLlamaTools(root, config);
  const python = opts.python ?? trainerPython(root);
  const identity = await llamaToolsIdentity(root, config, opts);
  const needsManaged = Object.values(sources).some((s) => s.kind === "managed-converter" || s.kind === "managed-image");
  const managed = needsManaged ? await managedConverter(opts) : undefined;

  const convertSource = sources.convert;
  const convert =
    convertSource.kind === "path"
      ? pythonTool(python, convertSource.path, {}, convertSource.path)
      : pythonTool(
          python,
          managed!.script,
          { PYTHONPATH: managed!.pythonPath.join(delimiter), NO_LOCAL_GGUF: "1" },
          `debian-sid llama.cpp-tools ${managed!.versions["llama.cpp-tools"]}`,
        );
  const loraSource = sources.convert_lora;
  const convertLora = loraSource.kind === "path" ? pythonTool(python, loraSource.path, {}, loraSource.path) : undefined;

  const runners = await import("./runners.js");
  let client: Docker | undefined;
  let managedImage: string | undefined;
  const containerImage = async (source: Extract<ToolSource, { kind: "image" | "managed-image" }>): Promise<{ d: Docker; image: string }> => {
    client ??= await docker();
    const problem = await dockerReachable(client);
    if (problem) throw new LlamaToolsError(`${problem}: llama.cpp's binaries run in a container here`, `start Docker, or ${HOW_TO_GET}`);
    if (source.kind === "image") return { d: client, image: source.image };
    if (!managedImage) {
      const { ensureToolsImage } = await import("./llamacpp-image.js");
      managedImage = (await ensureToolsImage(client, managed!.versions, { ...(opts.log ? { log: opts.log } : {}), ...(opts.signal ? { signal: opts.signal } : {}) })).tag;
    }
    return { d: client, image: managedImage };
  };
  const binary = async <T>(source: ToolSource, name: string, host: (p: string) => T, inImage: (d: Docker, image: string) => T): Promise<T> => {
    switch (source.kind) {
      case "path":
        return host(source.path);
      case "image":
      case "managed-image": {
        const { d, image } = await containerImage(source);
        return inImage(d, image);
      }
      default:
        throw new LlamaToolsError(`no ${name}`, HOW_TO_GET);
    }
  };
  const quantize = await binary(sources.quantize, "llama-quantize", runners.hostRunner, (d, image) => runners.containerRunner(d, image, "llama-quantize"));
  const server = await binary(sources.server, "llama-server", runners.hostServerRunner, (d, image) => runners.containerServerRunner(d, image));
  return { convert, ...(convertLora ? { convertLora } : {}), quantize, server, identity };
}
