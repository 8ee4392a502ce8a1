import * as z from "zod";
import { documentSchema } from "./file-schema.js";

export const CONFIG_SCHEMA_ID = "urn:sabuild:subagents.schema.json:v1";

/**
 * JSON Schema of subagents.yaml as written (zod's input side: optional keys stay optional), for
 * editors. Checks that need code (api keys, `${...}` placement, extends) are only in sabuild.
 */
export function configJsonSchema(): Record<string, unknown> {
  const generated = z.toJSONSchema(documentSchema, { io: "input", target: "draft-2020-12" });
  const { $schema, ...rest } = generated;
  return {
    $schema,
    $id: CONFIG_SCHEMA_ID,
    title: "sabuild subagents.yaml",
    description: "Subagents and skills to distill into small local models, and how.",
    ...rest,
  };
}
