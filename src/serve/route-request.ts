import type { ChatMessage } from "../llm/types.js";
import type { Result } from "../result.js";
import { cheapChecks, escalates, type CheckFailure } from "../route/checks.js";
import { fallbackPolicy, type RoutePolicy, type RouteReason } from "../route/policy.js";
import type { StudentRoute, TeacherRoute } from "./routes.js";
import { authHeaders, firstMessage, postJson, UpstreamError, type Json } from "./wire.js";

/** Who answered one request for a subagent, and why. */
export interface Routed {
  answeredBy: "student" | "teacher";
  reason: RouteReason;
  /** Why the student's answer was not used, in words (teacher answers after a student turn). */
  detail?: string;
  reply: Json;
  /** learned: the router's predicted success of the student on this task. */
  routerScore?: number;
  /** cascade with confidence: the student's mean token probability. */
  confidence?: number;
  /** The student was asked before the teacher answered (its turn was spent). */
  studentTried: boolean;
  /** Checks the student's reply failed, escalated or not (combine: all may keep a failing reply). */
  failures?: CheckFailure["reason"][];
}

/** A request no model could answer: the status and message the client gets. */
export interface Unrouted {
  status: number;
  message: string;
  reason?: RouteReason;
}

/** The request as sent upstream: the student's model name, never streamed (the gateway re-streams the reply). */
export function upstreamBodyOf(route: StudentRoute, body: Json): Json {
  const { stream_options: _, ...rest } = body;
  return { ...rest, model: route.model, stream: false };
}

/** The task a router scores: the delegation's first user message (later turns are tool results). */
export function taskText(messages: readonly ChatMessage[]): string {
  const first = messages.find((m) => m.role === "user");
  const content = first?.content as unknown;
  if (typeof content === "string") return content;
  if (Array.isArray(content)) return content.map((p: { text?: string }) => p.text ?? "").join("\n");
  return "";
}

function logprobsOf(reply: Json): number[] | undefined {
  const lp = (reply.choices as { logprobs?: { content?: { logprob?: number }[] } | null }[] | undefined)?.[0]?.logprobs?.content;
  return lp ? lp.map((t) => t.logprob ?? 0) : undefined;
}

/** The reply without the log-probabilities the gateway asked for on the client's behalf. */
function withoutLogprobs(reply: Json): Json {
  const choices = (reply.choices as Json[] | undefined)?.map(({ logprobs: _, ...c }) => c);
  return choices ? { ...reply, choices } : reply;
}

/**
 * Routes one chat completion for a subagent by its policy: straight to the teacher (teacher, no
 * student, or a learned router that predicts failure), else to the student, whose reply the
 * policy's checks may send on to the teacher. The teacher sees the same request.
 */
