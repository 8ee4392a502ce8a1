import { err, ok, type Result } from "../../result.js";

/** A provider's JSON answer, or a message naming the provider, the status and what it said. */
export async function jsonFrom(provider: string, url: string, init: RequestInit): Promise<Result<unknown, string>> {
  let res: Response;
  try {
    res = await fetch(url, init);
  } catch (e) {
    const cause = (e as { cause?: { message?: string } }).cause?.message;
    return err(`${provider} search failed: ${(e as Error).message}${cause ? ` (${cause})` : ""}`);
  }
  const text = await res.text();
  if (!res.ok) return err(`${provider} search answered HTTP ${res.status}: ${text.slice(0, 300).trim() || res.statusText}`);
  try {
    return ok(JSON.parse(text));
  } catch {
    return err(`${provider} search answered with something that is not JSON: ${text.slice(0, 200)}`);
  }
}

/** A string field of a provider's result, "" when absent or of another type. */
export function str(value: unknown): string {
  return typeof value === "string" ? value : "";
}

/** The array at `key` of a JSON object, [] otherwise. */
export function arrayAt(value: unknown, key: string): Record<string, unknown>[] {
  if (value === null || typeof value !== "object") return [];
  const found = (value as Record<string, unknown>)[key];
  return Array.isArray(found) ? found.filter((x): x is Record<string, unknown> => x !== null && typeof x === "object") : [];
}
