import type { ResolvedSubagent } from "../config/index.js";
import type { ChatClientOptions } from "./client.js";

type TeacherSettings = ResolvedSubagent["teacher"];

/**
 * Client options from a subagent's `teacher` section. Templates stay templates here: the
 * client resolves them when it is created, inside the stage's run.
 */
export function teacherClientOptions(
  teacher: TeacherSettings,
  extra: Omit<ChatClientOptions, "baseUrl" | "apiKey" | "model"> & { configKey?: string } = {},
): ChatClientOptions {
  return {
    baseUrl: teacher.base_url,
    apiKey: teacher.api_key,
    model: teacher.model,
    temperature: teacher.temperature,
    max_tokens: teacher.max_tokens,
    concurrency: teacher.concurrency,
    stream: teacher.stream,
    timeoutMs: teacher.timeout_s * 1000,
    retry: { maxRetries: teacher.max_retries },
    ...(teacher.rpm !== undefined ? { rpm: teacher.rpm } : {}),
    ...(teacher.tpm !== undefined ? { tpm: teacher.tpm } : {}),
    ...(teacher.headers ? { headers: teacher.headers } : {}),
    ...(teacher.pricing ? { pricing: teacher.pricing } : {}),
    ...extra,
  };
}
