/**
 * JSON as Python's json.dumps(value, ensure_ascii=False) writes it: ", " and ": " separators.
 * Chat templates print string tool-call arguments verbatim and mapping arguments through
 * `tojson` (json.dumps); writing the strings this way makes both renderings the same text, so
 * the token counts in stats.json are what training sees whichever form the trainer passes.
 */
export function pythonJson(value: unknown): string {
  if (value === null || typeof value !== "object") return JSON.stringify(value) ?? "null";
  if (Array.isArray(value)) return `[${value.map(pythonJson).join(", ")}]`;
  const entries = Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined);
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}: ${pythonJson(v)}`).join(", ")}}`;
}
