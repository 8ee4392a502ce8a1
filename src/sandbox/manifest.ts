import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { parse as parseYaml } from "yaml";
import * as z from "zod";
import { parseMemory } from "./limits.js";
import { knownRecipes, locateRecipe, type Recipe } from "./recipe.js";

/** recipe.yaml. Loaded only when an image is built: a no-op plan never parses YAML. */
const manifestSchema = z.strictObject({
  description: z.string().min(1),
  tools: z.array(z.string().min(1)).default([]),
  workdir: z.string().startsWith("/").default("/workspace"),
  user: z.string().min(1).default("agent"),
  network: z.enum(["none", "bridge"]).default("none"),
  limits: z
    .strictObject({
      memory: z.union([z.string(), z.number()]).default("2g"),
      cpus: z.number().positive().default(2),
      pids: z.number().int().positive().default(256),
      command_timeout_s: z.number().positive().default(60),
      output_limit_bytes: z.number().int().positive().default(30000),
    })
    .prefault({}),
});

/** Reads a recipe's manifest. Throws an Error that names the file when it is malformed. */
export async function loadRecipe(name: string, projectRoot?: string): Promise<Recipe> {
  const found = locateRecipe(name, projectRoot);
  if (!found) throw new Error(`no recipe "${name}" (known: ${knownRecipes(projectRoot).join(", ") || "none"})`);
  const file = join(found.dir, "recipe.yaml");
  const parsed = manifestSchema.safeParse(parseYaml(await readFile(file, "utf8")) ?? {});
  if (!parsed.success) {
    const first = parsed.error.issues[0]!;
    throw new Error(`${file}: ${first.path.join(".") || "manifest"}: ${first.message}`);
  }
  const m = parsed.data;
  if (!existsSync(join(found.dir, "Dockerfile"))) throw new Error(`${found.dir} has no Dockerfile`);
  return {
    name,
    dir: found.dir,
    origin: found.origin,
    description: m.description,
    tools: m.tools,
    workdir: m.workdir,
    user: m.user,
    limits: {
      memoryBytes: parseMemory(m.limits.memory),
      cpus: m.limits.cpus,
      pids: m.limits.pids,
      network: m.network,
      commandTimeoutMs: Math.round(m.limits.command_timeout_s * 1000),
      outputLimitBytes: m.limits.output_limit_bytes,
    },
  };
}

