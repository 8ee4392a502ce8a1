import { runStandin } from "../../standin/cli.js";

export async function standinCommand(argv: string[]): Promise<number> {
  return runStandin(argv, { stdout: (text) => process.stdout.write(text), stderr: (text) => process.stderr.write(text) });
}
