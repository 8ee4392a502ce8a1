import * as z from "zod";

/**
 * Where a task runs and what decides whether it succeeded. A task line of `tasks.jsonl` may
 * carry `env` (its own environment; without it, the subagent's sandbox) and `verify` (a test run
 * after the agent finishes, in the same container). Every importer (our JSONL, SWE-bench, Harbor,
 * Terminal-Bench) produces these shapes; the sandbox stage builds one image per distinct `env`,
 * traces and eval run `verify`. Plain data: they go into keys as written.
 */

/** Container limits an environment asks for (Harbor's `[environment]`); the sandbox's otherwise. */
export const envLimitsSchema = z.strictObject({
  cpus: z.number().positive().optional(),
  memory_mb: z.number().int().positive().optional(),
  /** Harbor's allow_internet: "bridge" when true. Sandboxes keep "none" unless a task asks. */
  network: z.enum(["none", "bridge"]).optional(),
});
export type EnvLimits = z.output<typeof envLimitsSchema>;

/** An image by name: a local image, or pulled when the engine has none (SWE-bench's image_name). */
export const imageEnvSchema = z.strictObject({
  image: z.string().min(1),
  /** The workspace inside the image (SWE-bench images: /testbed); the image's WORKDIR otherwise. */
  workdir: z.string().min(1).optional(),
  limits: envLimitsSchema.optional(),
});

/**
 * A repository at a commit, on a recipe: the recipe's image is the base, the repository's tree
 * replaces its workspace, `setup` runs at image build. `repo` is a git URL or a path relative to
 * the project (a checkout, a bare repository or a bundle file); fetched on the host, never in a
 * sandbox. `recipe` defaults to the subagent's sandbox recipe.
 */
export const repoEnvSchema = z.strictObject({
  repo: z.string().min(1),
  commit: z.string().min(1),
  recipe: z.string().min(1).optional(),
  setup: z.array(z.string().min(1)).optional(),
  limits: envLimitsSchema.optional(),
});

/** A directory with a Dockerfile (Harbor's `environment/`), relative to the project: the build context. */
export const dockerfileEnvSchema = z.strictObject({
  dockerfile: z.string().min(1),
  limits: envLimitsSchema.optional(),
});

export const taskEnvSchema = z.union([imageEnvSchema, repoEnvSchema, dockerfileEnvSchema]);
export type TaskEnv = z.output<typeof taskEnvSchema>;
export type ImageEnv = z.output<typeof imageEnvSchema>;
export type RepoEnv = z.output<typeof repoEnvSchema>;
export type DockerfileEnv = z.output<typeof dockerfileEnvSchema>;

/** A file the verifier (or a reference solution) copies into the container just before it runs. */
export const containerFileSchema = z.strictObject({
  /** Absolute path inside the container. */
  path: z.string().regex(/^\//, { error: "an absolute path inside the container" }),
  content: z.string(),
  encoding: z.enum(["utf8", "base64"]).default("utf8"),
  /** Unix mode, e.g. 0o755 for a script. */
  mode: z.number().int().optional(),
});
export type ContainerFile = z.output<typeof containerFileSchema>;

/**
 * How a verifier's outcome is read:
 * - exit_code: passed when the command exits 0 (our JSONL's default, Terminal-Bench 1's run-tests.sh);
 * - reward_file: Harbor's rule: the command writes `<dir>/reward.txt` (a number) or `reward.json`
 *   (`{"reward": n}`); passed when the reward is at least 1;
 * - tests: SWE-bench's rule: every FAIL_TO_PASS and PASS_TO_PASS test passes, read from the
 *   test runner's report (`log_format`).
 */
export const successRuleSchema = z.discriminatedUnion("kind", [
  z.strictObject({ kind: z.literal("exit_code") }),
  z.strictObject({ kind: z.literal("reward_file"), dir: z.string().default("/logs/verifier") }),
  z.strictObject({
    kind: z.literal("tests"),
    fail_to_pass: z.array(z.string()),
    pass_to_pass: z.array(z.string()),
    log_format: z.enum(["pytest"]).default("pytest"),
  }),
]);
export type SuccessRule = z.output<typeof successRuleSchema>;

/**
 * Who runs a verifier's or a solution's command: the agent's user (the image's; SWE-bench's test
 * patch is applied to the agent's own files), or root, as Harbor and Terminal-Bench run theirs
 * (a test.sh may install what it needs). Root there still holds no capabilities. Unset: the agent.
 */
export const runAsSchema = z.enum(["agent", "root"]);

export const verifierSchema = z.strictObject({
  /** Run with `bash -lc` in the workspace, after the files are copied in. */
  command: z.string().min(1),
  user: runAsSchema.optional(),
  files: z.array(containerFileSchema).default([]),
  timeout_s: z.number().positive().default(600),
  success: successRuleSchema.default({ kind: "exit_code" }),
});
export type Verifier = z.output<typeof verifierSchema>;

/** A reference solution (Harbor's solution/solve.sh): what `sabuild tasks check` runs before the verifier. */
export const solutionSchema = z.strictObject({
  command: z.string().min(1),
  user: runAsSchema.optional(),
  files: z.array(containerFileSchema).default([]),
  timeout_s: z.number().positive().default(600),
});
export type Solution = z.output<typeof solutionSchema>;

/** What a verifier run records in the trace. */
export const verificationSchema = z.looseObject({
  passed: z.boolean(),
  reward: z.number(),
  exit_code: z.number().nullable(),
  timed_out: z.boolean(),
  duration_ms: z.number(),
  output_tail: z.string(),
  tests: z.strictObject({ fail_to_pass_failed: z.array(z.string()), pass_to_pass_failed: z.array(z.string()) }).optional(),
  error: z.string().optional(),
});

export interface Verification {
  passed: boolean;
  /** 1 or 0 for exit_code and tests; the reward file's number for reward_file. */
  reward: number;
  exit_code: number | null;
  timed_out: boolean;
  duration_ms: number;
  /** The last lines of the command's output (stdout, then stderr). */
  output_tail: string;
  /** For the tests rule: each listed test that did not pass. */
  tests?: { fail_to_pass_failed: string[]; pass_to_pass_failed: string[] };
  /** Why the verifier could not run or be read (a missing reward file, the container gone). */
  error?: string;
}

/** The environment of tasks without `env`: the subagent's sandbox recipe. Its item id in the sandbox stage. */
export const DEFAULT_ENV_ID = "default";
