import { UserInputError } from "../../errors.js";
import { describeReason } from "../../engine/events.js";
import { currentPreimage } from "../../engine/decide.js";
import { selectNodes } from "../../engine/graph.js";
import { planNodes } from "../../engine/plan.js";
import { openProject } from "../../project.js";
import { canonicalJson, type KeyPreimage } from "../../engine/key.js";
import { parseCommandArgs } from "../args.js";
import { printJson, reasonsJson } from "../output.js";

export const explainHelp = `sabuild explain <subagent>:<stage> [--json]
  Compares, field by field, the key inputs stored for the stage's last locked build with the
  inputs as they are now: version, each param, each file digest, upstream outputs, toolchain.`;

interface Field {
  field: string;
  old?: unknown;
  now?: unknown;
  changed: boolean;
}

export async function explainCommand(argv: string[]): Promise<number> {
  const args = parseCommandArgs("explain", argv, {});
  if (args.help) return (console.log(explainHelp), 0);
  const target = args.positionals[0];
  if (!target || !target.includes(":") || args.positionals.length > 1) throw new UserInputError("sabuild explain takes one target <subagent>:<stage>");
  const session = await openProject(args.global);
  const { selected } = selectNodes(session.nodes, [target]);
  const node = selected.find((n) => n.id === target)!;
  const { planned, evals } = await planNodes(session.env, selected);
  const status = planned.find((p) => p.id === target)!;
  if (node.stage.unavailable) throw new UserInputError(`${target}: ${node.stage.unavailable}`);
  // Upstream outputs that do not exist yet are shown as pending rather than guessed.
  const upstream: Record<string, string> = {};
  for (const [name, dep] of Object.entries(node.deps)) {
    const e = evals.get(dep);
    upstream[name] = e && "hit" in e && e.hit ? e.hit.output : "(pending: upstream will run)";
  }
  const now = await currentPreimage(session.env, node, upstream);
  if (!now.ok) throw new UserInputError(`cannot compute the inputs of ${target}`, now.error);
  const lockKey = session.lock[target]?.key;
  const stored = lockKey ? (await session.store.ac.get(lockKey))?.preimage : undefined;
  const fields = compare(stored, now.value);
  if (args.global.json) {
    printJson({ id: target, status: status.status, reasons: reasonsJson(status.reasons), lockedKey: lockKey ?? null, storedPreimage: stored !== undefined, fields });
    return 0;
  }
  console.log(`${target}: ${status.status}${lockKey ? ` (locked key ${lockKey.slice(0, 12)})` : " (not in sabuild.lock)"}`);
  if (lockKey && !stored) console.log("  the stored inputs of the locked key are not in the store (gc'd or another machine); comparing digests only:");
  for (const r of status.reasons) console.log(`  reason: ${describeReason(r)}`);
  for (const f of fields) {
    const mark = f.changed ? "≠" : "=";
    console.log(`  ${mark} ${f.field}: ${f.changed ? `${show(f.old)} -> ${show(f.now)}` : show(f.now)}`);
  }
  return 0;
}

function compare(old: KeyPreimage | undefined, now: KeyPreimage): Field[] {
  const flatOld = old ? flatten(old) : new Map<string, unknown>();
  const flatNow = flatten(now);
  const names = [...new Set([...flatOld.keys(), ...flatNow.keys()])].sort();
  return names.map((field) => {
    const a = flatOld.get(field);
    const b = flatNow.get(field);
    return { field, ...(a !== undefined ? { old: a } : {}), ...(b !== undefined ? { now: b } : {}), changed: old !== undefined && canonicalJson(a ?? null) !== canonicalJson(b ?? null) };
  });
}

function flatten(p: KeyPreimage): Map<string, unknown> {
  const out = new Map<string, unknown>();
  out.set("version", p.version);
  const walk = (prefix: string, v: unknown): void => {
    if (typeof v === "object" && v !== null && !Array.isArray(v) && Object.keys(v).length) {
      for (const [k, x] of Object.entries(v)) walk(`${prefix}.${k}`, x);
    } else out.set(prefix, v);
  };
  walk("params", p.params);
  for (const [k, v] of Object.entries(p.files)) out.set(`files.${k}`, v);
  for (const [k, v] of Object.entries(p.upstream)) out.set(`upstream.${k}`, v);
  for (const [k, v] of Object.entries(p.toolchain)) out.set(`toolchain.${k}`, v);
  return out;
}

function show(v: unknown): string {
  if (v === undefined) return "(absent)";
  const s = typeof v === "string" ? v : JSON.stringify(v);
  return /^[0-9a-f]{64}$/.test(s) ? s.slice(0, 12) : s.length > 80 ? `${s.slice(0, 77)}...` : s;
}
