/**
 * Redaction runs on every string of a record before it is serialised, so nothing matched ever
 * reaches the disk. The built-in patterns catch the secrets most often pasted into prompts; the
 * user's (serve.redact) add what their data holds (customer ids, phone numbers).
 */
const BUILTIN = [
  // OpenAI/Anthropic-style keys (sk-..., sk-ant-...), GitHub tokens, AWS access key ids, Slack tokens.
  String.raw`\bsk-[A-Za-z0-9_-]{8,}`,
  String.raw`\bgh[pousr]_[A-Za-z0-9]{20,}`,
  String.raw`\bAKIA[0-9A-Z]{16}\b`,
  String.raw`\bxox[abprs]-[A-Za-z0-9-]{10,}`,
  // An Authorization value pasted whole, whatever the token looks like.
  String.raw`\b[Bb]earer\s+[A-Za-z0-9._~+/=-]{8,}`,
  // E-mail addresses: personal data.
  String.raw`[\p{L}\p{N}._%+-]+@[\p{L}\p{N}.-]+\.\p{L}{2,}`,
];

export const REDACTED = "[redacted]";

export type Redactor = (value: unknown) => unknown;

/** Patterns were checked when the config loaded (serve.redact); a bad one here is a bug. */
export function makeRedactor(extra: readonly string[]): Redactor {
  const patterns = [...BUILTIN, ...extra].map((p) => new RegExp(p, "gu"));
  const text = (s: string): string => patterns.reduce((acc, re) => acc.replace(re, REDACTED), s);
  const walk = (v: unknown): unknown => {
    if (typeof v === "string") return text(v);
    if (Array.isArray(v)) return v.map(walk);
    if (v && typeof v === "object") return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, walk(x)]));
    return v;
  };
  return walk;
}
