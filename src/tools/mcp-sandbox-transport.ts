import { ReadBuffer, serializeMessage } from "@modelcontextprotocol/sdk/shared/stdio.js";
import type { Transport } from "@modelcontextprotocol/sdk/shared/transport.js";
import type { JSONRPCMessage } from "@modelcontextprotocol/sdk/types.js";
import type { SandboxProcess, SandboxSession } from "../sandbox/types.js";

/**
 * The MCP stdio transport to a server running inside a sandbox container: the SDK's
 * StdioClientTransport spawns a host process, this one a process of the session (spawn()), and
 * speaks the same newline-delimited JSON-RPC through the SDK's own ReadBuffer and
 * serializeMessage. The server ends when the transport closes, or with its container.
 */
export class SandboxStdioTransport implements Transport {
  onclose?: () => void;
  onerror?: (error: Error) => void;
  onmessage?: (message: JSONRPCMessage) => void;
  private process: SandboxProcess | undefined;
  private readonly buffer = new ReadBuffer();
  /** The end of the server's stderr, to explain a server that fails. */
  stderrTail = "";

  constructor(
    private readonly session: SandboxSession,
    private readonly argv: string[],
    private readonly options: { cwd?: string; env?: Record<string, string> },
  ) {}

  async start(): Promise<void> {
    if (this.process) throw new Error("SandboxStdioTransport already started");
    const p = await this.session.spawn(this.argv, this.options);
    this.process = p;
    p.stdout.on("data", (chunk: Buffer) => {
      try {
        this.buffer.append(chunk);
      } catch (e) {
        // A line past the SDK's buffer limit: the server is not speaking MCP.
        this.onerror?.(e as Error);
        void this.close();
        return;
      }
      for (;;) {
        let message: JSONRPCMessage | null;
        try {
          message = this.buffer.readMessage();
        } catch (e) {
          this.onerror?.(e as Error);
          continue;
        }
        if (message === null) break;
        this.onmessage?.(message);
      }
    });
    p.stderr.on("data", (chunk: Buffer) => (this.stderrTail = (this.stderrTail + chunk.toString("utf8")).slice(-2048)));
    void p.exited.then(() => {
      if (this.process === p) this.process = undefined;
      this.onclose?.();
    });
  }

  async send(message: JSONRPCMessage): Promise<void> {
    const p = this.process;
    if (!p) throw new Error("the MCP server in the sandbox is not running");
    await new Promise<void>((resolve) => (p.stdin.write(serializeMessage(message)) ? resolve() : p.stdin.once("drain", resolve)));
  }

  /** Closes stdin, as the SDK's stdio transport does; a server that does not exit within 2 s is killed. */
  async close(): Promise<void> {
    const p = this.process;
    this.process = undefined;
    this.buffer.clear();
    if (!p) return;
    p.stdin.end();
    const ended = await Promise.race([p.exited.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), 2000).unref())]);
    if (!ended) await p.kill();
  }
}
