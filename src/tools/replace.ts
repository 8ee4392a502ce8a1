import { ToolFailure } from "./define.js";

export interface EditRequest {
  old_string: string;
  new_string: string;
  replace_all?: boolean | undefined;
}

export interface Replaced {
  bytes: Buffer;
  count: number;
  /** Byte range of the first replacement in the new content (for the snippet shown to the model). */
  start: number;
  end: number;
}

/**
 * Replaces old_string in the file's bytes: exactly one occurrence, or all with replace_all.
 * Works on bytes so whatever the file holds outside the match (invalid UTF-8, other line
 * endings) is written back untouched. A file with CRLF line endings matches an old_string
 * written with LF, as the model sees lines without their \r.
 */
export function replaceInFile(content: Buffer, edit: EditRequest): Replaced {
  if (edit.old_string === edit.new_string) throw new ToolFailure("No changes to make: old_string and new_string are exactly the same.");
  if (edit.old_string === "") throw new ToolFailure("old_string is empty: an empty old_string only creates a new file (or fills an empty one).");
  let needle = Buffer.from(edit.old_string, "utf8");
  let replacement = Buffer.from(edit.new_string, "utf8");
  if (content.indexOf(needle) < 0 && content.includes("\r\n") && edit.old_string.includes("\n")) {
    needle = Buffer.from(toCrlf(edit.old_string), "utf8");
    replacement = Buffer.from(toCrlf(edit.new_string), "utf8");
  }
  const positions = occurrences(content, needle);
  if (positions.length === 0) throw new ToolFailure(`String to replace not found in file.\nString: ${edit.old_string}`);
  if (positions.length > 1 && !edit.replace_all) {
    throw new ToolFailure(
      `Found ${positions.length} matches of the string to replace, but replace_all is false. To replace all occurrences, set replace_all to true. To replace only one occurrence, please provide more context to uniquely identify the instance.\nString: ${edit.old_string}`,
    );
  }
  const parts: Buffer[] = [];
  let from = 0;
  for (const at of positions) {
    parts.push(content.subarray(from, at), replacement);
    from = at + needle.length;
  }
  parts.push(content.subarray(from));
  const start = positions[0]!;
  return { bytes: Buffer.concat(parts), count: positions.length, start, end: start + replacement.length };
}

/** Start offsets of the non-overlapping occurrences of needle. */
function occurrences(haystack: Buffer, needle: Buffer): number[] {
  const found: number[] = [];
  for (let at = haystack.indexOf(needle); at >= 0; at = haystack.indexOf(needle, at + needle.length)) found.push(at);
  return found;
}

function toCrlf(text: string): string {
  return text.replace(/\r?\n/g, "\r\n");
}
