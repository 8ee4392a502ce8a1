import { z } from "zod";
import { defineTool } from "./define.js";
import { sessionState } from "./state.js";

const schema = z.strictObject({
  todos: z
    .array(
      z.object({
        content: z.string().min(1).describe("What is to be done, in the imperative (e.g. 'Run the tests')"),
        status: z.enum(["pending", "in_progress", "completed"]),
        activeForm: z.string().min(1).optional().describe("The same in present continuous form (e.g. 'Running the tests')"),
      }),
    )
    .describe("The updated todo list"),
});

/** Claude Code's task list; it only lives in the rollout's memory, as a planning aid for the model. */
export const todoWriteTool = defineTool({
  name: "TodoWrite",
  description: `Creates and updates a structured task list for the current work.

- Use it for multi-step tasks: write the steps, mark one in_progress before starting it and completed as soon as it is done.
- Each call replaces the whole list.
- Skip it for a single, simple task.`,
  schema,
  async run(args, ctx) {
    sessionState(ctx.sandbox).todos = args.todos.map((t) => ({ content: t.content, status: t.status, ...(t.activeForm ? { activeForm: t.activeForm } : {}) }));
    const open = args.todos.filter((t) => t.status !== "completed").length;
    return `Todos have been modified successfully (${args.todos.length} items, ${open} open). Ensure that you continue to use the todo list to track your progress. Please proceed with the current tasks if applicable.`;
  },
});
