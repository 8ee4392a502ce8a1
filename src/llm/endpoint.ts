import { resolveTemplate } from "../config/template.js";

/** Where the teacher is and how to authenticate, as configured (templates unresolved). */
export interface EndpointSettings {
  /** An http(s) URL, or a `${VAR}` template. */
  baseUrl: string;
  /** `${VAR}` (resolved from the environment now), a literal key from code, or "" for none. */
  apiKey?: string;
  /** Extra headers; values may hold `${VAR}` references. */
  headers?: Record<string, string>;
  /** The config path these came from, for messages (e.g. "subagents.tester.teacher"). */
  configKey?: string;
}

export interface ResolvedEndpoint {
  baseUrl: string;
  /** "" when the endpoint takes no key (loopback only). */
  apiKey: string;
  headers: Record<string, string>;
}

/**
 * Resolves the templates just before use, so the key exists only in this process's memory.
 * A missing variable is an error naming the variable and the config key; an empty key is fine
 * for a server on this machine (llama-server, Ollama, vLLM started without --api-key) and an
 * error anywhere else, where it would only earn a 401 later.
 */
export function resolveEndpoint(settings: EndpointSettings, env: Record<string, string | undefined> = process.env): ResolvedEndpoint {
  const where = settings.configKey ?? "teacher";
  const resolve = (key: string, template: string, hint: string): string => {
    const r = resolveTemplate(template, env);
    if (!r.ok) throw new Error(`${where}.${key}: ${r.error} (configured as ${JSON.stringify(template)}); ${hint}`);
    return r.value;
  };
  const baseUrl = resolve("base_url", settings.baseUrl, "export it, or write the URL itself").replace(/\/+$/, "");
  if (!URL.canParse(baseUrl) || !/^https?:$/.test(new URL(baseUrl).protocol)) {
    throw new Error(`${where}.base_url: ${JSON.stringify(baseUrl)} is not an http(s) URL; write e.g. "http://localhost:8000/v1"`);
  }
  const apiKey = resolve(
    "api_key",
    settings.apiKey ?? "",
    'export it before running sabuild, or write api_key: "" for a local server that needs no key',
  );
  if (apiKey === "" && !isLoopback(baseUrl)) {
    const template = settings.apiKey ? ` (${settings.apiKey} is empty)` : "";
    throw new Error(
      `${where}.api_key: no API key for ${baseUrl}${template}; a key may be left out only for a server on this machine. ` +
        `Write api_key: "\${OPENAI_API_KEY}" (or another variable) and export it`,
    );
  }
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(settings.headers ?? {})) headers[name] = resolve(`headers.${name}`, value, "export it, or write the value itself");
  return { baseUrl, apiKey, headers };
}

export function isLoopback(url: string): boolean {
  const host = new URL(url).hostname.replace(/^\[|\]$/g, "");
  return host === "localhost" || host.endsWith(".localhost") || host === "::1" || /^127\.\d+\.\d+\.\d+$/.test(host);
}
