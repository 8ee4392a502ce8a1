export { loadConfig, parseConfig, type ProjectConfig } from "./load.js";
export { resolveTemplate, templateRefs } from "./template.js";
export { configJsonSchema, CONFIG_SCHEMA_ID } from "./json-schema.js";
export type { RemoteCacheConfig, ServeConfig } from "./file-schema.js";
export {
  SUBAGENT_NAME,
  type ResolvedSubagent,
  type SubagentSettings,
  type SubagentSource,
} from "./schema.js";
