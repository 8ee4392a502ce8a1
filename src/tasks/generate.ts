import type { Budget } from "../llm/accounting.js";
import { BudgetExceededError, type ChatClient, type ChatRequest, type ChatResult } from "../llm/types.js";
import { NearDuplicateIndex } from "./minhash.js";
import { parseTextList, parseVerdicts } from "./parse.js";
import { scopeRequest, subtopicsRequest, tasksRequest, topicLabel, type SubagentContext, type TeacherRequestSettings } from "./prompts.js";
import { expandTopicTree, spreadOrder, type TopicLeaf } from "./topic-tree.js";
import { cleanTaskText, contentStems, rejectTask } from "./validate.js";

/**
 * Teacher-written tasks: a topic tree, then tasks per leaf, each checked, deduplicated against
 * the user's tasks and each other, until `needed` are kept.
 *
 * Leaves are asked in waves, in spread order (see spreadOrder), a wave being as many leaves as
 * should give the tasks still missing. When every leaf has been asked and tasks are still
 * missing, the next round asks each leaf again, listing what it already gave. Which requests
 * are sent depends only on the replies, never on timing, so with the response cache a rerun
 * sends the same requests and keeps the same tasks.
 */

export interface GenerationSettings {
  depth: number;
  degree: number;
  per_leaf: number;
  dedup_threshold: number;
  /** Ask the teacher whether each task is in scope (one request per leaf answer). */
  scope_check: boolean;
}

export interface GeneratedTask {
  prompt: string;
  /** Topics below the subagent, outermost first. */
  topic: string[];
}

export interface GenerationReport {
  tasks: GeneratedTask[];
  /** The topic tree's leaves, in tree order. */
  topics: string[][];
  requests: { sent: number; cached: number };
  usage: { prompt_tokens: number; completion_tokens: number; cost_usd: number };
  /** Candidates dropped, by reason. */
  rejected: Record<string, number>;
  /** Candidates dropped as (near-)duplicates of a user task or an earlier one. */
  near_duplicates: number;
  warnings: string[];
  /** Why generation stopped before `needed` tasks were kept (budget), if it did. */
  stopped: string | null;
}

export interface GenerateOptions {
  client: ChatClient;
  teacher: TeacherRequestSettings;
  settings: GenerationSettings;
  context: SubagentContext;
  needed: number;
  /** The user's task prompts: generated ones must not duplicate them. */
  existing: readonly string[];
  /**
   * Checked before each request and charged after each reply, cached ones included (at what
   * they cost when first sent): a rerun replays the same replies and stops where the first
   * run stopped, instead of spending the budget again on new requests.
   */
  budget?: Pick<Budget, "check" | "charge">;
  /** What a reply served from the response cache cost when it was first sent. */
  replayCost?(result: ChatResult): number;
  signal?: AbortSignal;
  log?(line: string): void;
  progress?(update: { done: number; total: number; costUsd: number }): void;
}

/** Rounds over every leaf before giving up on reaching `needed`. */
export const MAX_ROUNDS = 5;
/** Tasks listed as "already written" in a repeated request. */
const AVOID_LISTED = 30;
/** Leaves asked per missing task, over 1/per_leaf: room for rejects and duplicates. */
const WAVE_SLACK = 1.25;

