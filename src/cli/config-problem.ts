import { relative } from "node:path";
import { UserInputError } from "../errors.js";

/**
 * Bad input about a key of subagents.yaml found by a command (a name taken, a library in use):
 * the error names the file, the line and the key, with a hint, as the config loader's do.
 */
export async function configKeyError(configFile: string, keyPath: (string | number)[], message: string, hint: string): Promise<UserInputError> {
  const shown = relative(process.cwd(), configFile) || configFile;
  const { locateInConfig } = await import("../config/positions.js");
  const problems = await locateInConfig([{ file: shown, line: 0, column: 0, keyPath, message, hint }], configFile, shown);
  return new UserInputError(shown, problems);
}
