import type { SandboxLimits } from "./types.js";

const UNITS: Record<string, number> = { "": 1, b: 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4 };

/** "2g", "512m", "1.5G" or a byte count -> bytes (binary units, as Docker reads them). */
export function parseMemory(value: string | number): number {
  if (typeof value === "number") return Math.round(value);
  const m = /^(\d+(?:\.\d+)?)\s*([bkmgt]?)$/i.exec(value.trim());
  if (!m) throw new Error(`"${value}" is not a memory size such as "2g" or "512m"`);
  return Math.round(Number(m[1]) * UNITS[m[2]!.toLowerCase()]!);
}

/** The sandbox section of subagents.yaml as written: each limit overrides the recipe's. */
export interface LimitOverrides {
  network?: "none" | "bridge" | undefined;
  memory?: string | undefined;
  cpus?: number | undefined;
  pids?: number | undefined;
  command_timeout_s?: number | undefined;
  output_limit_bytes?: number | undefined;
}

/** Config overrides in SandboxLimits terms, only the keys that were set. */
export function limitsFromConfig(o: LimitOverrides): Partial<SandboxLimits> {
  const out: Partial<SandboxLimits> = {};
  if (o.network !== undefined) out.network = o.network;
  if (o.memory !== undefined) out.memoryBytes = parseMemory(o.memory);
  if (o.cpus !== undefined) out.cpus = o.cpus;
  if (o.pids !== undefined) out.pids = o.pids;
  if (o.command_timeout_s !== undefined) out.commandTimeoutMs = Math.round(o.command_timeout_s * 1000);
  if (o.output_limit_bytes !== undefined) out.outputLimitBytes = o.output_limit_bytes;
  return out;
}

export function mergeLimits(base: SandboxLimits, override: Partial<SandboxLimits> | undefined): SandboxLimits {
  const out = { ...base };
  for (const [k, v] of Object.entries(override ?? {})) if (v !== undefined) (out as Record<string, unknown>)[k] = v;
  return out;
}
