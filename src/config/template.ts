import { err, ok, type Result } from "../result.js";

/**
 * `${NAME}` references to environment variables. The loader only checks them and keeps the
 * template text; values are substituted at run time, just before a request is sent, so a secret
 * never reaches a cache key, a lock file or a log.
 */

const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** Splits a template into its variable names; an error names the malformed reference. */
export function templateRefs(template: string): Result<string[], string> {
  const refs: string[] = [];
  let at = template.indexOf("${");
  while (at !== -1) {
    const close = template.indexOf("}", at + 2);
    const name = close === -1 ? undefined : template.slice(at + 2, close);
    if (name === undefined || !NAME.test(name)) {
      const text = close === -1 ? template.slice(at) : template.slice(at, close + 1);
      return err(`malformed environment reference ${JSON.stringify(text)}`);
    }
    refs.push(name);
    at = template.indexOf("${", close + 1);
  }
  return ok(refs);
}

export function hasTemplate(text: string): boolean {
  return text.includes("${");
}

/** True for a value that is exactly one reference, such as `${OPENAI_API_KEY}`. */
export function isSingleRef(text: string): boolean {
  return text.startsWith("${") && text.endsWith("}") && NAME.test(text.slice(2, -1));
}

/** Substitutes every `${NAME}`; fails naming each variable that is not set. */
export function resolveTemplate(
  template: string,
  env: Record<string, string | undefined>,
): Result<string, string> {
  const refs = templateRefs(template);
  if (!refs.ok) return refs;
  const missing = [...new Set(refs.value.filter((name) => env[name] === undefined))];
  if (missing.length === 1) return err(`environment variable ${missing[0]} is not set`);
  if (missing.length > 1) return err(`environment variables ${missing.join(", ")} are not set`);
  return ok(template.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g, (_, name: string) => env[name]!));
}
