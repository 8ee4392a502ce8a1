/**
 * Names Claude Code used for its tools before they were renamed, mapped to today's names. Agent
 * files written for early versions still say `View` or `GlobTool`; the importer reads them as the
 * canonical tool. Kept free of imports so the importer can load it cheaply.
 */
export const TOOL_ALIASES: Readonly<Record<string, string>> = {
  // Early releases (the names the model saw), then the source's class names.
  View: "Read",
  FileReadTool: "Read",
  Replace: "Write",
  FileWriteTool: "Write",
  FileEditTool: "Edit",
  MultiEditTool: "MultiEdit",
  BashTool: "Bash",
  GlobTool: "Glob",
  GrepTool: "Grep",
  LSTool: "LS",
  WebFetchTool: "WebFetch",
  WebSearchTool: "WebSearch",
  TodoWriteTool: "TodoWrite",
  ReadNotebook: "NotebookRead",
  NotebookReadTool: "NotebookRead",
  NotebookEditCell: "NotebookEdit",
  NotebookEditTool: "NotebookEdit",
  dispatch_agent: "Agent",
  AgentTool: "Agent",
  Task: "Agent",
  KillBash: "KillShell",
};

/** The canonical name for a tool name as written (itself when it is not an old name). */
export function canonicalToolName(name: string): string {
  return TOOL_ALIASES[name] ?? name;
}

/** The old names of a canonical tool. */
export function aliasesOf(name: string): string[] {
  return Object.keys(TOOL_ALIASES).filter((alias) => TOOL_ALIASES[alias] === name);
}
