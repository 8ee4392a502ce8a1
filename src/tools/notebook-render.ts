import { cellIdOf, sourceText, type Cell, type Notebook } from "./notebook.js";

/** One output past this many characters is cut: a printed dataframe should not crowd out the code. */
export const MAX_OUTPUT_CHARS = 10_000;

// ANSI colour codes that IPython puts in tracebacks.
const ANSI = /\x1b\[[0-9;]*m/g;

/**
 * A notebook as Claude Code shows one to the model: each cell wrapped in `<cell id="...">`, its
 * type named when it is not code (and the language when it is not Python), then its outputs as
 * text. Images and other rich outputs are named, not included: a text model cannot read them.
 */
export function renderCells(nb: Notebook, indices: readonly number[]): string {
  const language = languageOf(nb);
  return indices.map((i) => renderCell(nb.cells[i]!, i, language)).join("\n");
}

function renderCell(cell: Cell, index: number, language: string): string {
  const id = cellIdOf(cell, index);
  const kind = cell.cell_type !== "code" ? `<cell_type>${cell.cell_type}</cell_type>` : language !== "python" ? `<language>${language}</language>` : "";
  const parts = [`<cell id="${id}">${kind}${sourceText(cell)}</cell id="${id}">`];
  for (const output of Array.isArray(cell.outputs) ? cell.outputs : []) {
    const text = outputText(output);
    if (text) parts.push(text.length > MAX_OUTPUT_CHARS ? `${text.slice(0, MAX_OUTPUT_CHARS)}\n[output cut at ${MAX_OUTPUT_CHARS} characters]` : text);
  }
  return parts.join("\n");
}

function languageOf(nb: Notebook): string {
  const info = nb.metadata?.["language_info"];
  const name = info && typeof info === "object" ? (info as Record<string, unknown>)["name"] : undefined;
  return typeof name === "string" && name !== "" ? name : "python";
}

function joined(value: unknown): string {
  if (Array.isArray(value)) return value.filter((v) => typeof v === "string").join("");
  return typeof value === "string" ? value : "";
}

function outputText(output: unknown): string {
  if (output === null || typeof output !== "object") return "";
  const o = output as Record<string, unknown>;
  switch (o["output_type"]) {
    case "stream":
      return joined(o["text"]).replace(/\n$/, "");
    case "execute_result":
    case "display_data": {
      const data = (o["data"] ?? {}) as Record<string, unknown>;
      const text = joined(data["text/plain"]).replace(/\n$/, "");
      const rich = Object.keys(data).filter((k) => k !== "text/plain");
      const named = rich.length > 0 ? `[${rich.join(", ")} output not shown]` : "";
      return [text, named].filter(Boolean).join("\n");
    }
    case "error": {
      const trace = Array.isArray(o["traceback"]) ? o["traceback"].filter((l): l is string => typeof l === "string").join("\n") : "";
      return (trace || `${joined(o["ename"])}: ${joined(o["evalue"])}`).replace(ANSI, "");
    }
    default:
      return "";
  }
}
