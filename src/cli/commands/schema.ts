import { configJsonSchema } from "../../config/index.js";
import { parseCommandArgs } from "../args.js";

export const schemaHelp = `sabuild schema
  Prints the JSON Schema of subagents.yaml (for editors: yaml-language-server, VS Code).`;

export async function schemaCommand(argv: string[]): Promise<number> {
  const args = parseCommandArgs("schema", argv, {});
  if (args.help) return (console.log(schemaHelp), 0);
  process.stdout.write(`${JSON.stringify(configJsonSchema(), null, 2)}\n`);
  return 0;
}