export async function generateTasks(opts: GenerateOptions): Promise<GenerationReport> {
  const { settings, context } = opts;
  const log = opts.log ?? (() => {});
  const report: GenerationReport = {
    tasks: [],
    topics: [],
    requests: { sent: 0, cached: 0 },
    usage: { prompt_tokens: 0, completion_tokens: 0, cost_usd: 0 },
    rejected: {},
    near_duplicates: 0,
    warnings: [],
    stopped: null,
  };
  /**
   * Sends one request. The budget is checked before the first await (an async function runs
   * synchronously until then, and a throw becomes a rejection), so the requests a phase
   * launches together all see the spend as it was when the phase began: where a budget stops
   * generation depends on the replies only, not on which came back first.
   */
  const ask = async (request: ChatRequest, salt?: string): Promise<string> => {
    opts.budget?.check();
    const result = await opts.client.complete(request, { ...(opts.signal ? { signal: opts.signal } : {}), ...(salt ? { cacheSalt: salt } : {}) });
    if (result.cached) report.requests.cached++;
    else {
      report.requests.sent++;
      report.usage.prompt_tokens += result.usage.prompt_tokens;
      report.usage.completion_tokens += result.usage.completion_tokens;
      report.usage.cost_usd += result.costUsd;
    }
    opts.budget?.charge(result.usage, result.cached ? (opts.replayCost?.(result) ?? 0) : result.costUsd);
    return result.message.content ?? "";
  };
  const warn = (line: string): void => {
    report.warnings.push(line);
    log(`warning: ${line}`);
  };
  const stoppedBy = (reason: unknown): void => {
    if (!(reason instanceof BudgetExceededError)) throw reason;
    report.stopped ??= reason.message;
  };

  const tree = await expandTopicTree({
    depth: settings.depth,
    degree: settings.degree,
    ask: async (path) => parseTextList(await ask(subtopicsRequest(opts.teacher, context, path, settings.degree))),
  });
  tree.warnings.forEach(warn);
  report.topics = tree.leaves.map((l) => l.path);
  log(`topic tree: ${tree.leaves.length} leaves from ${tree.requests} requests (depth ${settings.depth}, degree ${settings.degree})`);
  if (tree.stopped) {
    report.stopped = tree.stopped;
    return report;
  }

  const index = new NearDuplicateIndex(settings.dedup_threshold);
  for (const t of opts.existing) index.add(t);
  const baseScope = contentStems([context.name, context.description, context.instructions, ...context.tools, ...context.files].join("\n"));
  const byLeaf = new Map<TopicLeaf, string[]>();
  const order = spreadOrder(tree.leaves);
  const slots = Array.from({ length: MAX_ROUNDS * order.length }, (_, i) => ({ leaf: order[i % order.length]!, round: Math.floor(i / order.length) }));
  let next = 0;
  let keptThisRound = 0;
  while (report.tasks.length < opts.needed && next < slots.length) {
    const missing = opts.needed - report.tasks.length;
    const roundEnd = (Math.floor(next / order.length) + 1) * order.length;
    const size = Math.min(Math.ceil((missing * WAVE_SLACK) / settings.per_leaf), roundEnd - next);
    const wave = slots.slice(next, next + size);
    next += size;

    // Phase 1: each leaf of the wave writes tasks; they are read and checked in slot order.
    const replies = await Promise.allSettled(
      wave.map(({ leaf, round }) =>
        ask(tasksRequest(opts.teacher, context, leaf.path, settings.per_leaf, (byLeaf.get(leaf) ?? []).slice(-AVOID_LISTED)), round ? `round:${round}` : undefined),
      ),
    );
    const candidates: string[][] = replies.map((r, i) => {
      const { leaf } = wave[i]!;
      if (r.status === "rejected") {
        stoppedBy(r.reason);
        return [];
      }
      const parsed = parseTextList(r.value);
      if (parsed.ok) return checked(parsed.value, leaf, baseScope, report);
      warn(`topic "${topicLabel(context, leaf.path)}": could not read tasks (${parsed.error})`);
      return [];
    });

    // Phase 2 (scope_check): the teacher judges each leaf's checked tasks.
    if (settings.scope_check && !report.stopped) {
      const verdicts = await Promise.allSettled(candidates.map((c) => (c.length ? ask(scopeRequest(opts.teacher, context, c)) : Promise.resolve(""))));
      verdicts.forEach((v, i) => {
        const mine = candidates[i]!;
        if (!mine.length) return;
        if (v.status === "rejected") {
          stoppedBy(v.reason);
          candidates[i] = [];
          return;
        }
        const parsed = parseVerdicts(v.value, mine.length);
        if (!parsed.ok) {
          warn(`topic "${topicLabel(context, wave[i]!.leaf.path)}": could not read the scope check (${parsed.error}); its tasks are kept`);
          return;
        }
        candidates[i] = mine.filter((_, k) => parsed.value[k]);
        count(report.rejected, "out of scope (teacher)", mine.length - candidates[i]!.length);
      });
    }

    const accepted: { task: GeneratedTask; slot: number }[] = [];
    candidates.forEach((mine, i) => {
      const { leaf } = wave[i]!;
      for (const prompt of mine) {
        if (index.find(prompt)) {
          report.near_duplicates++;
          continue;
        }
        index.add(prompt);
        byLeaf.set(leaf, [...(byLeaf.get(leaf) ?? []), prompt]);
        accepted.push({ task: { prompt, topic: leaf.path }, slot: i });
      }
    });
    report.tasks.push(...pickRoundRobin(accepted, opts.needed - report.tasks.length));
    keptThisRound += accepted.length;
    opts.progress?.({ done: report.tasks.length, total: opts.needed, costUsd: report.usage.cost_usd });
    if (report.stopped) break;
    if (next % order.length === 0) {
      // A whole round over the leaves gave nothing new: asking again would not either.
      if (keptThisRound === 0) break;
      keptThisRound = 0;
    }
  }
  if (report.tasks.length < opts.needed && !report.stopped) {
    warn(
      `generated ${report.tasks.length} of ${opts.needed} tasks: the teacher ran out of new ones ` +
        `(raise tasks.generate.depth, degree or per_leaf for a wider topic tree)`,
    );
  }
  return report;
}

/** Cleans and checks a leaf's raw items; rejected ones are counted by reason. */
function checked(items: string[], leaf: TopicLeaf, baseScope: Set<string>, report: GenerationReport): string[] {
  const scope = new Set([...baseScope, ...contentStems(leaf.path.join(" "))]);
  const out: string[] = [];
  for (const item of items) {
    const text = cleanTaskText(item);
    const why = rejectTask(text, scope);
    if (why) count(report.rejected, why, 1);
    else out.push(text);
  }
  return out;
}

function count(tally: Record<string, number>, key: string, n: number): void {
  if (n > 0) tally[key] = (tally[key] ?? 0) + n;
}

/** Up to n tasks, taking one per slot in turn, so a cut keeps every leaf of the wave represented. */
function pickRoundRobin(accepted: { task: GeneratedTask; slot: number }[], n: number): GeneratedTask[] {
  if (accepted.length <= n) return accepted.map((a) => a.task);
  const bySlot = new Map<number, GeneratedTask[]>();
  for (const a of accepted) bySlot.set(a.slot, [...(bySlot.get(a.slot) ?? []), a.task]);
  const queues = [...bySlot.entries()].sort(([a], [b]) => a - b).map(([, q]) => q);
  const out: GeneratedTask[] = [];
  for (let k = 0; out.length < n; k++) {
    for (const q of queues) if (k < q.length && out.length < n) out.push(q[k]!);
  }
  return out;
}
