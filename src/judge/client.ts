import type { ProjectConfig, ResolvedSubagent } from "../config/index.js";
import type { Meter } from "../llm/accounting.js";
import { createChatClient } from "../llm/client.js";
import { openTeacher } from "../llm/teacher.js";
import type { ChatClient } from "../llm/types.js";
import { usesStandin, type JudgeSetup } from "./settings.js";

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
