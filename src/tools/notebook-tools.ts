import { z } from "zod";
import { defineTool, ToolFailure } from "./define.js";
import { resolvePath } from "./exec.js";
import { checkSeen, loadFile, saveFile } from "./file-io.js";
import { cellIdOf, cellIndex, newCell, parseNotebook, replaceSource, serializeNotebook, type Notebook } from "./notebook.js";
import { renderCells } from "./notebook-render.js";
import { MAX_READ_CHARS } from "./read.js";
import { sessionState } from "./state.js";
import type { ToolContext } from "./types.js";

const readSchema = z.strictObject({
  notebook_path: z.string().min(1).describe("The absolute path to the Jupyter notebook file to read (relative paths resolve against the workspace)"),
  cell_id: z.string().min(1).optional().describe("The ID of a specific cell to read. When not provided, all cells are read."),
});

export const notebookReadTool = defineTool({
  name: "NotebookRead",
  description: `Reads a Jupyter notebook (.ipynb file) and returns all of the cells with their outputs.

- notebook_path should be an absolute path; a relative path resolves against the workspace directory.
- Each cell is shown as <cell id="...">source</cell id="...">, markdown and raw cells with their <cell_type>, followed by the cell's text outputs; images and other rich outputs are named, not shown.
- cell_id reads one cell: the cell's id, or cell-N (0-based) in notebooks whose cells have no ids.
- Read a notebook before changing it with NotebookEdit.`,
  schema: readSchema,
  async run(args, ctx) {
    const { path, nb } = await loadNotebook(ctx, args.notebook_path, false);
    if (nb.cells.length === 0) return "<system-reminder>Warning: the notebook exists but has no cells.</system-reminder>";
    const indices = args.cell_id === undefined ? nb.cells.map((_, i) => i) : [cellIndex(nb, { cell_id: args.cell_id })];
    const text = renderCells(nb, indices);
    if (text.length > MAX_READ_CHARS) {
      throw new ToolFailure(`${path} shows as ${text.length} characters, more than the ${MAX_READ_CHARS} NotebookRead returns at once. Read one cell at a time with cell_id (cell-0 to cell-${nb.cells.length - 1}).`);
    }
    return text;
  },
});

const editSchema = z.strictObject({
  notebook_path: z.string().min(1).describe("The absolute path to the Jupyter notebook file to edit (relative paths resolve against the workspace)"),
  cell_id: z
    .string()
    .min(1)
    .optional()
    .describe("The ID of the cell to edit. When inserting a new cell, the new cell will be inserted after the cell with this ID, or at the beginning if not specified."),
  cell_number: z.number().int().nonnegative().optional().describe("The 0-indexed number of the cell to edit, as older releases named it; prefer cell_id"),
  new_source: z.string().describe("The new source for the cell"),
  cell_type: z.enum(["code", "markdown"]).optional().describe("The type of the cell (code or markdown). If not specified, it defaults to the current cell type. If using edit_mode=insert, this is required."),
  edit_mode: z.enum(["replace", "insert", "delete"]).optional().describe("The type of edit to make (replace, insert, delete). Defaults to replace."),
});

export const notebookEditTool = defineTool({
  name: "NotebookEdit",
  description: `Completely replaces the contents of a specific cell in a Jupyter notebook (.ipynb file) with new source.

- notebook_path should be an absolute path; a relative path resolves against the workspace directory.
- cell_id names the cell: its id, or cell-N (0-based) in notebooks whose cells have no ids.
- edit_mode=insert adds a new cell after the cell named by cell_id (at the beginning without one); cell_type is required then.
- edit_mode=delete deletes the cell named by cell_id.
- Replacing a code cell's source clears its outputs and execution count.
- Read the notebook (NotebookRead or Read) before editing it.`,
  schema: editSchema,
  async run(args, ctx) {
    const mode = args.edit_mode ?? "replace";
    if (!args.notebook_path.toLowerCase().endsWith(".ipynb")) {
      throw new ToolFailure("File must be a Jupyter notebook (.ipynb file). For editing other file types, use the Edit tool.");
    }
    if (mode === "insert" && args.cell_type === undefined) throw new ToolFailure("Cell type is required when using edit_mode=insert.");
    const { path, nb, mtime } = await loadNotebook(ctx, args.notebook_path, true);
    const ref = { cell_id: args.cell_id, cell_number: args.cell_number };

    let message: string;
    if (mode === "insert") {
      const at = args.cell_id === undefined && args.cell_number === undefined ? 0 : cellIndex(nb, ref) + 1;
      const cell = newCell(nb, args.cell_type!, args.new_source);
      nb.cells.splice(at, 0, cell);
      message = `Inserted cell ${cellIdOf(cell, at)} with ${args.new_source}`;
    } else {
      const at = cellIndex(nb, ref);
      const id = cellIdOf(nb.cells[at]!, at);
      if (mode === "delete") {
        nb.cells.splice(at, 1);
        message = `Deleted cell ${id}`;
      } else {
        replaceSource(nb.cells[at]!, args.new_source, args.cell_type);
        message = `Updated cell ${id} with ${args.new_source}`;
      }
    }
    await saveFile(ctx, path, serializeNotebook(nb), mtime);
    return message;
  },
});

/** The notebook's JSON; an edit needs the model to have read the version on disk. */
async function loadNotebook(ctx: ToolContext, notebookPath: string, forEdit: boolean): Promise<{ path: string; nb: Notebook; mtime: string }> {
  const file = await loadFile(ctx, notebookPath);
  if (file.bytes === null) throw new ToolFailure(`File does not exist: ${resolvePath(ctx, notebookPath)}`);
  if (forEdit) checkSeen(ctx, file.path, file.mtime);
  const nb = parseNotebook(file.bytes, file.path);
  if (!forEdit) sessionState(ctx.sandbox).seen.set(file.path, file.mtime);
  return { path: file.path, nb, mtime: file.mtime };
}
