import { randomBytes } from "node:crypto";
import { ToolFailure } from "./define.js";

/**
 * Jupyter notebooks (nbformat 4) as the notebook tools read and change them: plain JSON kept as
 * parsed, so fields this code does not know (metadata, attachments, outputs) survive an edit.
 */

export type Cell = { cell_type: string; id?: string; source?: string | string[]; outputs?: unknown[]; execution_count?: number | null; [key: string]: unknown };
export type Notebook = { cells: Cell[]; nbformat?: number; nbformat_minor?: number; metadata?: Record<string, unknown>; [key: string]: unknown };

export function parseNotebook(bytes: Buffer, path: string): Notebook {
  let value: unknown;
  try {
    value = JSON.parse(bytes.toString("utf8"));
  } catch (e) {
    throw new ToolFailure(`${path} is not valid JSON, so not a notebook: ${(e as Error).message}`);
  }
  if (value === null || typeof value !== "object" || !Array.isArray((value as Notebook).cells)) {
    throw new ToolFailure(`${path} is not a Jupyter notebook: it has no "cells" list.`);
  }
  const cells = (value as Notebook).cells;
  if (cells.some((c) => c === null || typeof c !== "object" || typeof c.cell_type !== "string")) {
    throw new ToolFailure(`${path} is not a valid Jupyter notebook: every cell needs a cell_type.`);
  }
  return value as Notebook;
}

/** How Jupyter writes a notebook: one-space indentation and a final newline. */
export function serializeNotebook(nb: Notebook): Buffer {
  return Buffer.from(`${JSON.stringify(nb, null, 1)}\n`, "utf8");
}

/** The id a model uses for the cell: its own `id`, or `cell-N` (0-based) in notebooks without ids. */
export function cellIdOf(cell: Cell, index: number): string {
  return typeof cell.id === "string" && cell.id !== "" ? cell.id : `cell-${index}`;
}

/** The index of the cell a model named by id, `cell-N`, or (older releases) number. */
export function cellIndex(nb: Notebook, ref: { cell_id?: string | undefined; cell_number?: number | undefined }): number {
  if (ref.cell_id !== undefined) {
    const byId = nb.cells.findIndex((c) => c.id === ref.cell_id);
    if (byId >= 0) return byId;
    const m = /^cell-(\d+)$/.exec(ref.cell_id);
    if (!m) throw new ToolFailure(`Cell with ID "${ref.cell_id}" not found in notebook.`);
    return inRange(nb, Number(m[1]));
  }
  if (ref.cell_number !== undefined) return inRange(nb, ref.cell_number);
  throw new ToolFailure("Cell ID must be specified when not inserting a new cell.");
}

function inRange(nb: Notebook, index: number): number {
  if (index >= nb.cells.length) throw new ToolFailure(`Cell with index ${index} does not exist in notebook (it has ${nb.cells.length} cells).`);
  return index;
}

/** nbformat 4.5 made cell ids required; older notebooks must not gain them. */
function usesCellIds(nb: Notebook): boolean {
  return (nb.nbformat ?? 4) > 4 || ((nb.nbformat ?? 4) === 4 && (nb.nbformat_minor ?? 0) >= 5);
}

function freshId(nb: Notebook): string {
  const taken = new Set(nb.cells.map((c) => c.id));
  let id = randomBytes(4).toString("hex");
  while (taken.has(id)) id = randomBytes(4).toString("hex");
  return id;
}

/** A new cell of the type, valid nbformat: code cells carry outputs and an execution count, others do not. */
export function newCell(nb: Notebook, type: "code" | "markdown", source: string): Cell {
  const cell: Cell = { cell_type: type, ...(usesCellIds(nb) ? { id: freshId(nb) } : {}), metadata: {}, source };
  if (type === "code") Object.assign(cell, { execution_count: null, outputs: [] });
  return cell;
}

/** Replaces the cell's source; a code cell's outputs are stale then and are cleared, as Jupyter does. */
export function replaceSource(cell: Cell, source: string, type: "code" | "markdown" | undefined): void {
  cell.source = source;
  if (type !== undefined && type !== cell.cell_type) {
    cell.cell_type = type;
    if (type === "markdown") {
      delete cell.outputs;
      delete cell.execution_count;
    }
  }
  if (cell.cell_type === "code") {
    cell.outputs = [];
    cell.execution_count = null;
  }
}

export function sourceText(cell: Cell): string {
  return Array.isArray(cell.source) ? cell.source.join("") : (cell.source ?? "");
}
