import { join } from "node:path";
import { stat } from "node:fs/promises";
import { UserInputError } from "../../errors.js";
import { openProject } from "../../project.js";
import { acquireStoreLock } from "../store-lock.js";
import { verifyStore } from "../../store/verify.js";
import { totalSize } from "../../store/manifest.js";
import { parseCommandArgs, type OptionSpec } from "../args.js";
import { formatBytes, printJson } from "../output.js";
import { pruneRemoteHelp } from "./prune-remote.js";

export const cacheHelp = `sabuild cache ls [--json]       list stored results (stage, key, size, age)
sabuild cache verify [--json]   rehash every blob; corrupt ones are removed and rebuilt by the next build
sabuild cache export [targets] -o FILE [--json]
                                write the targets' current results and their blobs to a tar bundle
                                (all stages when no target is given)
sabuild cache import FILE [--json]
                                add a bundle's results to the store, after checking its digests
${pruneRemoteHelp}`;

export async function cacheCommand(argv: string[]): Promise<number> {
  const [sub, ...rest] = argv;
  const options: OptionSpec =
    sub === "export"
      ? { output: { type: "string", short: "o" } }
      : sub === "prune-remote"
        ? { "older-than": { type: "string" }, "dry-run": { type: "boolean" } }
        : {};
  const args = parseCommandArgs(`cache ${sub ?? ""}`.trim(), rest, options);
  if (args.help || sub === undefined) return (console.log(cacheHelp), sub === undefined ? 2 : 0);
  const session = await openProject(args.global);
  if (sub === "ls") {
    const rows = [];
    for (const key of await session.store.ac.keys()) {
      const r = await session.store.ac.get(key);
      if (!r) continue;
      const manifest = await session.store.cas.readManifest(r.output).catch(() => undefined);
      const usedAt = (await stat(session.store.ac.path(key))).mtime.toISOString();
      rows.push({ stage: r.stage, key, output: r.output, files: manifest?.entries.length ?? 0, bytes: manifest ? totalSize(manifest) : 0, createdAt: r.createdAt, usedAt, complete: manifest !== undefined && (await session.store.cas.isComplete(r.output)) });
    }
    rows.sort((a, b) => (a.stage < b.stage ? -1 : a.stage > b.stage ? 1 : 0));
    if (args.global.json) printJson({ store: session.store.root, results: rows });
    else {
      for (const r of rows) console.log(`${r.stage.padEnd(40)} ${r.key.slice(0, 12)}  ${formatBytes(r.bytes).padStart(10)}  ${r.files} files  ${r.createdAt}${r.complete ? "" : "  (incomplete)"}`);
      console.log(`${rows.length} results in ${session.store.root}`);
    }
    return 0;
  }
  if (sub === "verify") {
    const lock = await acquireStoreLock(session.store.root, "cache verify");
    try {
      const report = await verifyStore(session.store);
      if (args.global.json) printJson({ ok: report.corrupt.length === 0, ...report });
      else {
        console.log(`${report.blobs} blobs (${formatBytes(report.bytes)}) checked`);
        for (const d of report.corrupt) console.log(`corrupt blob removed: ${d}`);
        for (const r of report.brokenResults) console.log(`incomplete result (will rebuild): ${r}`);
        if (report.corrupt.length) console.log("run `sabuild build` to rebuild what needed them");
      }
      return report.corrupt.length ? 1 : 0;
    } finally {
      await lock.release();
    }
  }
  if (sub === "export") return (await import("../../bundle/cli.js")).exportCommand(session, args);
  if (sub === "import") return (await import("../../bundle/cli.js")).importCommand(session, args);
  if (sub === "prune-remote") {
    const { pruneRemoteCommand } = await import("./prune-remote.js");
    return pruneRemoteCommand(session, args.values["older-than"] as string | undefined, args.values["dry-run"] === true, args.global.json);
  }
  throw new UserInputError(`unknown cache command "${sub}"\n${cacheHelp}`);
}
