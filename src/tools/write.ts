import { z } from "zod";
import { defineTool } from "./define.js";
import { resolvePath } from "./exec.js";
import { saveFile } from "./file-io.js";
import { sessionState } from "./state.js";

const schema = z.strictObject({
  file_path: z.string().min(1).describe("The absolute path to the file to write (relative paths resolve against the workspace)"),
  content: z.string().describe("The content to write to the file"),
});

export const writeTool = defineTool({
  name: "Write",
  description: `Writes a file to the workspace, replacing it if it exists.

- Missing parent directories are created.
- Overwriting an existing file requires reading it with Read first in this conversation.
- Prefer Edit for changing part of an existing file; use Write for new files or complete rewrites.`,
  schema,
  async run(args, ctx) {
    const path = resolvePath(ctx, args.file_path);
    const seen = sessionState(ctx.sandbox).seen.get(path) ?? "";
    const { created } = await saveFile(ctx, path, Buffer.from(args.content, "utf8"), seen);
    return created ? `File created successfully at: ${path}` : `The file ${path} has been updated.`;
  },
});
