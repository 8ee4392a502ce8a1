import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import type { ResolvedBenchmark } from "../config/benchmark-schema.js";
import type { ResolvedSubagent } from "../config/index.js";
import type { RunHooks } from "../engine/types.js";
import type { ServedModel } from "../eval/serve-gguf.js";
import type { Meter } from "../llm/accounting.js";
import type { OpenedTeacher } from "../llm/teacher.js";
import type { OfferedSubagent } from "../bench/subagent.js";
import type { SubagentSpec } from "../importers/types.js";
import type { Arm } from "../bench/types.js";
import type { SandboxImage, SandboxSession } from "../sandbox/types.js";
import type { AgentTool } from "../tools/types.js";
import type { ProjectContext } from "./types.js";

/** What one arm's items share: the main agent, the offered subagents as this arm plays them, and how to open a task's container. */
export interface ArmPlayers {
  /** The built-in loop's client; a CLI orchestrator (kind claude-code or command) reaches its model itself. */
  main: OpenedTeacher | undefined;
  mainTools: AgentTool[];
  offered: OfferedSubagent[];
  meter: Meter;
  /** A fresh container of the task's image, with every offered skill's files installed (subagents work in it too). */
  openSandbox(image: SandboxImage, signal: AbortSignal, mounts?: { source: string; target: string; readOnly: boolean }[]): Promise<SandboxSession>;
  /** Stops this arm's model servers. */
  close(): Promise<void>;
}

export interface SharedPlayers {
  /** The orchestrator's client, opened once for every arm. */
  main(): Promise<OpenedTeacher>;
  meter: Meter;
  /** A scratch directory for the base models' GGUFs. */
  work: string;
}

/**
 * Opens what plays an arm: the teacher's client, or the student's or base model's GGUF behind
 * llama-server (one server per subagent, with the benchmark's concurrency as its slots).
 */
export async function openArmPlayers(ctx: ProjectContext & RunHooks, b: ResolvedBenchmark, arm: Arm, shared: SharedPlayers): Promise<ArmPlayers> {
  const { toolsNamed } = await import("../tools/index.js");
  const { readAgentFiles } = await import("../traces/agent-run.js");
  const { instructionsOf, installSkill } = await import("../traces/skill.js");
  const { offeredSubagent } = await import("../bench/subagent.js");
  const { openSandbox, projectLabels } = await import("../sandbox/index.js");
  const main = b.orchestrator.kind === "builtin" ? await shared.main() : undefined;
  const served: ServedModel[] = [];
  const offered: OfferedSubagent[] = [];
  const specs: { spec: SubagentSpec; importDir: string }[] = [];
  try {
    if (arm !== "none") {
      for (const name of b.subagents) {
        const s = ctx.project.subagents.find((x) => x.name === name)!;
        const files = await readAgentFiles(ctx.upstream[`${name}:import`]!.dir);
        specs.push({ spec: files.spec, importDir: files.importDir });
        const play = async (who: Exclude<Arm, "none" | "routed">): Promise<OfferedSubagent> => {
          const player = await playerOf(ctx, b, who, s, shared);
          if ("stop" in player) served.push(player);
          return offeredSubagent({
            name,
            description: files.spec.description,
            instructions: instructionsOf(files.spec),
            tools: toolsNamed(files.tools),
            contractTag: s.traces.output_contract.tag,
            maxTurns: s.traces.max_turns,
            client: player.client,
            model: player.model,
            sampling: who === "teacher" ? { temperature: s.teacher.temperature, max_tokens: s.teacher.max_tokens } : { temperature: 0, max_tokens: s.eval.max_tokens },
          });
        };
        offered.push(arm === "routed" ? await routedSubagent(ctx, s, await play("student"), await play("teacher")) : await play(arm));
      }
    }
  } catch (e) {
    for (const m of served) await m.stop();
    throw e;
  }
  return {
    main,
    mainTools: toolsNamed(b.orchestrator.tools),
    offered,
    meter: shared.meter,
    openSandbox: (image, signal, mounts) =>
      openSandbox(image, {
        labels: projectLabels(ctx.project.root),
        signal,
        ...(mounts ? { mounts } : {}),
        prepare: async (box) => {
          for (const { spec, importDir } of specs) await installSkill(box, importDir, spec);
        },
      }),
    async close() {
      for (const m of served) await m.stop();
    },
  };
}

