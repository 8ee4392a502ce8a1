import { nodeUtil } from "../builtin.js";
import { didYouMean, UserInputError } from "../errors.js";
import { parseRemoteMode, type RemoteMode } from "../remote/settings.js";

/** Options every command understands. */
export interface GlobalOptions {
  dir: string;
  config?: string;
  json: boolean;
  remoteMode?: RemoteMode;
}

export type OptionSpec = Record<string, { type: "string" | "boolean"; short?: string; multiple?: boolean }>;

const GLOBAL: OptionSpec = {
  directory: { type: "string", short: "C" },
  config: { type: "string", short: "c" },
  json: { type: "boolean" },
  help: { type: "boolean", short: "h" },
  "remote-cache": { type: "string" },
};

export interface Parsed {
  global: GlobalOptions;
  values: Record<string, string | boolean | string[] | undefined>;
  positionals: string[];
  help: boolean;
}

/** Parses a command's arguments; unknown options are bad input (exit 2) with a did-you-mean. */
export function parseCommandArgs(command: string, argv: string[], options: OptionSpec): Parsed {
  const all = { ...GLOBAL, ...options };
  try {
    const { values, positionals } = nodeUtil().parseArgs({ args: argv, options: all, allowPositionals: true, strict: true });
    return {
      global: {
        dir: (values.directory as string | undefined) ?? process.cwd(),
        ...(values.config !== undefined ? { config: values.config as string } : {}),
        json: values.json === true,
        ...remoteModeOf(values["remote-cache"] as string | undefined),
      },
      values: values as Parsed["values"],
      positionals,
      help: values.help === true,
    };
  } catch (e) {
    const message = (e as Error).message;
    const unknown = /Unknown option '(-{1,2}[^']+)'/.exec(message)?.[1];
    const guess = unknown ? didYouMean(unknown.replace(/^-+/, ""), Object.keys(all)) : undefined;
    throw new UserInputError(`sabuild ${command}: ${message}${guess ? ` (did you mean --${guess}?)` : ""}\nRun \`sabuild ${command} --help\` for its options.`);
  }
}

function remoteModeOf(value: string | undefined): { remoteMode?: RemoteMode } {
  const mode = parseRemoteMode(value, "--remote-cache");
  if (!mode.ok) throw new UserInputError(mode.error);
  return mode.value ? { remoteMode: mode.value } : {};
}

/** Parses `-j N` and size flags; bad values are bad input. */
export function positiveInt(name: string, value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new UserInputError(`--${name} expects a positive whole number, got "${value}"`);
  return n;
}

export function parseSize(value: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*([kmgt]?)i?b?$/i.exec(value.trim());
  if (!m) throw new UserInputError(`--max-size expects a size such as 500M or 20G, got "${value}"`);
  const scale = { "": 1, k: 2 ** 10, m: 2 ** 20, g: 2 ** 30, t: 2 ** 40 }[m[2]!.toLowerCase() as "" | "k" | "m" | "g" | "t"];
  return Math.round(Number(m[1]) * scale);
}
