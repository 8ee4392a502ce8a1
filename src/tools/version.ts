/**
 * Bumped whenever a tool's description, arguments or behaviour changes: the import stage puts it
 * into its key and tools.json, so traces recorded with the old tools are not reused.
 */
export const TOOLS_VERSION = "2";
