import { createHmac, timingSafeEqual } from "node:crypto";
import { canonicalJson } from "../engine/key.js";
import type { ActionResult } from "../store/index.js";
import { err, ok, type Result } from "../result.js";

/** What sabuild stores at `/ac/<key>`: the action result, signed when a shared key is set. */
interface Envelope {
  sabuild: 1;
  result: ActionResult;
  hmac?: string;
}

function mac(key: string, result: ActionResult): string {
  return createHmac("sha256", key).update(canonicalJson(result)).digest("hex");
}

export function sealAction(result: ActionResult, hmacKey?: string): Buffer {
  const envelope: Envelope = { sabuild: 1, result, ...(hmacKey ? { hmac: mac(hmacKey, result) } : {}) };
  return Buffer.from(JSON.stringify(envelope));
}

/**
 * Reads an action result from the remote. With a shared key, an unsigned or wrongly signed
 * result is refused: whoever can write the cache must not be able to choose our outputs.
 */
export function openAction(data: Buffer, key: string, hmacKey?: string): Result<ActionResult, string> {
  let envelope: Envelope;
  try {
    envelope = JSON.parse(data.toString("utf8")) as Envelope;
  } catch {
    return err("not a sabuild action result");
  }
  const result = envelope?.result;
  if (envelope?.sabuild !== 1 || !result || result.key !== key || typeof result.output !== "string") return err("not a sabuild action result for this key");
  if (hmacKey) {
    if (!envelope.hmac) return err("action result is not signed (an HMAC key is configured)");
    const want = Buffer.from(mac(hmacKey, result), "hex");
    const got = Buffer.from(envelope.hmac, "hex");
    if (want.length !== got.length || !timingSafeEqual(want, got)) return err("action result signature does not match (HMAC)");
  }
  return ok(result);
}
