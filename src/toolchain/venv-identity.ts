import { nodeCrypto } from "../builtin.js";
import { err, ok, type Result } from "../result.js";
import { installedPackages, interpreterVersion, PYTHON_HINT, readRequirements } from "./python-facts.js";
import { baseInterpreter, notAVenv, TRAINER_REQUIREMENTS, venvDir, venvState } from "./venv.js";

/**
 * The trainer Python as plain data for a stage's key, found without creating anything: `plan`
 * on a fresh clone answers at once, and the key is the same before and after the build makes
 * the venv (the first build commits under the key that plan showed). Errors carry a
 * "\n  hint: " line, as the venv's own do.
 */

type Identity = Record<string, string>;

/** The venv at dir as the train stage runs it: declared when sabuild keeps it, installed when the user does. */
export function trainerVenvIdentity(dir: string, requirements = TRAINER_REQUIREMENTS, base = baseInterpreter()): Result<Identity, string> {
  const state = venvState(dir);
  switch (state.kind) {
    case "managed":
      return declaredIdentity(requirements, base);
    case "user":
      return installedIdentity(state.python, requirements);
    case "not-a-venv":
      return err(notAVenv(dir));
  }
}

/**
 * The Python that runs export's helpers (merge, the LoRA GGUF writer, the fidelity check):
 * SABUILD_PYTHON as it is installed, else the trainer venv (toolchain/dirs.ts trainerPython).
 */
export function helperPythonIdentity(projectRoot: string, env: NodeJS.ProcessEnv = process.env): Result<Identity, string> {
  if (env.SABUILD_PYTHON) return installedIdentity(env.SABUILD_PYTHON, TRAINER_REQUIREMENTS);
  return trainerVenvIdentity(venvDir(projectRoot, env));
}

/** What sabuild's venv holds (or will hold once made): the requirements file and the interpreter that makes it. */
function declaredIdentity(requirements: string, base: string): Result<Identity, string> {
  const wanted = readRequirements(requirements);
  if (!wanted.ok) return err(wanted.error);
  const version = interpreterVersion(base);
  if (!version.ok) return err(`${version.error}\n  hint: ${PYTHON_HINT}`);
  const identity: Identity = {
    // The venv is made with this interpreter and remade when its version changes (readVenv).
    "trainer.python": version.value,
  };
  // Each pin as written is what pip installs; a pin's change is named in plan's reasons.
  for (const [name, spec] of Object.entries(wanted.value.pins)) identity[`trainer.requirements.${name}`] = spec;
  // Options such as an index URL change which builds of those versions arrive.
  if (wanted.value.other.length) identity["trainer.requirements.other"] = wanted.value.other.join("\n");
  return ok(identity);
}

// A user's environment is asked once per process (importlib.metadata takes a few tenths of a second).
const installed = new Map<string, Result<Identity, string>>();

/** An environment sabuild does not keep: what it has installed is the input, whatever the pins say. */
function installedIdentity(python: string, requirements: string): Result<Identity, string> {
  const memo = `${python}\0${requirements}`;
  let known = installed.get(memo);
  if (!known) {
    known = askInstalled(python, requirements);
    installed.set(memo, known);
  }
  return known;
}

function askInstalled(python: string, requirements: string): Result<Identity, string> {
  const wanted = readRequirements(requirements);
  if (!wanted.ok) return err(wanted.error);
  const found = installedPackages(python);
  if (!found.ok) return err(`${found.error}\n  hint: ${PYTHON_HINT}`);
  const identity: Identity = { "trainer.python": found.value.python };
  // The packages the trainer asks for, by name, so that plan says which one changed.
  for (const name of Object.keys(wanted.value.pins)) identity[`trainer.installed.${name}`] = found.value.packages[name] ?? "missing";
  // Everything else installed there (numpy, jinja2, ...), as one digest: an upgrade by hand is an input too.
  const others = Object.entries(found.value.packages)
    .filter(([name]) => !(name in wanted.value.pins))
    .map(([name, version]) => `${name}==${version}`)
    .sort();
  identity["trainer.installed.others"] = nodeCrypto().createHash("sha256").update(others.join("\n")).digest("hex");
  return ok(identity);
}
