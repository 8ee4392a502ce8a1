import type { TaskLine } from "../artifacts/index.js";
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
export function taskOrigins(tasks: readonly Pick<TaskLine, "id" | "origin">[]): Map<string, string> {
  const origins = new Map<string, string>();
  for (const t of tasks) if (t.origin !== undefined) origins.set(t.id, t.origin);
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
