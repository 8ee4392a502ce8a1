import { join } from "node:path";
import type { ResolvedSubagent } from "../../config/index.js";
import { UserInputError } from "../../errors.js";
import { selectNodes } from "../../engine/graph.js";
import { planNodes } from "../../engine/plan.js";
import { openProject, type Session } from "../../project.js";
import type { FallbackReason, StudentRoute, TeacherRoute } from "../../serve/gateway.js";
import { parseCommandArgs } from "../args.js";
import { namedSubagents } from "../subagent-names.js";

export const serveHelp = `sabuild serve [subagent...] [--port N] [--host H] [--fallback error,timeout,contract|off] [--timeout S] [--mcp] [--json]
  Serves the built subagents' students (their exported GGUF on llama-server) behind one
  OpenAI-compatible endpoint: model "subagent/<name>" goes to that student and falls back to the
  subagent's teacher when the student errors, times out or breaks the output contract; other
  model names pass through to the teacher. GET /metrics (Prometheus), /health, /v1/models.
  --mcp   an MCP server on stdio instead: one tool per subagent (prompt in, final answer out)
          that runs the student's agent loop with its tools in its sandbox, with teacher fallback.
          Claude Code: claude mcp add sabuild -- sabuild serve --mcp -C /path/to/project
  With serve.record: true in subagents.yaml, every delegation is recorded in the store
  (redacted; never keys or headers): see \`sabuild traffic\` and docs/traffic.md.`;

interface Built {
  subagent: ResolvedSubagent;
  exportDir: string;
  gguf: string;
}

/** The export output of each subagent, as the store holds it for the current inputs. */
async function builtStudents(session: Session, names: string[]): Promise<Built[]> {
  const targets = names.map((n) => `${n}:export`);
  const { selected } = selectNodes(session.nodes, targets);
  const { evals } = await planNodes(session.env, selected);
  const { describeArtifactError, readExportSummary } = await import("../../artifacts/index.js");
  const out: Built[] = [];
  for (const name of names) {
    const e = evals.get(`${name}:export`);
    if (!e || !("hit" in e) || !e.hit) {
      throw new UserInputError(`${name} has no exported model for its current inputs (${e?.status ?? "unknown"}); run \`sabuild build ${name}:export\` first`);
    }
    const dir = await session.store.cas.materialize(e.hit.output);
    const summary = await readExportSummary(dir);
    // Not a bug of sabuild's: the export stage (a plugin's, say) wrote something else.
    if (!summary.ok) throw new UserInputError(`${name}:export wrote no export.json that names the model to serve: ${describeArtifactError(summary.error)}`);
    out.push({ subagent: session.project.subagents.find((s) => s.name === name)!, exportDir: dir, gguf: join(dir, summary.value.shipped) });
  }
  return out;
}

/** The subagent's teacher as a fallback route: key resolved from the environment now, never logged. */
async function teacherRoute(session: Session, s: ResolvedSubagent, timeoutMs: number): Promise<TeacherRoute> {
  const t = s.teacher;
  const pricing = t.pricing ?? (await import("../../llm/pricing.js")).builtinPricing(t.model);
  if (t.standin) {
    const { standinFor } = await import("../../llm/teacher.js");
    const standin = await standinFor(session.project, t.standin);
    process.stderr.write(`note: ${s.name}'s teacher is a scripted stand-in (${t.standin}), not a model\n`);
    return { baseUrl: standin.url, model: t.model, timeoutMs, ...(pricing ? { pricing } : {}) };
  }
  const { resolveEndpoint } = await import("../../llm/endpoint.js");
  const ep = resolveEndpoint({ baseUrl: t.base_url, apiKey: t.api_key, ...(t.headers ? { headers: t.headers } : {}), configKey: `subagents.${s.name}.teacher` });
  return { baseUrl: ep.baseUrl, apiKey: ep.apiKey, headers: ep.headers, model: t.model, timeoutMs, ...(pricing ? { pricing } : {}) };
}

