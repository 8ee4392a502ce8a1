/**
 * Which files of a library its index reads, shared by the scan and by the index node's key
 * (which lists them on every plan, so this module loads nothing but the rule itself).
 */

/** Folders never searched: dependencies, VCS data, build output. */
const SKIP = new Set(["node_modules", ".git", "dist", "build", ".venv", "__pycache__"]);

export const enterFolder = (name: string): boolean => !SKIP.has(name);
export const candidateFile = (name: string): boolean => name.endsWith(".md") || name === "plugin.json" || name === "marketplace.json";
