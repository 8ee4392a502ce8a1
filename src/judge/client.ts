import type { ProjectConfig, ResolvedSubagent } from "../config/index.js";
import type { Json } from "../engine/key.js";
import type { Meter } from "../llm/accounting.js";
import { createChatClient } from "../llm/client.js";
import { openTeacher } from "../llm/teacher.js";
import type { ChatClient } from "../llm/types.js";
import type { JudgeSetup } from "./settings.js";

/** The judge's endpoint is the teacher's stand-in when the teacher is one and the judge names no endpoint of its own. */
function usesStandin(subagent: ResolvedSubagent, setup: JudgeSetup): boolean {
  return subagent.teacher.standin !== undefined && setup.base_url === subagent.teacher.base_url;
}

/** What a judging stage puts in its key: the endpoint as configured (or the stand-in), never the key. */
export function judgeIdentity(subagent: ResolvedSubagent, setup: JudgeSetup): Json {
  return { model: setup.model, endpoint: usesStandin(subagent, setup) ? `standin:${subagent.teacher.standin}` : setup.base_url, rubric_digest: setup.rubric.digest };
}

/** A client for the judge, with replies cached in the project's store. */
export async function judgeClient(project: ProjectConfig, subagent: ResolvedSubagent, setup: JudgeSetup, opts: { stage: string; meter?: Meter; log?: (line: string) => void }): Promise<ChatClient> {
  if (usesStandin(subagent, setup)) {
    return (await openTeacher(project, subagent, { stage: opts.stage, ...(opts.meter ? { meter: opts.meter } : {}), ...(opts.log ? { log: opts.log } : {}), temperature: 0 })).client;
  }
  return createChatClient({
    baseUrl: setup.base_url,
    apiKey: setup.api_key,
    model: setup.model,
    cache: project.store,
    label: { subagent: subagent.name, stage: opts.stage },
    configKey: `subagents.${subagent.name}.eval.judge`,
    ...(opts.meter ? { meter: opts.meter } : {}),
    ...(opts.log ? { warn: opts.log } : {}),
  });
}