export async function routeRequest(route: StudentRoute, body: Json, gatewayTeacher: TeacherRoute | undefined, defaultPolicy: RoutePolicy = fallbackPolicy()): Promise<Result<Routed, Unrouted>> {
  const policy = route.policy ?? defaultPolicy;
  const teacher = route.teacher ?? gatewayTeacher;
  const upstreamBody = upstreamBodyOf(route, body);
  const messages = (Array.isArray(body.messages) ? body.messages : []) as ChatMessage[];

  const askTeacher = async (reason: RouteReason, detail: string | undefined, extra: Partial<Routed> = {}): Promise<Result<Routed, Unrouted>> => {
    const before = detail ? `the student for ${route.name} ${reason === "no-student" || reason === "router" ? "was not asked" : "failed"} (${detail})` : `${route.name} routes to its teacher`;
    if (!teacher) return { ok: false, error: { status: 502, message: `${before} and no teacher is configured`, reason } };
    try {
      const reply = await postJson(`${teacher.baseUrl}/chat/completions`, { ...upstreamBody, model: teacher.model }, authHeaders(teacher), teacher.timeoutMs);
      return { ok: true, value: { answeredBy: "teacher", reason, ...(detail ? { detail } : {}), reply, studentTried: false, ...extra } };
    } catch (e) {
      return { ok: false, error: { status: 502, message: `${before} and so did the teacher: ${(e as Error).message}`, reason } };
    }
  };

  if (!route.baseUrl) return askTeacher("no-student", `${route.name} has no exported student`);
  if (policy.name === "teacher") return askTeacher("policy", undefined);
  let routerScore: number | undefined;
  if (policy.name === "learned" && route.router) {
    routerScore = route.router.score(taskText(messages));
    if (routerScore < policy.threshold) return askTeacher("router", `predicted success ${routerScore.toFixed(3)} < threshold ${policy.threshold}`, { routerScore });
  }
  const scored = routerScore !== undefined ? { routerScore } : {};

  const wantsLogprobs = policy.name === "cascade" && policy.checks.minConfidence !== undefined;
  let reply: Json;
  try {
    reply = await postJson(`${route.baseUrl}/chat/completions`, wantsLogprobs ? { ...upstreamBody, logprobs: true } : upstreamBody, {}, route.timeoutMs);
    if (!firstMessage(reply)) throw new UpstreamError("the reply has no choices", "error");
  } catch (e) {
    if (!(e instanceof UpstreamError)) throw e;
    if (policy.name === "student" || !policy.escalateOn.has(e.reason)) {
      const off = policy.name === "student" ? "the policy is student" : `fallback on ${e.reason} is off`;
      return { ok: false, error: { status: 502, message: `the student for ${route.name} failed (${e.message}) and ${off}`, reason: e.reason } };
    }
    const r = await askTeacher(e.reason, e.message, scored);
    return r.ok ? { ok: true, value: { ...r.value, studentTried: true } } : r;
  }
  const message = firstMessage(reply)!;
  const clientReply = wantsLogprobs && body.logprobs !== true ? withoutLogprobs(reply) : reply;
  if (policy.name === "student") return { ok: true, value: { answeredBy: "student", reason: "policy", reply: clientReply, studentTried: true } };

  const turn = { messages, content: message.content, toolCalls: (message.tool_calls ?? []) as NonNullable<ChatMessage["tool_calls"]>, ...(wantsLogprobs ? { logprobs: logprobsOf(reply) } : {}) };
  const checks = policy.name === "cascade" ? policy.checks : { contract: policy.escalateOn.has("contract"), combine: "any" as const };
  const cheap = cheapChecks(turn, checks, route.contractTag);
  const failures: CheckFailure[] = [...cheap.failures];
  let ran = cheap.ran;
  const measured = { ...scored, ...(cheap.confidence !== undefined ? { confidence: cheap.confidence } : {}) };
  // The judge costs a model call: asked only for a final answer the cheap checks have not already sent on.
  const final = turn.toolCalls.length === 0;
  if (policy.name === "cascade" && checks.minJudgeScore !== undefined && route.judge && final && !(checks.combine === "any" && failures.length)) {
    ran++;
    try {
      const score = await route.judge(messages, message.content ?? "", AbortSignal.timeout(route.timeoutMs));
      if (score < checks.minJudgeScore) failures.push({ reason: "judge", detail: `judge score ${score.toFixed(2)} < ${checks.minJudgeScore}` });
    } catch (e) {
      failures.push({ reason: "judge", detail: `the judge did not answer: ${(e as Error).message}` });
    }
  }
  const failed = failures.length ? { failures: failures.map((f) => f.reason) } : {};
  if (escalates(failures, ran, checks.combine)) {
    const first = failures[0]!;
    const r = await askTeacher(first.reason, failures.map((f) => f.detail).join("; "), measured);
    return r.ok ? { ok: true, value: { ...r.value, studentTried: true, ...failed } } : r;
  }
  return { ok: true, value: { answeredBy: "student", reason: "passed", reply: clientReply, studentTried: true, ...measured, ...failed } };
}
