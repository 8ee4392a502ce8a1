import { randomBytes } from "node:crypto";
import { PassThrough, type Duplex } from "node:stream";
import type Docker from "dockerode";
import { engineError } from "./docker.js";
import { Demuxer, exitCodeOf, killMarked } from "./exec.js";
import type { SandboxProcess } from "./types.js";

/**
 * A long-lived process in a running container with its standard streams attached (an MCP
 * server spoken to over stdio, say). Unlike runExec it has no time limit and no output cap: it
 * lives until it exits, is killed, or its container is removed, which ends it with everything it
 * started. Its processes carry SABUILD_EXEC=<id>, so kill() reaches its children too.
 */

export interface SpawnRequest {
  argv: string[];
  user: string;
  workdir: string;
  env?: Record<string, string>;
}

const WRAPPER = 'id=$1; shift; SABUILD_EXEC=$id; export SABUILD_EXEC; exec "$@"';

export async function spawnExec(container: Docker.Container, req: SpawnRequest): Promise<SandboxProcess> {
  const mark = randomBytes(6).toString("hex");
  let exec: Docker.Exec;
  let stream: Duplex;
  try {
    exec = await container.exec({
      Cmd: ["/bin/sh", "-c", WRAPPER, "sh", mark, ...req.argv],
      AttachStdin: true,
      AttachStdout: true,
      AttachStderr: true,
      Tty: false,
      User: req.user,
      WorkingDir: req.workdir,
      Env: Object.entries(req.env ?? {}).map(([k, v]) => `${k}=${v}`),
    });
    stream = (await exec.start({ hijack: true, stdin: true })) as Duplex;
  } catch (e) {
    throw engineError("cannot start a process in the sandbox", e);
  }
  const stdin = new PassThrough();
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  const demux = new Demuxer({ 1: { push: (b) => void stdout.write(b) }, 2: { push: (b) => void stderr.write(b) } });
  // Ending stdin half-closes the attach connection: the process reads end of file.
  stdin.pipe(stream);
  stream.on("data", (chunk: Buffer) => demux.push(chunk));
  let killed = false;
  const exited = new Promise<number | null>((resolve) => {
    let done = false;
    const finish = (): void => {
      if (done) return;
      done = true;
      stdout.end();
      stderr.end();
      stdin.unpipe(stream);
      // The container may be gone already (removed with the session): then no status is known.
      void (killed ? Promise.resolve(null) : exitCodeOf(exec).catch(() => null)).then(resolve);
    };
    stream.once("end", finish);
    stream.once("close", finish);
    // Every error, not only the first: a write after the end must not become an uncaught one.
    stream.on("error", finish);
  });
  // Writes after the process ended are dropped rather than thrown at the writer.
  stdin.on("error", () => undefined);
  return {
    stdin,
    stdout,
    stderr,
    exited,
    async kill() {
      killed = true;
      await killMarked(container, req.user, mark);
      stream.destroy();
      await exited;
    },
  };
}
