// First: V8 flags that must hold before the command's modules load.
import "./v8-flags.js";
import { didYouMean, UserInputError } from "../errors.js";
import { VERSION } from "../version.js";
import { printProblems } from "./output.js";
import { resolveOwnModulesFast } from "./fast-resolve.js";

resolveOwnModulesFast();

const NODE_MAJOR = Number(process.versions.node.split(".")[0]);

type Command = (argv: string[]) => Promise<number>;

/** Loaded on demand, so that `plan` does not pay for the modules of `watch` or `init`. */
const COMMANDS: Record<string, { about: string; load: () => Promise<Command> }> = {
  plan: { about: "show what is up-to-date, cached or will run, and why", load: async () => (await import("./commands/plan.js")).planCommand },
  build: { about: "build targets and their dependencies", load: async () => (await import("./commands/build.js")).buildCommand },
  status: { about: "a summary per subagent", load: async () => (await import("./commands/status.js")).statusCommand },
  explain: { about: "field-by-field diff of a stage's stored key inputs vs now", load: async () => (await import("./commands/explain.js")).explainCommand },
  exec: { about: "run one stage or a slice of its items for a build on another machine (executors' jobs)", load: async () => (await import("./commands/exec.js")).execCommand },
  watch: { about: "rebuild what an edit made stale", load: async () => (await import("./commands/watch.js")).watchCommand },
  artifacts: { about: "list a stage's output files in the store", load: async () => (await import("./commands/artifacts.js")).artifactsCommand },
  cache: { about: "cache ls | verify | export | import | prune-remote", load: async () => (await import("./commands/cache.js")).cacheCommand },
  gc: { about: "delete store entries that sabuild.lock and recent builds do not reference", load: async () => (await import("./commands/gc.js")).gcCommand },
  clean: { about: "remove the store, or the results of some targets", load: async () => (await import("./commands/clean.js")).cleanCommand },
  tasks: { about: "tasks check: run each task's verifier untouched (must fail) and after its reference solution (must pass)", load: async () => (await import("./commands/tasks-check.js")).tasksCommand },
  library: { about: "library add | ls | update | remove: skill and subagent libraries to search", load: async () => (await import("./commands/library.js")).libraryCommand },
  search: { about: "rank the libraries' agents and skills for a query, or for a set of tasks", load: async () => (await import("./commands/search.js")).searchCommand },
  add: { about: "add a library's agent or skill to subagents.yaml as a subagent", load: async () => (await import("./commands/add.js")).addCommand },
  init: { about: "scaffold subagents.yaml from the agents and skills in a repo", load: async () => (await import("./commands/init.js")).initCommand },
  setup: { about: "install or build what the pipeline needs here (Docker, images, trainer venv, llama.cpp)", load: async () => (await import("./commands/setup.js")).setupCommand },
  doctor: { about: "report what the pipeline needs here, and how to fix what is missing", load: async () => (await import("./commands/doctor.js")).doctorCommand },
  bench: { about: "run the orchestrator benchmarks (none / teacher / base / student arms) and print their figures", load: async () => (await import("./commands/bench.js")).benchCommand },
  report: { about: "write each subagent's report page (HTML) and CI summary (markdown)", load: async () => (await import("./commands/report.js")).reportCommand },
  traffic: { about: "traffic ls | stats | export: the delegations `sabuild serve` recorded (serve.record)", load: async () => (await import("./commands/traffic.js")).trafficCommand },
  serve: { about: "OpenAI-compatible gateway to the distilled subagents (or --mcp: an MCP server)", load: async () => (await import("./commands/serve.js")).serveCommand },
  route: { about: "route curve | calibrate: the learned router's cost-quality curve, and the threshold that meets a goal", load: async () => (await import("./commands/route.js")).routeCommand },
  schema: { about: "print the JSON Schema of subagents.yaml", load: async () => (await import("./commands/schema.js")).schemaCommand },
  standin: { about: "serve a stand-in model: OpenAI-compatible, or Anthropic's Messages API with --messages (tests, offline examples)", load: async () => (await import("./commands/standin.js")).standinCommand },
};

function usage(): string {
  const width = Math.max(...Object.keys(COMMANDS).map((c) => c.length));
  return [
    `sabuild ${VERSION}: distill subagents and skills into small local models, incrementally`,
    "",
    "usage: sabuild <command> [options]   (every command takes -C <dir>, -c <config>, --json, --help)",
    "",
    ...Object.entries(COMMANDS).map(([name, c]) => `  ${name.padEnd(width)}  ${c.about}`),
  ].join("\n");
}

async function main(argv: string[]): Promise<number> {
  if (NODE_MAJOR < 22) {
    throw new UserInputError(`sabuild needs Node.js >= 22, this is ${process.version}; run it through bin/sabuild in a clone (it brings its own Node), or install a newer Node`);
  }
  const [name, ...rest] = argv;
  if (name === undefined || name === "help" || name === "--help" || name === "-h") {
    console.log(usage());
    return name === undefined ? 2 : 0;
  }
  if (name === "--version" || name === "-V" || name === "version") {
    console.log(VERSION);
    return 0;
  }
  const command = COMMANDS[name];
  if (!command) {
    const guess = didYouMean(name, Object.keys(COMMANDS));
    throw new UserInputError(`unknown command "${name}"${guess ? ` (did you mean "${guess}"?)` : ""}\n\n${usage()}`);
  }
  return (await command.load())(rest);
}

main(process.argv.slice(2)).then(
  (code) => {
    // Everything the command does is awaited by now; exiting at once skips ~40 ms of teardown.
    // A large --json document may still sit in a pipe's queue: exit once both streams flushed.
    process.exitCode = code;
    process.stdout.write("", () => process.stderr.write("", () => process.exit(code)));
  },
  async (e: unknown) => {
    if (e instanceof UserInputError) {
      // Scripts asking for --json get the problems as data on stdout, as well as the human text.
      if (process.argv.includes("--json")) process.stdout.write(`${JSON.stringify({ ok: false, error: e.message, problems: e.problems }, null, 2)}\n`);
      if (e.problems.length) {
        await printProblems(e.problems);
        process.stderr.write(`${e.problems.length} problem${e.problems.length === 1 ? "" : "s"} in ${e.message.replace(/^invalid /, "")}\n`);
      } else {
        process.stderr.write(`error: ${e.message}\n`);
      }
      process.exitCode = 2;
      return;
    }
    // A bug in sabuild: say so plainly; the stack only when asked for.
    const message = e instanceof Error ? e.message : String(e);
    process.stderr.write(`sabuild: internal error: ${message}\n`);
    if (process.env.SABUILD_DEBUG) process.stderr.write(`${(e as Error).stack ?? ""}\n`);
    else process.stderr.write("(set SABUILD_DEBUG=1 for the stack trace, and please report it)\n");
    process.exitCode = 1;
  },
);
