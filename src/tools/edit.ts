import { z } from "zod";
import { defineTool, ToolFailure } from "./define.js";
import { checkSeen, loadFile, saveFile, type LoadedFile } from "./file-io.js";
import { numberLines } from "./lines.js";
import { replaceInFile, type EditRequest } from "./replace.js";
import type { ToolContext } from "./types.js";

const SNIPPET_CONTEXT_LINES = 4;

const editFields = {
  old_string: z.string().describe("The text to replace"),
  new_string: z.string().describe("The text to replace it with (must be different from old_string)"),
  replace_all: z.boolean().default(false).describe("Replace all occurrences of old_string (default false)"),
};

const editSchema = z.strictObject({
  file_path: z.string().min(1).describe("The absolute path to the file to modify (relative paths resolve against the workspace)"),
  ...editFields,
});

const multiEditSchema = z.strictObject({
  file_path: z.string().min(1).describe("The absolute path to the file to modify (relative paths resolve against the workspace)"),
  edits: z.array(z.strictObject(editFields)).min(1).describe("Edits to apply in order, each to the result of the previous one"),
});

export const editTool = defineTool({
  name: "Edit",
  description: `Replaces exact text in a file.

- Read the file first in this conversation; Edit fails on a file you have not read.
- old_string must match the file exactly, including indentation (copy it from Read's output without the line-number prefix: number and tab).
- The edit fails when old_string is not in the file, or appears more than once without replace_all: add surrounding lines to make it unique, or set replace_all to rename something throughout the file.
- An empty old_string creates a new file holding new_string.`,
  schema: editSchema,
  async run(args, ctx) {
    if (args.old_string === args.new_string) throw new ToolFailure("No changes to make: old_string and new_string are exactly the same.");
    const file = await loadFile(ctx, args.file_path);
    if (args.old_string === "") return createWithEdit(ctx, file, args.new_string);
    const current = existing(ctx, file);
    const replaced = replaceInFile(current, args);
    await saveFile(ctx, file.path, replaced.bytes, file.mtime);
    if (args.replace_all) return `The file ${file.path} has been updated. All ${replaced.count} occurrences of the string were replaced.`;
    return `The file ${file.path} has been updated. Here's the result of running \`cat -n\` on a snippet of the edited file:\n${snippet(replaced.bytes, replaced.start, replaced.end)}`;
  },
});

export const multiEditTool = defineTool({
  name: "MultiEdit",
  description: `Makes several replacements in one file in a single step; all of them apply or none does.

- Each edit works like Edit (old_string, new_string, replace_all) on the result of the edits before it.
- Read the file first in this conversation. If any edit fails, the file is left unchanged and the error names the edit.
- To create a file, give the first edit an empty old_string.`,
  schema: multiEditSchema,
  async run(args, ctx) {
    const file = await loadFile(ctx, args.file_path);
    let content: Buffer;
    let start = 0;
    if (args.edits[0]!.old_string === "" && file.bytes === null) content = Buffer.alloc(0);
    else content = existing(ctx, file);
    const earlierNew: string[] = [];
    for (const [i, edit] of args.edits.entries()) {
      try {
        if (edit.old_string === "" && i === 0 && content.toString("utf8").trim() === "") {
          content = Buffer.from(edit.new_string, "utf8");
        } else {
          if (earlierNew.some((text) => edit.old_string !== "" && text.includes(edit.old_string))) {
            throw new ToolFailure("old_string is part of the new_string of an earlier edit; edits apply in order, so fold this change into that edit.");
          }
          const replaced = replaceInFile(content, edit);
          content = replaced.bytes;
          if (i === 0) start = replaced.start;
        }
      } catch (e) {
        if (e instanceof ToolFailure) throw new ToolFailure(`Edit ${i + 1} of ${args.edits.length} failed, so no edit was applied. ${e.message}`);
        throw e;
      }
      earlierNew.push(edit.new_string);
    }
    const { created } = await saveFile(ctx, file.path, content, file.mtime);
    if (created) return `File created successfully at: ${file.path} (${args.edits.length} edits applied)`;
    return `Applied ${args.edits.length} edits to ${file.path}:\n${args.edits.map((e, i) => `${i + 1}. Replaced ${quote(e.old_string)} with ${quote(e.new_string)}`).join("\n")}\n\nThe first edit, in context:\n${snippet(content, start, start)}`;
  },
});

/** An existing file's bytes, after checking the model has read its current content. */
function existing(ctx: ToolContext, file: LoadedFile): Buffer {
  if (file.bytes === null) throw new ToolFailure(`File does not exist: ${file.path}`);
  checkSeen(ctx, file.path, file.mtime);
  return file.bytes;
}

async function createWithEdit(ctx: ToolContext, file: LoadedFile, content: string): Promise<string> {
  if (file.bytes !== null) {
    if (file.bytes.toString("utf8").trim() !== "") throw new ToolFailure("Cannot create new file - file already exists.");
    checkSeen(ctx, file.path, file.mtime);
  }
  const { created } = await saveFile(ctx, file.path, Buffer.from(content, "utf8"), file.mtime);
  return created ? `File created successfully at: ${file.path}` : `The file ${file.path} has been updated.`;
}

/** The lines around a byte range of the new content, numbered as Read shows them. */
function snippet(content: Buffer, start: number, end: number): string {
  const firstLine = lineOf(content, start);
  const lastLine = lineOf(content, end);
  const lines = content.toString("utf8").split("\n");
  if (lines.length > 1 && lines.at(-1) === "") lines.pop();
  const from = Math.max(1, firstLine - SNIPPET_CONTEXT_LINES);
  const to = Math.min(lines.length, lastLine + SNIPPET_CONTEXT_LINES);
  return numberLines(lines.slice(from - 1, to).map((l) => l.replace(/\r$/, "")), from, 2000);
}

/** 1-based line number of a byte offset. */
function lineOf(content: Buffer, offset: number): number {
  let line = 1;
  for (let at = content.indexOf(10); at >= 0 && at < offset; at = content.indexOf(10, at + 1)) line++;
  return line;
}

function quote(text: string): string {
  const oneLine = text.length > 60 ? `${text.slice(0, 57)}...` : text;
  return JSON.stringify(oneLine);
}
