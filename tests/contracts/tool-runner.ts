import { copyFileSync, existsSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { ToolError } from "../../src/toolchain/process.js";
import type { Runner, ServerRunner } from "../../src/toolchain/runners.js";
import { tempDir } from "../helpers.js";
import { llamaTools, tinyGguf } from "./support/tiny-gguf.js";

/**
 * The llama.cpp runner contract (src/toolchain/runners.ts): a binary on this machine or one in
 * an image, llama-quantize and llama-server behave the same for the export stage, eval and
 * `sabuild serve`. Paths are host paths under the directories the caller names.
 */

export interface ToolRunnersUnderTest {
  quantize: Runner;
  server: ServerRunner;
}

/** What each implementation's setup gets: a work directory holding a tiny f16 GGUF. */
export interface ToolRunnerFixture {
  dir: string;
  gguf: string;
  /** The image of sabuild's managed llama.cpp tools (Debian sid). */
  image: string;
}

async function refused(url: string): Promise<boolean> {
  return fetch(url, { signal: AbortSignal.timeout(2000) }).then(
    () => false,
    () => true,
  );
}

export function describeToolRunnerContract(name: string, setup: (fixture: ToolRunnerFixture) => Promise<ToolRunnersUnderTest>): void {
  describe(`llama.cpp runner contract: ${name}`, () => {
    let fixture: ToolRunnerFixture;
    let runners: ToolRunnersUnderTest;

    beforeAll(async () => {
      const tools = await llamaTools();
      const dir = tempDir("sabuild-contract-llama-");
      const gguf = join(dir, "tiny-f16.gguf");
      copyFileSync(await tinyGguf(tools), gguf);
      fixture = { dir, gguf, image: tools.server.where.replace(/^image:/, "") };
      runners = await setup(fixture);
    }, 600_000);

    it("runs llama-quantize to the end, its output in the named directory and owned by the user", { timeout: 120_000 }, async () => {
      const out = join(fixture.dir, "tiny-Q8_0.gguf");
      const lines: string[] = [];
      await runners.quantize.run([fixture.gguf, out, "Q8_0"], { dirs: [fixture.dir], log: (l) => lines.push(l) });
      expect(readFileSync(out).subarray(0, 4).toString("latin1")).toBe("GGUF");
      expect(statSync(out).size).toBeLessThan(statSync(fixture.gguf).size);
      expect(statSync(out).uid).toBe(process.getuid!());
    });

    it("throws a ToolError carrying the tool's last lines when it fails", { timeout: 120_000 }, async () => {
      const missing = join(fixture.dir, "no-such.gguf");
      const failed = await runners.quantize.run([missing, join(fixture.dir, "out.gguf"), "Q8_0"], { dirs: [fixture.dir] }).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(failed).toBeInstanceOf(ToolError);
      expect((failed as ToolError).tail).toMatch(/no-such\.gguf|failed/i);
      expect(existsSync(join(fixture.dir, "out.gguf"))).toBe(false);
    });

    it("serves the model once it is healthy; stop() ends the server and is safe twice", { timeout: 180_000 }, async () => {
      const server = await runners.server.start({ model: fixture.gguf });
      try {
        expect((await fetch(`${server.url}/health`)).status).toBe(200);
        const models = (await (await fetch(`${server.url}/v1/models`)).json()) as { data: { id: string }[] };
        expect(models.data.length).toBeGreaterThan(0);
      } finally {
        await server.stop();
      }
      await server.stop();
      expect(await refused(`${server.url}/health`)).toBe(true);
    });

    it("fails fast, with the server's last lines, when the model cannot be loaded", { timeout: 120_000 }, async () => {
      const bad = join(fixture.dir, "not-a-model.gguf");
      writeFileSync(bad, "this is not a GGUF file\n");
      const started = Date.now();
      await expect(runners.server.start({ model: bad, readyTimeoutMs: 90_000 })).rejects.toThrow(/exited[\s\S]*(gguf|model)/i);
      // The server's exit ends the wait, not the ready timeout.
      expect(Date.now() - started).toBeLessThan(60_000);
    });
  });
}
