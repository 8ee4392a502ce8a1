import { isMap, isScalar, isSeq, type Document } from "yaml";
import type { Problem } from "../errors.js";
import type { KeyPath, Locator } from "./locate.js";

/**
 * `${NAME}` is substituted only where a secret or an endpoint goes. Anywhere else it would be
 * kept as literal text, and a setting silently different from what the user meant (or a cache
 * key that depends on the environment) is worse than an error.
 */
function isSecretOrEndpoint(path: KeyPath): boolean {
  const last = path.at(-1);
  if (path[0] === "remote_cache" && (last === "url" || last === "hmac_key")) return true;
  // An MCP server's environment (its tokens) and an HTTP server's endpoint, substituted when it starts.
  if (path.at(-4) === "mcp_servers" && path.at(-2) === "env") return true;
  if (path.at(-3) === "mcp_servers" && last === "url") return true;
  return last === "base_url" || last === "api_key" || path.at(-2) === "headers";
}

/**
 * Prompt text goes to a model verbatim, and `${HOME}` in a shell example is ordinary content
 * there; it is not a setting, so it is exempt.
 */
function isPromptText(path: KeyPath): boolean {
  const tail = path.slice(-3).join(".");
  if (tail === "source.inline.prompt" || tail === "source.inline.description") return true;
  const seed = path.lastIndexOf("seed");
  if (seed !== -1 && path[seed - 1] === "tasks") return true;
  return path.at(-2) === "rubric" || path.at(-1) === "gate_reason";
}

export function interpolationProblems(doc: Document, locate: Locator): Problem[] {
  const problems: Problem[] = [];
  const walk = (node: unknown, path: KeyPath): void => {
    if (isMap(node)) {
      for (const pair of node.items) {
        if (isScalar(pair.key)) walk(pair.value, [...path, String(pair.key.value)]);
      }
    } else if (isSeq(node)) {
      node.items.forEach((item, index) => walk(item, [...path, index]));
    } else if (isScalar(node) && typeof node.value === "string" && node.value.includes("${")) {
      if (isSecretOrEndpoint(path) || isPromptText(path)) return;
      problems.push(
        locate.at(path, "value", {
          message: "interpolation is only allowed in api keys, base URLs and headers",
          hint: "sabuild does not substitute ${...} here; write the value itself",
        }),
      );
    }
  };
  walk(doc.contents, []);
  return problems;
}
