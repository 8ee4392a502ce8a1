export { loadConfig, parseConfig, type ProjectConfig } from "./load.js";
export { resolveTemplate, templateRefs } from "./template.js";
export { configJsonSchema, CONFIG_SCHEMA_ID } from "./json-schema.js";
export {
  SUBAGENT_NAME,
  SOURCE_KINDS,
  type ResolvedSubagent,
  type SubagentSettings,
  type SubagentSource,
} from "./schema.js";
