import { createHash, randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { describe, expect, it } from "vitest";
import { followHashWriter } from "../src/store/follow-hash.js";
import { tempDir } from "./helpers.js";

// Large remote-cache downloads are hashed by a worker that reads the file behind the writer.
describe("followHashWriter", () => {
  it("writes the stream and hashes exactly what was written, across many vectored writes", async () => {
    const dir = tempDir("sabuild-follow-");
    const chunks = Array.from({ length: 300 }, (_, i) => randomBytes(64 * 1024 + (i % 7) * 1000));
    const expected = createHash("sha256");
    for (const c of chunks) expected.update(c);
    let reported = 0;
    const sink = await followHashWriter(join(dir, "blob"), { highWaterMark: 1 << 20, onBytes: (n) => (reported += n) });
    await pipeline(Readable.from(chunks), sink.writable);
    const digest = await sink.digest();
    const total = chunks.reduce((n, c) => n + c.length, 0);
    expect(digest).toBe(expected.digest("hex"));
    expect(reported).toBe(total);
    expect(readFileSync(join(dir, "blob")).length).toBe(total);
  });

  it("gives no digest when the source fails half-way", async () => {
    const dir = tempDir("sabuild-follow-");
    const sink = await followHashWriter(join(dir, "blob"), { highWaterMark: 1 << 20 });
    async function* broken(): AsyncGenerator<Buffer> {
      yield randomBytes(1 << 20);
      throw new Error("connection reset");
    }
    await expect(pipeline(Readable.from(broken()), sink.writable)).rejects.toThrow(/connection reset/);
    await expect(sink.digest()).rejects.toThrow(/aborted/);
  });
});
