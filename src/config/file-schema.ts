import * as z from "zod";
import { apiKey, baseUrl, headerValue, nonEmpty, positiveInt, relativePath } from "./fields.js";
import { benchmarksSchema } from "./benchmark-schema.js";
import { executorsSchema } from "./executor-schema.js";
import { librariesSchema } from "./library-schema.js";
import { settingsSchema, sourceSchema, SUBAGENT_NAME } from "./schema.js";

/**
 * The schema of subagents.yaml as written. Each layer (`defaults`, each subagent) is checked
 * where it is written, so a problem points at its own line however it would be inherited.
 * In a layer every key is optional and may be `null` (reset to the built-in default).
 */

type Meta = Record<string, unknown>;

/** An object whose keys all have defaults or are optional merges key by key across layers. */
function isMergeable(schema: z.ZodType): schema is z.ZodObject {
  if (!(schema instanceof z.ZodObject)) return false;
  return Object.values(schema.shape).every((field) => (field as z.ZodType).safeParse(undefined).success);
}

/**
 * An object with a required key (such as `pricing`) stays whole: it must be complete in the
 * layer that writes it, so the merged result can never miss a key no layer can be blamed for.
 */
function layerValue(schema: z.ZodType): z.ZodType {
  if (isMergeable(schema)) return layerObject(schema);
  if (schema instanceof z.ZodRecord) {
    return z.record(schema.keyType, layerValue(schema.valueType as z.ZodType).nullable());
  }
  return schema;
}

function layerField(field: z.ZodType): z.ZodType {
  const meta: Meta = {};
  let inner = field;
  let fallback: { value: unknown } | undefined;
  for (;;) {
    Object.assign(meta, { ...z.globalRegistry.get(inner), ...meta });
    if (inner instanceof z.ZodDefault) {
      fallback ??= { value: inner.def.defaultValue };
      inner = inner.unwrap() as z.ZodType;
    } else if (
      inner instanceof z.ZodPrefault ||
      inner instanceof z.ZodOptional ||
      inner instanceof z.ZodNullable
    ) {
      inner = inner.unwrap() as z.ZodType;
    } else break;
  }
  const value = layerValue(inner).nullable();
  // The default only documents the built-in value for editors; merging fills it in, not this.
  const out = fallback ? value.default(fallback.value as never) : value.optional();
  return Object.keys(meta).length > 0 ? out.meta(meta) : out;
}

function layerObject(schema: z.ZodObject): z.ZodObject {
  const shape: Record<string, z.ZodType> = {};
  for (const [key, field] of Object.entries(schema.shape)) shape[key] = layerField(field as z.ZodType);
  const meta = z.globalRegistry.get(schema);
  const layer = z.strictObject(shape);
  return meta ? layer.meta(meta) : layer;
}

/** Sections get an id so the JSON Schema defines each once, for defaults and subagents alike. */
function withSectionIds(layer: z.ZodObject): z.ZodObject {
  const shape: Record<string, z.ZodType> = {};
  for (const [key, field] of Object.entries(layer.shape)) {
    const section = settingsSchema.shape[key as keyof typeof settingsSchema.shape];
    shape[key] = section instanceof z.ZodPrefault ? (field as z.ZodType).meta({ id: key }) : (field as z.ZodType);
  }
  return z.strictObject(shape);
}

export const settingsLayerSchema = withSectionIds(layerObject(settingsSchema));

export const subagentLayerSchema = z.strictObject({
  extends: nonEmpty("the name of another subagent")
    .optional()
    .describe("Inherit every setting, and the source, from this subagent."),
  source: sourceSchema.optional().describe("Required, unless inherited through extends."),
  ...settingsLayerSchema.shape,
});

const subagentName = z
  .string()
  .regex(SUBAGENT_NAME, { error: 'lowercase letters, digits, "-" and "_", starting with a letter or digit' });

const remoteCacheSchema = z
  .strictObject({
    url: baseUrl().describe("Bazel-style HTTP cache: blobs at <url>/cas/<sha256>, results at <url>/ac/<key>."),
    mode: z.enum(["read", "readwrite"]).default("readwrite").describe("read for untrusted jobs (pull requests)."),
    headers: z.record(z.string(), headerValue()).default({}).describe("Sent with every request, e.g. Authorization: Bearer ${TOKEN}."),
    hmac_key: apiKey("hmac_key", "SABUILD_CACHE_HMAC_KEY").optional().describe("Signs uploaded action results; results without a valid signature are ignored."),
  })
  .describe("A shared artifact cache. SABUILD_REMOTE_CACHE=<url> in the environment overrides url.");

const serveSchema = z
  .strictObject({
    record: z
      .boolean()
      .default(false)
      .describe("Append every delegation `sabuild serve` (gateway or --mcp) answers to the project's traffic log in the store (store/traffic/<subagent>/): prompt, who answered and why, the answer, tokens, latency. Keys and headers are never recorded."),
    redact: z
      .array(nonEmpty("a regular expression"))
      .default([])
      .describe("Regular expressions (JavaScript syntax, flags gu) whose matches are replaced by [redacted] in every recorded text before it is written, after the built-in patterns (API keys, bearer tokens, e-mail addresses)."),
    max_bytes: positiveInt()
      .default(50_000_000)
      .describe("Size of a subagent's current log at which it is rotated (renamed with a sequence number, a new one started)."),
    keep: positiveInt().default(5).describe("Rotated logs kept per subagent besides the current one; older ones are deleted."),
  })
  .superRefine((s, ctx) => {
    s.redact.forEach((pattern, i) => {
      try {
        new RegExp(pattern, "gu");
      } catch (e) {
        const message = `not a regular expression: ${(e as Error).message}`;
        ctx.addIssue({ code: "custom", path: ["redact", i], message, params: { message, hint: "JavaScript regular expression syntax, without slashes or flags" } });
      }
    });
  })
  .describe("Settings of `sabuild serve`: recording traffic for the next build (docs/traffic.md).");

const projectSandboxSchema = z
  .strictObject({
    engine: z
      .enum(["docker", "podman"])
      .default("docker")
      .describe("The container engine of the machine that builds (each cluster node resolves its own): docker, or podman through its Docker-compatible socket. DOCKER_HOST, when set, wins."),
  })
  .describe("Project-wide container settings; each subagent's sandbox: (recipe, limits) is its own.");

export const documentSchema = z.strictObject({
  version: z.literal(1, { error: "1" }),
  store: relativePath().default("cache").describe("Content store, relative to the project directory."),
  plugins: z.array(relativePath()).default([]).describe("Stage plugin modules."),
  remote_cache: remoteCacheSchema.optional(),
  executors: executorsSchema,
  sandbox: projectSandboxSchema.prefault({}),
  serve: serveSchema.prefault({}),
  defaults: settingsLayerSchema
    .nullable()
    .optional()
    .describe("Settings every subagent starts from (all keys but source and extends)."),
  // At least one, unless the project declares libraries to pick from (checked in load.ts, which sees both).
  subagents: z.record(subagentName, subagentLayerSchema),
  benchmarks: benchmarksSchema,
  libraries: librariesSchema,
});

export type DocumentAsWritten = z.output<typeof documentSchema>;

export type RemoteCacheConfig = z.output<typeof remoteCacheSchema>;

export type ServeConfig = z.output<typeof serveSchema>;
