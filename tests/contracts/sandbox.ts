import { spawn } from "node:child_process";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SandboxError, type OpenSandboxOptions, type SandboxImage, type SandboxSession } from "../../src/sandbox/index.js";
import { exited, REPO } from "../helpers.js";

/**
 * The sandbox contract (src/sandbox/types.ts): what the tools, the rollout loop, eval and the
 * MCP server may rely on in a session, whichever container engine runs it. Each engine opens
 * sessions of the bundled `shell` recipe's image (Debian, bash, coreutils, procps).
 */

export interface SandboxEngineUnderTest {
  image: SandboxImage;
  open(options?: OpenSandboxOptions): Promise<SandboxSession>;
  /** Whether the engine still has the container (running or not). */
  exists(containerId: string): Promise<boolean>;
  /** What a child process needs in its environment to reach the same engine. */
  env: Record<string, string>;
}

/** The stream's lines, one at a time, as they arrive. */
function lines(stream: NodeJS.ReadableStream): { next(): Promise<string | undefined> } {
  const it = createInterface({ input: stream })[Symbol.asyncIterator]();
  return { next: async () => (await it.next()).value as string | undefined };
}

async function waitUntil(check: () => Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

export function describeSandboxContract(name: string, setup: () => Promise<SandboxEngineUnderTest>): void {
  describe(`sandbox contract: ${name}`, () => {
    let engine: SandboxEngineUnderTest;
    let box: SandboxSession;

    beforeAll(async () => {
      engine = await setup();
      box = await engine.open();
    }, 600_000);

    afterAll(async () => {
      await box?.close();
    });

    /** A session of its own for a test that changes the container or its limits. */
    const withSession = async (options: OpenSandboxOptions, body: (s: SandboxSession) => Promise<void>): Promise<void> => {
      const s = await engine.open(options);
      try {
        await body(s);
      } finally {
        await s.close();
      }
    };

    it("runs argv as the image's non-root user in its workdir: exit codes, stdout, stderr, stdin, cwd and env", async () => {
      expect(box.image).toEqual(engine.image);
      expect(await box.exec(["sh", "-c", 'echo "out $(id -un) $(pwd)"; echo err >&2; exit 3'])).toMatchObject({
        exitCode: 3,
        stdout: `out ${engine.image.user} ${engine.image.workdir}\n`,
        stderr: "err\n",
        truncated: false,
        timedOut: false,
        oomKilled: false,
      });
      expect((await box.exec(["id", "-u"])).stdout).not.toBe("0\n");
      expect(await box.exec(["tr", "a-z", "A-Z"], { stdin: "piped in\n" })).toMatchObject({ exitCode: 0, stdout: "PIPED IN\n" });
      expect((await box.exec(["pwd"], { cwd: "/tmp" })).stdout).toBe("/tmp\n");
      expect((await box.exec(["sh", "-c", "echo $GREETING"], { env: { GREETING: "hi there" } })).stdout).toBe("hi there\n");
      // argv is not a shell line: the semicolon is an argument.
      expect((await box.exec(["echo", "a;", "b"])).stdout).toBe("a; b\n");
      const missing = await box.exec(["no-such-command"]);
      expect(missing.exitCode).toBe(127);
      expect(missing.stderr).toMatch(/no-such-command/);
    });

    it("has every capability dropped, no-new-privileges, and no network but loopback", async () => {
      const status = (await box.exec(["cat", "/proc/self/status"])).stdout;
      for (const cap of ["CapPrm", "CapEff", "CapBnd"]) expect(status).toMatch(new RegExp(`${cap}:\\s+0000000000000000`));
      expect(status).toMatch(/NoNewPrivs:\s+1/);
      const net = await box.exec(["sh", "-c", "getent hosts deb.debian.org; echo rc=$?; tail -n +3 /proc/net/dev | cut -d: -f1"]);
      expect(net.stdout).toMatch(/rc=2/);
      expect(net.stdout.trim().split("\n").slice(1).map((s) => s.trim())).toEqual(["lo"]);
    });

    it("has a network interface besides loopback when the limits ask for the bridge", async () => {
      await withSession({ limits: { network: "bridge" } }, async (s) => {
        const r = await s.exec(["sh", "-c", "tail -n +3 /proc/net/dev | cut -d: -f1"]);
        expect(r.stdout.trim().split("\n").map((l) => l.trim()).filter((l) => l !== "lo").length).toBeGreaterThan(0);
      });
    });

    it("kills a command and its process group at the time limit, quickly", async () => {
      const started = Date.now();
      const r = await box.exec(["sh", "-c", "sleep 30 & sleep 30"], { timeoutMs: 1000 });
      expect(Date.now() - started).toBeLessThan(6000);
      expect(r).toMatchObject({ exitCode: null, timedOut: true, oomKilled: false });
      expect((await box.exec(["ps", "-eo", "args"])).stdout).not.toMatch(/sleep 30/);
    });

    it("cuts output past the limit with a marker that counts the bytes cut", async () => {
      const r = await box.exec(["sh", "-c", "head -c 100000 /dev/zero | tr '\\0' a; echo; echo the-end; echo small >&2"], { outputLimitBytes: 1000 });
      expect(r.truncated).toBe(true);
      expect(r.stderr).toBe("small\n");
      const m = /\[\.\.\. (\d+) bytes truncated \.\.\.\]/.exec(r.stdout);
      expect(m).not.toBeNull();
      const kept = Buffer.byteLength(r.stdout) - `\n${m![0]}\n`.length;
      expect(kept + Number(m![1])).toBe(100000 + "\nthe-end\n".length);
      expect(kept + Buffer.byteLength(r.stderr)).toBeLessThanOrEqual(1000);
      expect(r.stdout.endsWith("the-end\n")).toBe(true);
    });

    it("rejects with the signal's reason when it aborts, and stops the command", async () => {
      const controller = new AbortController();
      setTimeout(() => controller.abort(new Error("rollout cancelled")), 300);
      const started = Date.now();
      await expect(box.exec(["sleep", "20"], { signal: controller.signal })).rejects.toThrow("rollout cancelled");
      expect(Date.now() - started).toBeLessThan(5000);
      expect((await box.exec(["ps", "-eo", "args"])).stdout).not.toMatch(/sleep 20/);
    });

    it("reports an OOM kill in the result and keeps the container usable", async () => {
      await withSession({ limits: { memoryBytes: 64 * 1024 ** 2 } }, async (s) => {
        const r = await s.exec(["sh", "-c", "head -c 300m /dev/zero | tail -c 300m > /dev/null"]);
        expect(r).toMatchObject({ exitCode: null, oomKilled: true, timedOut: false });
        expect(await s.exec(["echo", "alive"])).toMatchObject({ exitCode: 0, stdout: "alive\n", oomKilled: false });
        expect((await s.exec(["sh", "-c", "exit 137"])).oomKilled).toBe(false);
      });
    });

    it("caps the number of processes", async () => {
      await withSession({ limits: { pids: 20 } }, async (s) => {
        const r = await s.exec(["sh", "-c", "for i in $(seq 1 40); do sleep 3 & done; wait"], { timeoutMs: 10_000 });
        expect(r.exitCode).not.toBe(0);
        expect(r.stderr).toMatch(/fork|Resource temporarily unavailable/i);
      });
    });

    it("spawns a long-lived process with its streams attached: a line in, a line out, stdin's end ends it", async () => {
      const p = await box.spawn(["sh", "-c", 'echo "ready $(id -un) $(pwd) $GREETING" >&2; while read -r line; do echo "got $line"; done; echo bye; exit 7'], { env: { GREETING: "hi" } });
      const out = lines(p.stdout);
      const err = lines(p.stderr);
      expect(await err.next()).toBe(`ready ${engine.image.user} ${engine.image.workdir} hi`);
      // Each answer comes before the next line is written: the stream is live, not buffered to the end.
      for (const word of ["one", "two", "x".repeat(100_000)]) {
        p.stdin.write(`${word}\n`);
        expect(await out.next()).toBe(`got ${word}`);
      }
      p.stdin.end();
      expect(await out.next()).toBe("bye");
      expect(await p.exited).toBe(7);
    });

    it("kill() ends a spawned process and its children; close() ends one still running", async () => {
      const p = await box.spawn(["sh", "-c", "sleep 41 & echo started; sleep 42"]);
      expect(await lines(p.stdout).next()).toBe("started");
      await p.kill();
      expect(await p.exited).toBeNull();
      expect((await box.exec(["ps", "-eo", "args"])).stdout).not.toMatch(/sleep 4[12]/);

      const s = await engine.open();
      const q = await s.spawn(["sh", "-c", "echo started; sleep 43"]);
      expect(await lines(q.stdout).next()).toBe("started");
      await s.close();
      await expect(Promise.race([q.exited, new Promise((r) => setTimeout(() => r("still running"), 10_000))])).resolves.not.toBe("still running");
      expect(await engine.exists(s.containerId)).toBe(false);
      await expect(s.spawn(["true"])).rejects.toBeInstanceOf(SandboxError);
    });

    it("close() removes the container, twice is fine, and a later exec throws a SandboxError", async () => {
      const s = await engine.open();
      expect(await engine.exists(s.containerId)).toBe(true);
      await s.close();
      await s.close();
      expect(await engine.exists(s.containerId)).toBe(false);
      await expect(s.exec(["true"])).rejects.toBeInstanceOf(SandboxError);
    });

    it("removes the container of a process that is ended by SIGTERM", async () => {
      const script = [
        `import { openSandbox } from ${JSON.stringify(join(REPO, "dist/sandbox/index.js"))};`,
        `const s = await openSandbox(JSON.parse(process.argv[1]));`,
        `console.log(s.containerId);`,
        "setInterval(() => {}, 1000);",
      ].join("\n");
      const child = spawn(process.execPath, ["--input-type=module", "-e", script, JSON.stringify(engine.image)], { stdio: ["ignore", "pipe", "inherit"], env: { ...process.env, ...engine.env } });
      let out = "";
      child.stdout.on("data", (d) => (out += d));
      await waitUntil(async () => /^[0-9a-f]{64}$/m.test(out), 30_000, "the child's container");
      const id = out.trim();
      expect(await engine.exists(id)).toBe(true);
      child.kill("SIGTERM");
      await exited(child);
      await waitUntil(async () => !(await engine.exists(id)), 15_000, `container ${id.slice(0, 12)} to be removed`);
    });
  });
}
