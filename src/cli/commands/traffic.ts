import { stat } from "node:fs/promises";
import { relative, resolve } from "node:path";
import { UserInputError } from "../../errors.js";
import { openProject } from "../../project.js";
import { parseCommandArgs } from "../args.js";
import { formatBytes, printJson } from "../output.js";
import { namedSubagents } from "../subagent-names.js";

export const trafficHelp = `sabuild traffic ls|stats|export [subagent...] [--json]
  What \`sabuild serve\` recorded (serve.record: true in subagents.yaml; docs/traffic.md).
  ls      one line per delegation: time, who answered and why, tokens, latency, prompt
          --limit N (the last N; default 20, 0 for all)   --escalated (the teacher answered)
  stats   per subagent: delegations, escalation rate by reason, tokens, latency, log size
  export  the records as JSONL on stdout (--json: one document {as, lines}), or --out FILE
          (written whole, then renamed into place)
          --as records (default: the whole records) | tasks (one {"id", "prompt"} per distinct prompt)`;

export async function trafficCommand(argv: string[]): Promise<number> {
  const args = parseCommandArgs("traffic", argv, {
    limit: { type: "string" },
    escalated: { type: "boolean" },
    out: { type: "string", short: "o" },
    as: { type: "string" },
  });
  const [sub, ...names] = args.positionals;
  if (args.help || sub === undefined) return (console.log(trafficHelp), args.help ? 0 : 2);
  if (sub !== "ls" && sub !== "stats" && sub !== "export") throw new UserInputError(`sabuild traffic: "${sub}" is not one of ls, stats, export`);
  const { project } = await openProject(args.global);
  const subagents = namedSubagents(project, names);
  const { readAll, lsRows, trafficStats, exportLines } = await import("../../traffic/summary.js");
  const read = await readAll(project.store, subagents);
  for (const s of read.skipped.slice(0, 5)) process.stderr.write(`warning: ${s.origin}: skipped: ${s.why}\n`);
  if (read.skipped.length > 5) process.stderr.write(`warning: ${read.skipped.length - 5} more lines skipped\n`);
  if (sub === "ls") {
    const limit = countOf(args.values.limit as string | undefined, 20);
    const rows = lsRows(read.records, { limit, escalated: args.values.escalated === true });
    if (args.global.json) printJson({ records: rows });
    else if (!rows.length) console.log(read.records.length ? "no delegation matches" : "nothing recorded: set serve.record: true in subagents.yaml and serve");
    else for (const r of rows) console.log(`${r.at}  ${r.subagent}  ${r.answered_by}${r.route_reason !== "student" ? ` (${r.route_reason})` : ""}  ${r.tokens.completion} tok  ${r.latency_ms} ms  ${r.prompt.replace(/\s+/g, " ").slice(0, 80)}`);
    return 0;
  }
  if (sub === "stats") {
    const stats = await trafficStats(project.store, subagents, read.records);
    if (args.global.json) printJson({ subagents: stats });
    else
      for (const s of stats) {
        const reasons = Object.entries(s.escalations.by_reason).map(([r, n]) => `${r} ${n}`).join(", ");
        console.log(`${s.subagent}: ${s.delegations} delegations (${s.prompts} distinct prompts), ${s.by_answerer.student} student, ${s.by_answerer.teacher} teacher${s.by_answerer.none ? `, ${s.by_answerer.none} unanswered` : ""}; escalated ${(s.escalations.rate * 100).toFixed(1)}%${reasons ? ` (${reasons})` : ""}`);
        console.log(`  answer tokens mean ${s.answer_tokens.mean.toFixed(0)}, max ${s.answer_tokens.max}; latency p50 ${s.latency_ms.p50} ms, p95 ${s.latency_ms.p95} ms; log ${s.files} files, ${formatBytes(s.bytes)}`);
      }
    return 0;
  }
  const as = (args.values.as as string | undefined) ?? "records";
  if (as !== "records" && as !== "tasks") throw new UserInputError(`--as: "${as}" is not one of records, tasks`);
  const text = exportLines(read.records, as);
  const out = args.values.out as string | undefined;
  if (out === undefined) {
    // JSONL is already machine-readable; --json makes it one document like every other command's.
    if (args.global.json) printJson({ as, lines: text.split("\n").filter(Boolean).map((l) => JSON.parse(l) as unknown) });
    else process.stdout.write(text);
    return 0;
  }
  const file = resolve(process.cwd(), out);
  const { writeFileAtomic } = await import("../../store/atomic.js");
  await writeFileAtomic(file, text);
  const lines = text ? text.split("\n").length - 1 : 0;
  const size = (await stat(file)).size;
  if (args.global.json) printJson({ file, as, lines, bytes: size });
  else console.log(`wrote ${lines} ${as === "tasks" ? "tasks" : "records"} to ${relative(process.cwd(), file) || file} (${formatBytes(size)})`);
  return 0;
}

function countOf(text: string | undefined, fallback: number): number {
  if (text === undefined) return fallback;
  const n = Number(text);
  if (!Number.isInteger(n) || n < 0) throw new UserInputError(`--limit: a whole number (0 for all), got "${text}"`);
  return n;
}