export async function serveCommand(argv: string[]): Promise<number> {
  const args = parseCommandArgs("serve", argv, {
    port: { type: "string", short: "p" },
    host: { type: "string" },
    fallback: { type: "string" },
    timeout: { type: "string" },
    mcp: { type: "boolean" },
  });
  if (args.help) return (console.log(serveHelp), 0);
  const session = await openProject(args.global);
  const wanted = namedSubagents(session.project, args.positionals);
  const fallbackText = (args.values.fallback as string | undefined) ?? "error,timeout,contract";
  const fallbackOn: FallbackReason[] = [];
  if (fallbackText !== "off") {
    for (const f of fallbackText.split(",").map((x) => x.trim()).filter(Boolean)) {
      if (f !== "error" && f !== "timeout" && f !== "contract") throw new UserInputError(`--fallback: "${f}" is not one of error, timeout, contract (or off)`);
      fallbackOn.push(f);
    }
  }
  const timeoutMs = Number((args.values.timeout as string | undefined) ?? "120") * 1000;
  if (!Number.isFinite(timeoutMs) || timeoutMs <= 0) throw new UserInputError("--timeout: seconds, a positive number");
  const built = await builtStudents(session, wanted);
  const log = (line: string): void => void process.stderr.write(`${line}\n`);

  const { ensureLlamaTools } = await import("../../toolchain/llamacpp.js");
  const { trainerPython } = await import("../../toolchain/dirs.js");
  const { reapOnce, untilShutdown } = await import("../../sandbox/cleanup.js");
  const { superviseServer } = await import("../../serve/supervisor.js");
  // Containers of sabuild processes that were killed (a serve, a build) go before ours start.
  await reapOnce();
  const servers: { stop(): Promise<void> }[] = [];
  const stopAll = async (): Promise<void> => {
    await Promise.allSettled(servers.map((s) => s.stop()));
  };

  // One llama-server per student, supervised: restarted when /health stops answering.
  const routes: StudentRoute[] = [];
  try {
    for (const b of built) {
      const tools = await ensureLlamaTools(session.project.root, b.subagent.export.tools, { log, python: trainerPython(session.project.root) });
      const route: StudentRoute = {
        name: b.subagent.name,
        baseUrl: "",
        model: "student",
        timeoutMs,
        contractTag: b.subagent.traces.output_contract.tag,
        ...(fallbackOn.length ? { teacher: await teacherRoute(session, b.subagent, timeoutMs) } : {}),
      };
      const server = await superviseServer(() => tools.server.start({ model: b.gguf, args: ["--parallel", "4"], log: () => undefined }), {
        name: b.subagent.name,
        log,
        restarted: (url) => (route.baseUrl = `${url}/v1`),
      });
      servers.push(server);
      route.baseUrl = `${server.url}/v1`;
      routes.push(route);
      log(`${b.subagent.name}: student ${b.gguf.split("/").pop()} on ${server.url} (${tools.server.where})`);
    }

    if (args.values.mcp) {
      const { runMcp } = await import("../../serve/mcp-run.js");
      await runMcp(session, built.map((b) => b.subagent), routes, log);
      await stopAll();
      return 0;
    }

    const { startGateway } = await import("../../serve/gateway.js");
    const recorder = session.project.serve.record ? (await import("../../traffic/record.js")).openRecorder(session.project, log) : undefined;
    if (recorder) log(`recording delegations to ${session.project.store}/traffic (serve.record)`);
    const passthrough = fallbackOn.length ? routes[0]?.teacher : built[0] ? await teacherRoute(session, built[0].subagent, timeoutMs).catch(() => undefined) : undefined;
    const gateway = await startGateway({
      students: routes,
      ...(passthrough ? { teacher: passthrough } : {}),
      fallbackOn,
      host: (args.values.host as string | undefined) ?? "127.0.0.1",
      port: portOf(args.values.port as string | undefined),
      onRequest: (l) => log(`${l.route}: ${l.status} ${l.answeredBy}${l.fallback ? ` (fallback: ${l.fallback})` : ""} in ${l.ms} ms`),
      ...(recorder ? { onDelegation: (d) => recorder.gateway(d) } : {}),
    });
    if (args.global.json) {
      process.stdout.write(`${JSON.stringify({ url: `${gateway.url}/v1`, metrics: `${gateway.url}/metrics`, models: routes.map((r) => `subagent/${r.name}`), fallback: fallbackOn })}\n`);
    } else {
      console.log(`serving on ${gateway.url}/v1: ${routes.map((r) => `subagent/${r.name}`).join(", ")}; fallback on ${fallbackOn.join(", ") || "nothing"}; metrics at ${gateway.url}/metrics`);
    }
    await untilShutdown();
    log("shutting down: finishing requests in flight");
    await gateway.close();
    await recorder?.flush();
    return 0;
  } finally {
    await stopAll();
  }
}

/** --port N (0 picks a free port; the --json line says which). Default 8808. */
function portOf(text: string | undefined): number {
  if (text === undefined) return 8808;
  const n = Number(text);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new UserInputError(`--port: a port number 0..65535, got "${text}"`);
  return n;
}
