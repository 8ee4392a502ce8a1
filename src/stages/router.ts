import { ok } from "../result.js";
import { NEIGHBOURS } from "../route/policy.js";
import type { Stage } from "./types.js";

/**
 * The learned router of `route.policy: learned`: trained on eval's outcomes (held-out task ->
 * did the student succeed), written as router.json, with its cost-quality curve (curve.json,
 * scored leave-one-out so a task never predicts itself). route.threshold is not an input: it
 * is read when serving, and `sabuild route calibrate` picks it from this curve.
 */
export function routerStage(): Stage {
  return {
    kind: "router",
    version: "1",
    deps: ["eval"],
    async inputs() {
      return ok({
        params: {
          // The model and its one constant: another method or k is another router.
          method: "knn-bm25",
          k: NEIGHBOURS,
        },
        files: [],
      });
    },
    async run(ctx) {
      await (await import("./router-run.js")).runRouter(ctx);
    },
  };
}
