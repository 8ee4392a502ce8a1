import type { ProjectConfig } from "../config/index.js";
import { resolveTemplate } from "../config/template.js";
import { err, ok, type Result } from "../result.js";

export type RemoteMode = "off" | "read" | "readwrite";

/** The remote cache as this run uses it: secrets resolved, never stored or logged. */
export interface RemoteSettings {
  url: string;
  mode: "read" | "readwrite";
  headers: Record<string, string>;
  hmacKey?: string;
}

const MODES = ["off", "read", "readwrite"];

export function parseRemoteMode(value: string | undefined, where: string): Result<RemoteMode | undefined, string> {
  if (value === undefined || value === "") return ok(undefined);
  return MODES.includes(value) ? ok(value as RemoteMode) : err(`${where} must be off, read or readwrite, not "${value}"`);
}

/**
 * Where the remote cache is and how to talk to it. The environment overrides subagents.yaml
 * (`SABUILD_REMOTE_CACHE=<url>`, `SABUILD_REMOTE_CACHE_MODE`, `SABUILD_REMOTE_CACHE_HEADER="Name: value"`,
 * `SABUILD_REMOTE_CACHE_HMAC_KEY`), and `--remote-cache=<mode>` overrides both.
 */
export function resolveRemote(project: Pick<ProjectConfig, "remoteCache">, env: Record<string, string | undefined>, cliMode?: RemoteMode): Result<RemoteSettings | undefined, string> {
  const config = project.remoteCache;
  const envMode = parseRemoteMode(env.SABUILD_REMOTE_CACHE_MODE, "SABUILD_REMOTE_CACHE_MODE");
  if (!envMode.ok) return envMode;
  const mode = cliMode ?? envMode.value ?? config?.mode ?? "readwrite";
  const urlTemplate = env.SABUILD_REMOTE_CACHE || config?.url;
  if (mode === "off" || !urlTemplate) return ok(undefined);
  const url = resolveTemplate(urlTemplate, env);
  if (!url.ok) return err(`remote_cache.url: ${url.error}`);
  if (!URL.canParse(url.value) || !/^https?:$/.test(new URL(url.value).protocol)) return err(`remote cache URL is not an http(s) URL: ${url.value}`);
  const headers: Record<string, string> = {};
  for (const [name, template] of Object.entries(config?.headers ?? {})) {
    const value = resolveTemplate(template, env);
    if (!value.ok) return err(`remote_cache.headers.${name}: ${value.error}`);
    headers[name] = value.value;
  }
  if (env.SABUILD_REMOTE_CACHE_HEADER) {
    const at = env.SABUILD_REMOTE_CACHE_HEADER.indexOf(":");
    if (at < 1) return err('SABUILD_REMOTE_CACHE_HEADER must look like "Name: value"');
    headers[env.SABUILD_REMOTE_CACHE_HEADER.slice(0, at).trim()] = env.SABUILD_REMOTE_CACHE_HEADER.slice(at + 1).trim();
  }
  let hmacKey = env.SABUILD_REMOTE_CACHE_HMAC_KEY || undefined;
  if (!hmacKey && config?.hmac_key) {
    const key = resolveTemplate(config.hmac_key, env);
    if (!key.ok) return err(`remote_cache.hmac_key: ${key.error}`);
    hmacKey = key.value || undefined;
  }
  return ok({ url: url.value.replace(/\/+$/, ""), mode, headers, ...(hmacKey ? { hmacKey } : {}) });
}
