import { dirname, relative, resolve } from "node:path";
import { watch, type FSWatcher } from "chokidar";
import { UserInputError } from "../../errors.js";
import { printProblems } from "../output.js";
import { openProject } from "../../project.js";
import { currentPreimage } from "../../engine/decide.js";
import { parseCommandArgs, positiveInt } from "../args.js";
import { runBuild } from "./build.js";
import { availableParallelism } from "node:os";

export const watchHelp = `sabuild watch [targets] [-j N] [--debounce MS] [--json]
  Builds, then watches subagents.yaml, plugins and every stage's input files; after an edit
  (debounced, default 300 ms) rebuilds what it made stale. Errors are shown and watching goes on.
  --json prints one JSON line per build.`;

export async function watchCommand(argv: string[]): Promise<number> {
  const args = parseCommandArgs("watch", argv, { jobs: { type: "string", short: "j" }, debounce: { type: "string" }, verbose: { type: "boolean", short: "v" } });
  if (args.help) return (console.log(watchHelp), 0);
  const debounceMs = positiveInt("debounce", args.values.debounce as string | undefined, 300);
  const jobs = positiveInt("jobs", args.values.jobs as string | undefined, availableParallelism());
  // What builds write must never wake the watcher: the store, the lock file, VCS and packages.
  let storeRoot = "\0";
  const ignored = (path: string): boolean =>
    path.startsWith(storeRoot) || path.endsWith("sabuild.lock") || /[\\/](node_modules|\.git|\.tmp-[^\\/]*)([\\/]|$)/.test(path);
  // depth 0: an input's directory is watched for files added beside it, not recursively.
  // Made once the first build named the inputs, and awaited until chokidar is ready: an edit
  // made right after "watching" is printed must not fall before the watches are in place.
  let watcher: FSWatcher | undefined;
  const watched = new Set<string>();
  const inputs = new Set<string>();
  let timer: NodeJS.Timeout | undefined;
  let building = false;
  let again = false;

  const cycle = async (): Promise<void> => {
    if (building) {
      again = true;
      return;
    }
    building = true;
    try {
      const { files, dirs, store } = await buildOnce(args.global, args.positionals, jobs, args.values.verbose === true, args.global.json);
      if (store) storeRoot = store;
      // Paths are only ever added: unwatching a directory in chokidar drops the files below it too.
      const fresh = [...files, ...dirs].filter((p) => !watched.has(p));
      for (const p of fresh) watched.add(p);
      if (!watcher && fresh.length) {
        watcher = watch(fresh, { ignoreInitial: true, ignored, depth: 0 });
        watcher.on("all", onEvent);
        await new Promise<void>((resolve) => watcher!.once("ready", () => resolve()));
      } else if (watcher && fresh.length) watcher.add(fresh);
      for (const f of files) inputs.add(f);
    } finally {
      building = false;
    }
    process.stderr.write(`[watch] watching ${watched.size} paths; Ctrl-C to stop\n`);
    if (again) {
      again = false;
      await cycle();
    }
  };
  function onEvent(event: string, path: string): void {
    // An edit matters when it touches an input; in a watched directory, only files coming or going.
    if (event === "change" && !inputs.has(path)) return;
    if (timer) clearTimeout(timer);
    timer = setTimeout(() => {
      process.stderr.write(`[watch] ${relative(args.global.dir, path) || path} changed\n`);
      void cycle();
    }, debounceMs);
  }
  await cycle();
  await new Promise<void>((resolve) => {
    process.once("SIGINT", () => resolve());
    process.once("SIGTERM", () => resolve());
  });
  await watcher?.close();
  return 0;
}

/** One build; returns the paths to watch. Bad input is printed, and the config is still watched. */
async function buildOnce(global: { dir: string; config?: string }, targets: string[], jobs: number, verbose: boolean, json: boolean): Promise<{ files: string[]; dirs: string[]; store?: string }> {
  const configPath = resolve(global.dir, global.config ?? "subagents.yaml");
  try {
    const session = await openProject(global);
    const summary = await runBuild(session, { targets, jobs, locked: false, json, verbose }, "watch");
    // With --json, one line per build (NDJSON), for scripts that follow the watcher.
    if (json) process.stdout.write(`${JSON.stringify({ ok: summary.exitCode === 0, durationMs: summary.durationMs, stages: summary.outcomes.map((o) => ({ id: o.id, status: o.status })) })}\n`);
    process.stderr.write(`[watch] build ${summary.exitCode === 0 ? "succeeded" : "failed"}\n`);
    const files = new Set<string>([session.project.file, ...session.project.plugins]);
    const dirs = new Set<string>();
    for (const node of session.nodes) {
      if (node.stage.unavailable) continue;
      const pre = await currentPreimage(session.env, node, {});
      // Watching the directory too catches files added beside the inputs (a new skill script).
      for (const rel of pre.ok ? Object.keys(pre.value.files) : []) {
        const abs = `${session.project.root}/${rel}`;
        files.add(abs);
        dirs.add(dirname(abs));
      }
    }
    return { files: [...files], dirs: [...dirs], store: session.store.root };
  } catch (e) {
    if (!(e instanceof UserInputError)) throw e;
    await printProblems(e.problems);
    if (!e.problems.length) process.stderr.write(`error: ${e.message}\n`);
    process.stderr.write("[watch] fix the input; watching for changes\n");
    return { files: [configPath], dirs: [] };
  }
}
