import { cpSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import type { TrainerEvent, TrainerSink } from "../../src/toolchain/trainer-process.js";
import { tempDir } from "../helpers.js";
import { tinyModel } from "./support/tiny-gguf.js";

/**
 * The trainer runner contract: how the train stage runs `python -m trainer.sft`, in the venv
 * (`runner: local`) or in a container (`runner: docker`). Whichever runs it, the stage sees the
 * same events and exit codes, finds the adapter in its output directory, owned by the user, and
 * an abort leaves nothing running.
 */

/** One run as the train stage sets it up: host paths, and cfg.json's settings besides the paths. */
export interface TrainerJob {
  projectRoot: string;
  /** The base model, relative to the project (a local model keeps that path in adapter_config.json). */
  model: string;
  /** Holds train.jsonl (and validation.jsonl). */
  datasetDir: string;
  /** Receives adapter/ and metrics.json. */
  outDir: string;
  settings: Record<string, unknown>;
}

export interface TrainerRunnerUnderTest {
  /** Writes cfg.json with the paths as this runner's trainer sees them, runs it, and returns its exit code. */
  run(job: TrainerJob, signal: AbortSignal, sink: TrainerSink): Promise<number>;
  /** Trainer processes or containers of this runner that are still alive. */
  leftovers(): Promise<string[]>;
}

const SETTINGS = {
  lora: { r: 4, alpha: 8, dropout: 0, target_modules: "all-linear" },
  epochs: 1,
  learning_rate: 0.01,
  batch_size: 2,
  grad_accum: 1,
  max_length: 256,
  packing: false,
  seed: 1,
  gradient_checkpointing: false,
  max_steps: 2,
};

const row = (q: string, a: string) => JSON.stringify({ messages: [{ role: "user", content: q }, { role: "assistant", content: a }], tools: [] });

interface Recorded extends TrainerSink {
  events: TrainerEvent[];
  lines: { stream: "stdout" | "stderr"; text: string }[];
}

function recorder(onLine?: () => void): Recorded {
  const r: Recorded = {
    events: [],
    lines: [],
    event: (e) => void r.events.push(e),
    line: (stream, text) => {
      r.lines.push({ stream, text });
      onLine?.();
    },
  };
  return r;
}

async function waitUntil(check: () => Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

export function describeTrainerRunnerContract(name: string, setup: () => Promise<TrainerRunnerUnderTest>): void {
  describe(`trainer runner contract: ${name}`, () => {
    let runner: TrainerRunnerUnderTest;
    let base: string;

    beforeAll(async () => {
      runner = await setup();
      base = await tinyModel();
    }, 600_000);

    const job = (settings: Record<string, unknown> = {}): TrainerJob => {
      const projectRoot = tempDir("sabuild-contract-train-");
      cpSync(base, join(projectRoot, "models/tiny"), { recursive: true });
      const datasetDir = join(projectRoot, "dataset");
      mkdirSync(datasetDir);
      writeFileSync(join(datasetDir, "train.jsonl"), [row("Say hi", "hi there"), row("Say bye", "bye now"), row("Count", "one two"), row("Name a colour", "blue")].join("\n") + "\n");
      const outDir = tempDir("sabuild-contract-train-out-");
      mkdirSync(join(outDir, "adapter"));
      return { projectRoot, model: "models/tiny", datasetDir, outDir, settings: { ...SETTINGS, ...settings } };
    };

    it("trains to the end: start, progress and done events in order, exit 0, the adapter and metrics written as the user", { timeout: 300_000 }, async () => {
      const j = job();
      const sink = recorder();
      const code = await runner.run(j, new AbortController().signal, sink);
      expect(code, sink.lines.map((l) => l.text).join("\n")).toBe(0);
      const kinds = sink.events.map((e) => e.event);
      expect(kinds[0]).toBe("start");
      expect(kinds.at(-1)).toBe("done");
      expect(kinds).toContain("progress");
      expect(kinds).not.toContain("error");
      expect(sink.events.at(-1)).toMatchObject({ event: "done", steps: 2 });
      expect(sink.events[0]).toMatchObject({ event: "start", rows: { train: 4, validation: 0 } });
      // stdout carries only events: every line of it reached the sink as one.
      const stdout = sink.lines.filter((l) => l.stream === "stdout");
      expect(stdout.length).toBe(sink.events.length);
      for (const l of stdout) expect(JSON.parse(l.text)).toHaveProperty("event");
      for (const file of ["adapter/adapter_model.safetensors", "adapter/adapter_config.json", "metrics.json"]) {
        expect(existsSync(join(j.outDir, file)), file).toBe(true);
        expect(statSync(join(j.outDir, file)).uid, file).toBe(process.getuid!());
      }
      expect(JSON.parse(readFileSync(join(j.outDir, "metrics.json"), "utf8"))).toMatchObject({ steps: 2, model: "models/tiny" });
      expect(JSON.parse(readFileSync(join(j.outDir, "adapter/adapter_config.json"), "utf8")).base_model_name_or_path).toBe("models/tiny");
    });

    it("exits 2 on a bad setting, with one error event that names it and the message on stderr", { timeout: 120_000 }, async () => {
      const sink = recorder();
      const code = await runner.run(job({ learning_rate: -1 }), new AbortController().signal, sink);
      expect(code).toBe(2);
      expect(sink.events).toEqual([{ event: "error", message: expect.stringMatching(/learning_rate must be positive/) }]);
      expect(sink.lines.some((l) => l.stream === "stderr" && /^error: .*learning_rate/.test(l.text))).toBe(true);
    });

    it("ends the run when the signal aborts: rejects, and leaves nothing running", { timeout: 120_000 }, async () => {
      const controller = new AbortController();
      const sink = recorder();
      const running = runner.run(job({ max_steps: 10_000 }), controller.signal, sink);
      // Abort while it works (importing torch takes seconds; a line or two arrive before).
      setTimeout(() => controller.abort(), 3000);
      const started = Date.now();
      await expect(running).rejects.toThrow(/aborted/);
      expect(Date.now() - started).toBeLessThan(20_000);
      await waitUntil(async () => (await runner.leftovers()).length === 0, 15_000, "the trainer to be gone");
    });
  });
}
