import { StdioServerTransport } from "@modelcontextprotocol/sdk/server/stdio.js";
import type { ResolvedSubagent } from "../config/index.js";
import { selectNodes } from "../engine/graph.js";
import { createChatClient } from "../llm/client.js";
import { planNodes } from "../engine/plan.js";
import type { Session } from "../project.js";
import { untilShutdown } from "../sandbox/index.js";
import { openAgentRun, readAgentFiles } from "../traces/agent-run.js";
import type { Trace } from "../traces/types.js";
import type { StudentRoute } from "./gateway.js";
import { serveMcp, type McpSubagent } from "./mcp.js";

async function output(session: Session, id: string): Promise<{ dir: string; digest: string }> {
  const { selected } = selectNodes(session.nodes, [id]);
  const { evals } = await planNodes(session.env, selected);
  const e = evals.get(id);
  if (!e || !("hit" in e) || !e.hit) throw new Error(`${id} has no output for its current inputs: run \`sabuild build ${id}\``);
  return { dir: await session.store.cas.materialize(e.hit.output), digest: e.hit.output };
}

/**
 * Runs the MCP server on stdio until the client goes away (stdin closed, SIGINT, SIGTERM or
 * SIGHUP); the caller then stops the model servers. Each subagent is a tool whose call runs the
 * student's agent loop in a fresh sandbox; when the student does not finish with its contract
 * held, the subagent's teacher runs the same loop instead.
 */
export async function runMcp(session: Session, subagents: ResolvedSubagent[], routes: StudentRoute[], log: (line: string) => void): Promise<void> {
  const tools: McpSubagent[] = [];
  for (const s of subagents) {
    const route = routes.find((r) => r.name === s.name)!;
    const files = await readAgentFiles((await output(session, `${s.name}:import`)).dir, await output(session, `${s.name}:sandbox`));
    const agent = openAgentRun(files, { project: session.project, subagent: s, log });
    const spec = files.spec;
    const loop = async (prompt: string, signal: AbortSignal, who: "student" | "teacher"): Promise<Trace> => {
      const t = route.teacher;
      const client =
        who === "student"
          ? createChatClient({ baseUrl: route.baseUrl, apiKey: "", model: route.model, temperature: 0, max_tokens: s.eval.max_tokens, cache: false, timeoutMs: route.timeoutMs, retry: { maxRetries: 1 }, warn: log })
          : createChatClient({ baseUrl: t!.baseUrl, apiKey: t!.apiKey ?? "", ...(t!.headers ? { headers: t!.headers } : {}), model: t!.model, cache: false, timeoutMs: t!.timeoutMs, warn: log });
      return agent.rollout({
        task: { id: "mcp", prompt, tags: [] },
        sample: 0,
        client,
        model: { name: who === "student" ? `subagent/${s.name}` : t!.model, base_url: who === "student" ? "llama-server" : t!.baseUrl, role: who },
        sampling: who === "student" ? { temperature: 0, max_tokens: s.eval.max_tokens } : {},
        signal,
      });
    };
    tools.push({
      name: s.name,
      description: spec.description,
      async run(prompt, signal) {
        let trace: Trace | undefined;
        let studentError = "";
        try {
          trace = await loop(prompt, signal, "student");
        } catch (e) {
          studentError = (e as Error).message;
        }
        if ((!trace || trace.status !== "completed") && route.teacher) {
          log(`${s.name}: the student ${trace ? `ended with ${trace.status}` : `failed (${studentError})`}: falling back to the teacher`);
          const escalated = { reason: trace?.status ?? "error", detail: trace?.error ?? studentError };
          trace = await loop(prompt, signal, "teacher");
          return { answer: trace.final_answer ?? trace.messages.at(-1)?.content ?? "", answeredBy: "teacher", status: trace.status, turns: trace.turns, toolCalls: trace.tool_calls, trace, ...escalated };
        }
        if (!trace) throw new Error(studentError);
        return { answer: trace.final_answer ?? trace.messages.at(-1)?.content ?? "", answeredBy: "student", status: trace.status, turns: trace.turns, toolCalls: trace.tool_calls, trace, reason: "student" };
      },
    });
  }
  const transport = new StdioServerTransport();
  // The client is gone when it closes our stdin, or signals us (Claude Code does either).
  const gone = new AbortController();
  const closed = new Promise<string>((resolve) => {
    transport.onclose = () => resolve("stdio closed");
    process.stdin.once("end", () => resolve("stdin closed"));
    void untilShutdown(gone.signal).then(resolve);
  });
  const recorder = session.project.serve.record ? (await import("../traffic/record.js")).openRecorder(session.project, log) : undefined;
  const server = await serveMcp(recorder ? (await import("../traffic/mcp-tools.js")).recordingTools(tools, recorder) : tools, transport);
  log(`MCP server on stdio: ${tools.map((t) => t.name).join(", ")}`);
  log(`client went away (${await closed}): stopping the model servers`);
  // From here a signal ends the process at once, removing what is left (see untilShutdown).
  gone.abort();
  await server.close().catch(() => undefined);
  await recorder?.flush();
}
