import { readFile } from "node:fs/promises";
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";
import type { ProjectConfig, ResolvedSubagent } from "../config/index.js";
import { sha256 } from "../engine/key.js";
import { startStandin, type Standin, type StandinPolicy } from "../standin/server.js";
import type { Budget, Meter } from "./accounting.js";
import { createChatClient, type TeacherClient } from "./client.js";
import { teacherClientOptions } from "./config.js";
import { standinEndpoint } from "./teacher-params.js";

export { teacherFiles, teacherParams } from "./teacher-params.js";

const standins = new Map<string, Promise<Standin>>();

/** One stand-in server per policy module and process, shared by every stage that asks. */
export async function standinFor(project: ProjectConfig, rel: string): Promise<Standin> {
  const path = resolve(project.root, rel);
  let s = standins.get(path);
  if (!s) {
    s = (async () => {
      let mod: { policy?: StandinPolicy; default?: StandinPolicy };
      try {
        mod = (await import(pathToFileURL(path).href)) as typeof mod;
      } catch (e) {
        throw new Error(`teacher.standin: cannot load the policy module ${rel}: ${(e as Error).message}`);
      }
      const policy = mod.policy ?? mod.default;
      if (typeof policy !== "function") throw new Error(`teacher.standin: ${rel} must export a function named policy (or a default export)`);
      // Judge requests get the built-in evidence-based grader, so a policy only scripts the subagent.
      const { isJudgeRequest, judgeStandinPolicy } = await import("../judge/standin-policy.js");
      const both: StandinPolicy = (request) => (isJudgeRequest(request) ? judgeStandinPolicy(request) : policy(request));
      return startStandin({ policy: both, models: ["standin"] });
    })();
    standins.set(path, s);
    s.catch(() => standins.delete(path));
  }
  return s;
}

export interface OpenTeacherOptions {
  stage: string;
  meter?: Meter;
  budget?: Budget;
  log?: (line: string) => void;
  /** The sampling temperature for this stage (traces.temperature, else the teacher's). */
  temperature?: number;
  /** Where errors point in subagents.yaml (default: subagents.<name>.teacher). */
  configKey?: string;
  /** Who the endpoint plays, for notes (default: the teacher). */
  role?: string;
}

/** Who a teacher-shaped endpoint plays for: a subagent, or a benchmark's orchestrator (configured like a teacher). */
export interface TeacherOwner {
  name: string;
  teacher: ResolvedSubagent["teacher"];
}

export interface OpenedTeacher {
  client: TeacherClient;
  /** For traces: the model name and the endpoint as configured (or "standin:<policy>"). */
  identity: { name: string; base_url: string };
  standin: boolean;
}

/**
 * The teacher client for a stage: the configured endpoint, or the scripted stand-in served on
 * loopback when `teacher.standin` names a policy. Responses are cached in the project's store
 * under a stable endpoint name, so a rebuild replays them without requests.
 */
export async function openTeacher(project: ProjectConfig, subagent: TeacherOwner, options: OpenTeacherOptions): Promise<OpenedTeacher> {
  const t = subagent.teacher;
  const label = { subagent: subagent.name, stage: options.stage };
  const common = {
    configKey: options.configKey ?? `subagents.${subagent.name}.teacher`,
    cache: project.store,
    label,
    ...(options.meter ? { meter: options.meter } : {}),
    ...(options.budget ? { budget: options.budget } : {}),
    ...(options.temperature !== undefined ? { temperature: options.temperature } : {}),
    ...(options.log ? { warn: options.log, onRetry: (i: { attempt: number; waitMs: number; message: string }) => options.log!(`teacher: retry ${i.attempt} in ${i.waitMs} ms: ${i.message}`) } : {}),
  };
  if (t.standin) {
    const standin = await standinFor(project, t.standin);
    const endpoint = standinEndpoint(t.standin);
    options.log?.(`note: the ${options.role ?? "teacher"} is a scripted stand-in (${t.standin} on ${standin.url}), not a model: for offline examples and tests`);
    // The policy's content names the endpoint in the response cache: an edited policy answers anew.
    const digest = sha256(await readFile(resolve(project.root, t.standin)));
    const client = createChatClient({ ...teacherClientOptions({ ...t, base_url: standin.url, api_key: "", headers: undefined }, common), cacheEndpoint: `${endpoint}#${digest}` });
    return { client, identity: { name: t.model, base_url: endpoint }, standin: true };
  }
  const client = createChatClient(teacherClientOptions(t, common));
  return { client, identity: { name: t.model, base_url: t.base_url }, standin: false };
}
