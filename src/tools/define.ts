import { z } from "zod";
import type { AgentTool, JsonSchema, ToolContext, ToolResult } from "./types.js";
import { aliasesOf } from "./names.js";

/**
 * A tool failure the model should see (file not found, string not unique, timeout). Thrown inside
 * a tool's run and turned into a ToolResult by defineTool, so tool code reads top to bottom.
 */
export class ToolFailure extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ToolFailure";
  }
}

export function success(content: string): ToolResult {
  return { content, isError: false };
}

/** Claude Code wraps tool errors in this tag; models trained on its traces know to react to it. */
export function failure(message: string): ToolResult {
  return { content: `<tool_use_error>${message}</tool_use_error>`, isError: true };
}

interface ToolDefinition<S extends z.ZodType> {
  name: string;
  description: string;
  schema: S;
  run(args: z.output<S>, ctx: ToolContext): Promise<ToolResult | string>;
}

/** An AgentTool whose arguments are checked against a zod schema, which also gives the JSON Schema. */
export function defineTool<S extends z.ZodType>(def: ToolDefinition<S>): AgentTool {
  return {
    name: def.name,
    aliases: aliasesOf(def.name),
    description: def.description,
    parameters: jsonSchemaOf(def.schema),
    async run(args, ctx) {
      const parsed = def.schema.safeParse(args, { reportInput: true });
      if (!parsed.success) return failure(`InputValidationError: ${def.name} failed due to the following ${parsed.error.issues.length === 1 ? "issue" : "issues"}:\n${describeIssues(parsed.error.issues)}`);
      try {
        const result = await def.run(parsed.data, ctx);
        return typeof result === "string" ? success(result) : result;
      } catch (e) {
        if (e instanceof ToolFailure) return failure(e.message);
        throw e;
      }
    },
  };
}

/** The parameters schema as OpenAI expects it: no `$schema`, no bounds zod adds for safe integers. */
function jsonSchemaOf(schema: z.ZodType): JsonSchema {
  const { $schema: _, ...rest } = z.toJSONSchema(schema, { io: "input" }) as JsonSchema;
  return stripSafeIntegerBounds(rest) as JsonSchema;
}

function stripSafeIntegerBounds(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(stripSafeIntegerBounds);
  if (value === null || typeof value !== "object") return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    if ((k === "maximum" && v === Number.MAX_SAFE_INTEGER) || (k === "minimum" && v === Number.MIN_SAFE_INTEGER)) continue;
    out[k] = stripSafeIntegerBounds(v);
  }
  return out;
}

/** Issues phrased for a model that has to fix its call, one per line. */
function describeIssues(issues: readonly z.core.$ZodIssue[]): string {
  return issues
    .map((issue) => {
      const name = issue.path.map(String).join(".");
      if (issue.code === "unrecognized_keys") return issue.keys.map((k) => `An unexpected parameter \`${k}\` was provided`).join("\n");
      if (issue.code === "invalid_type" && issue.input === undefined) return `The required parameter \`${name}\` is missing`;
      if (issue.code === "invalid_type") return `The parameter \`${name}\` type is expected as \`${issue.expected}\` but provided as \`${receivedType(issue.input)}\``;
      return name ? `The parameter \`${name}\` is invalid: ${issue.message}` : issue.message;
    })
    .join("\n");
}

function receivedType(input: unknown): string {
  if (input === null) return "null";
  if (Array.isArray(input)) return "array";
  return typeof input;
}
