import { readFile } from "node:fs/promises";
import { join } from "node:path";
import type { Provenance } from "./card.js";
import type { DatasetTrace } from "./read-traces.js";

/** Groups `path:line` origins by file and `seed[i]` ones together; anything else by its prefix. */
export function originGroup(origin: string | undefined): string {
  if (origin === undefined) return "unknown";
  if (/^seed\[\d+\]$/.test(origin)) return "seed tasks in subagents.yaml";
  const m = /^(.*):\d+$/.exec(origin);
  return m ? m[1]! : (origin.split(/[:[]/)[0] ?? origin);
}

/** Task id -> origin, from the tasks stage's tasks.jsonl and heldout.jsonl. */
export async function taskOrigins(tasksDir: string | undefined): Promise<Map<string, string>> {
  const origins = new Map<string, string>();
  if (!tasksDir) return origins;
  for (const name of ["tasks.jsonl", "heldout.jsonl"]) {
    let text = "";
    try {
      text = await readFile(join(tasksDir, name), "utf8");
    } catch {
      continue;
    }
    for (const line of text.split("\n")) {
      if (!line.trim()) continue;
      const t = JSON.parse(line) as { id?: unknown; origin?: unknown };
      if (typeof t.id === "string" && typeof t.origin === "string") origins.set(t.id, t.origin);
    }
  }
  return origins;
}

function bump(m: Map<string, number>, key: string): void {
  m.set(key, (m.get(key) ?? 0) + 1);
}

/** Where the kept rows came from, for the dataset card. */
export function provenanceOf(subagent: Provenance["subagent"], kept: DatasetTrace[], origins: Map<string, string>): Provenance {
  const p: Provenance = { subagent, teachers: new Map(), sandboxes: new Map(), origins: new Map() };
  for (const t of kept) {
    bump(p.teachers, t.model.base_url ? `${t.model.name} (${t.model.base_url})` : t.model.name);
    const s = t.sandbox;
    bump(p.sandboxes, s?.id ? `${s.recipe ?? "?"}: ${s.tag ?? ""} (${s.id.slice(0, 19)})` : "unknown");
    bump(p.origins, originGroup(origins.get(t.task.id)));
  }
  return p;
}
