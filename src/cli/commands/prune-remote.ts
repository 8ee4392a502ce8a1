import { UserInputError } from "../../errors.js";
import { RemoteUnavailable } from "../../remote/http-cache.js";
import { pruneRemote } from "../../remote/prune.js";
import type { Session } from "../../project.js";
import { formatBytes, printJson } from "../output.js";

export const pruneRemoteHelp = `sabuild cache prune-remote --older-than AGE [--dry-run] [--json]
                                delete remote results older than AGE (e.g. 30d, 12h) that sabuild.lock
                                does not name, and old blobs no kept result needs;
                                optional: needs a server that lists directories as JSON and allows DELETE`;

/** Parses 30d, 12h, 90m, 45s or 2w. */
export function parseAge(text: string | undefined): number {
  const m = /^(\d+(?:\.\d+)?)\s*([smhdw])$/.exec(text?.trim() ?? "");
  if (!m) throw new UserInputError(`--older-than expects an age such as 30d, 12h or 90m${text ? `, got "${text}"` : ""}`);
  const unit = { s: 1, m: 60, h: 3600, d: 86_400, w: 604_800 }[m[2] as "s" | "m" | "h" | "d" | "w"];
  return Number(m[1]) * unit * 1000;
}

export async function pruneRemoteCommand(session: Session, olderThan: string | undefined, dryRun: boolean, json: boolean): Promise<number> {
  const ageMs = parseAge(olderThan);
  const remote = session.remote;
  if (!remote) throw new UserInputError("no remote cache configured: set remote_cache.url in subagents.yaml or SABUILD_REMOTE_CACHE=<url>");
  if (remote.settings.mode !== "readwrite") throw new UserInputError("prune-remote deletes from the remote cache: it needs --remote-cache readwrite");
  let report: Awaited<ReturnType<typeof pruneRemote>>;
  try {
    const locked = new Set(Object.values(session.lock).map((e) => e.key));
    report = await pruneRemote(remote.settings, new Date(Date.now() - ageMs), dryRun, locked);
  } catch (e) {
    if (!(e instanceof RemoteUnavailable)) throw e;
    process.stderr.write(`error: remote cache unavailable: ${e.message}\n`);
    return 1;
  }
  if (typeof report === "string") throw new UserInputError(report);
  if (json) printJson(report);
  else {
    const verb = dryRun ? "would remove" : "removed";
    console.log(`${verb} ${report.removedResults} results and ${report.removedBlobs} blobs (${formatBytes(report.freedBytes)}); kept ${report.keptResults} results`);
    if (report.refused) console.log(`the server refused ${report.refused} deletions (does it allow DELETE?)`);
  }
  return 0;
}