type Player = { client: OpenedTeacher["client"]; model: ServedModel["model"] } | ServedModel;

/**
 * The routed arm's subagent: the student and the teacher, chosen per delegation by the
 * subagent's route policy as `sabuild serve --mcp` chooses (serve/mcp-route.ts), with the
 * router of a learned policy read from the subagent's router output.
 */
async function routedSubagent(ctx: ProjectContext & RunHooks, s: ResolvedSubagent, student: OfferedSubagent, teacher: OfferedSubagent): Promise<OfferedSubagent> {
  const { routePolicy } = await import("../route/resolve.js");
  const { routeAgentRun } = await import("../serve/mcp-route.js");
  const policy = routePolicy(s, ["error", "timeout", "contract"]);
  const route: import("../serve/mcp-route.js").AgentRoute = { name: s.name, policy, hasStudent: true, hasTeacher: true };
  if (policy.name === "learned") {
    const { readRouter } = await import("../route/router.js");
    const router = await readRouter(ctx.upstream[`${s.name}:router`]!.dir);
    if (typeof router === "string") throw new Error(`the routed arm cannot route ${s.name}: ${router}`);
    route.router = router;
  }
  if (policy.checks.minJudgeScore !== undefined) route.judge = await (await import("../route/judge-check.js")).cascadeJudge(ctx.project, s, ctx.log);
  return {
    name: s.name,
    description: student.description,
    async run(prompt, session, at, signal) {
      const r = await routeAgentRun(route, prompt, (who) => (who === "student" ? student : teacher).run(prompt, session, at, signal), ctx.log, signal ?? new AbortController().signal);
      return r.trace;
    },
  };
}

async function playerOf(ctx: ProjectContext & RunHooks, b: ResolvedBenchmark, arm: Exclude<Arm, "none" | "routed">, s: ResolvedSubagent, shared: SharedPlayers): Promise<Player> {
  const stage = `bench/${b.name}`;
  if (arm === "teacher") {
    const { openTeacher } = await import("../llm/teacher.js");
    const t = await openTeacher(ctx.project, s, { stage, meter: shared.meter, log: ctx.log, role: `teacher of ${s.name}` });
    return { client: t.client, model: { ...t.identity, role: "teacher" } };
  }
  const { serveGguf, baseGguf } = await import("../eval/serve-gguf.js");
  const common = { project: ctx.project, subagent: s, parallel: b.concurrency, meter: shared.meter, stage, log: ctx.log, signal: ctx.signal };
  if (arm === "student") {
    const { expectArtifact, readExportSummary } = await import("../artifacts/index.js");
    const exported = ctx.upstream[`${s.name}:export`]!;
    const summary = expectArtifact(await readExportSummary(exported.dir), "export");
    return serveGguf({ ...common, role: "student", gguf: join(exported.dir, summary.shipped), cacheId: exported.digest });
  }
  const dir = join(shared.work, s.name);
  await mkdir(dir, { recursive: true });
  const gguf = await baseGguf(ctx.project, s, dir, s.export.gguf_outtype, ctx);
  if (!gguf.ok) throw new Error(`the base arm cannot play ${s.name}: ${gguf.error}`);
  // The converted file's content names the model in the response cache: a changed base model answers anew.
  const { hashPath } = await import("../store/hash.js");
  return serveGguf({ ...common, role: "base", gguf: gguf.value, cacheId: await hashPath(gguf.value) });
}
