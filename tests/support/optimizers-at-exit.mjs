// Loaded with `node --allow-natives-syntax --import` before the CLI: at exit, appends whether
// V8's optimizing compilers (Maglev, TurboFan) are on to $SABUILD_OPTIMIZERS_OUT, as
// `{"maglev":bool,"turbofan":bool}` on one line (see src/cli/v8-flags.ts).
import { appendFileSync } from "node:fs";

process.on("exit", () => {
  // Natives syntax only parses where the flag is on: compiled here, at exit, by eval.
  const [maglev, turbofan] = (0, eval)("[%IsMaglevEnabled(), %IsTurbofanEnabled()]");
  appendFileSync(process.env.SABUILD_OPTIMIZERS_OUT, `${JSON.stringify({ maglev, turbofan })}\n`);
});
