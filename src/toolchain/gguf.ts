import { closeSync, openSync, readSync } from "node:fs";

/**
 * Reads a GGUF file's header: version, tensor count and key-value metadata (chat template,
 * architecture, tokenizer ids). Large arrays (the vocabulary) are summarised as their length.
 * See llama.cpp's gguf docs: little-endian, strings as u64 length + UTF-8 bytes.
 */

export type GgufValue = number | bigint | boolean | string | GgufValue[] | { array: string; count: number };

export interface GgufHeader {
  version: number;
  tensorCount: number;
  metadata: Record<string, GgufValue>;
}

const TYPE_NAMES = ["u8", "i8", "u16", "i16", "u32", "i32", "f32", "bool", "string", "array", "u64", "i64", "f64"];
const FIXED_SIZE: Record<number, number> = { 0: 1, 1: 1, 2: 2, 3: 2, 4: 4, 5: 4, 6: 4, 7: 1, 10: 8, 11: 8, 12: 8 };
const ARRAY_LIMIT = 64;

class Reader {
  private buf = Buffer.alloc(1 << 20);
  private start = 0;
  private end = 0;
  private pos = 0;
  constructor(private readonly fd: number) {}

  private ensure(n: number): void {
    if (this.pos + n <= this.end) return;
    if (n > this.buf.length) this.buf = Buffer.alloc(n * 2);
    const read = readSync(this.fd, this.buf, 0, this.buf.length, this.pos);
    this.start = this.pos;
    this.end = this.pos + read;
    if (this.pos + n > this.end) throw new Error("not a GGUF file (truncated header)");
  }
  bytes(n: number): Buffer {
    this.ensure(n);
    const off = this.pos - this.start;
    this.pos += n;
    return this.buf.subarray(off, off + n);
  }
  u32(): number {
    return this.bytes(4).readUInt32LE(0);
  }
  u64(): number {
    return Number(this.bytes(8).readBigUInt64LE(0));
  }
  string(): string {
    return this.bytes(this.u64()).toString("utf8");
  }
  advance(n: number): void {
    this.pos += n;
  }
}

function readValue(r: Reader, type: number): GgufValue {
  switch (type) {
    case 0: return r.bytes(1).readUInt8(0);
    case 1: return r.bytes(1).readInt8(0);
    case 2: return r.bytes(2).readUInt16LE(0);
    case 3: return r.bytes(2).readInt16LE(0);
    case 4: return r.u32();
    case 5: return r.bytes(4).readInt32LE(0);
    case 6: return r.bytes(4).readFloatLE(0);
    case 7: return r.bytes(1).readUInt8(0) !== 0;
    case 8: return r.string();
    case 10: return r.bytes(8).readBigUInt64LE(0);
    case 11: return r.bytes(8).readBigInt64LE(0);
    case 12: return r.bytes(8).readDoubleLE(0);
    case 9: {
      const itemType = r.u32();
      const count = r.u64();
      if (count <= ARRAY_LIMIT) return Array.from({ length: count }, () => readValue(r, itemType));
      const size = FIXED_SIZE[itemType];
      if (size !== undefined) r.advance(size * count);
      else for (let i = 0; i < count; i++) readValue(r, itemType);
      return { array: TYPE_NAMES[itemType] ?? String(itemType), count };
    }
    default:
      throw new Error(`unknown GGUF value type ${type}`);
  }
}

export function readGgufHeader(path: string): GgufHeader {
  const fd = openSync(path, "r");
  try {
    const r = new Reader(fd);
    if (r.bytes(4).toString("latin1") !== "GGUF") throw new Error(`${path} is not a GGUF file (bad magic)`);
    const version = r.u32();
    const tensorCount = r.u64();
    const kvCount = r.u64();
    const metadata: Record<string, GgufValue> = {};
    for (let i = 0; i < kvCount; i++) {
      const key = r.string();
      metadata[key] = readValue(r, r.u32());
    }
    return { version, tensorCount, metadata };
  } finally {
    closeSync(fd);
  }
}
