/**
 * Reads test outcomes from pytest's terminal output, for the `tests` success rule (SWE-bench's
 * FAIL_TO_PASS / PASS_TO_PASS). Written by hand rather than taken from a library: it is a few
 * regular expressions over pytest's documented report lines, which are
 * - the short test summary of `-rA`: `PASSED <id>`, `FAILED <id> - <message>`, `ERROR <id> - ...`,
 *   `XFAIL <id> - <reason>`, `XPASS <id>` (pytest-xdist prefixes `[gw0] [ 50%] `);
 * - the verbose progress lines of `-v`: `<id> PASSED [ 50%]`.
 * `SKIPPED [1] file:line: reason` names no test id and is not read: a skipped test did not pass.
 */

export type TestOutcome = "passed" | "failed" | "error" | "xfailed" | "xpassed" | "skipped";

const STATUS: Record<string, TestOutcome> = {
  PASSED: "passed",
  FAILED: "failed",
  ERROR: "error",
  XFAIL: "xfailed",
  XPASS: "xpassed",
  SKIPPED: "skipped",
};

const ANSI = /\x1b\[[0-9;]*m/g;
const XDIST_PREFIX = /^\[gw\d+\]\s+\[\s*\d+%\]\s+/;
const SHORT = /^(PASSED|FAILED|ERROR|XFAIL|XPASS) (.+)$/;
// The id is matched lazily, so a status word inside a parametrised id ("test[PASSED x]") is
// passed over: only the last one, followed by nothing but the progress, ends the line.
const VERBOSE = /^(\S.*?::.+?) (PASSED|FAILED|ERROR|XFAIL|XPASS|SKIPPED)(?: \(.*\))?(?:\s+\[\s*\d+%\])?$/;

/** What pytest counts as a success: an expected failure and an unexpected (non-strict) pass too. */
export function outcomePassed(outcome: TestOutcome | undefined): boolean {
  return outcome === "passed" || outcome === "xfailed" || outcome === "xpassed";
}

/**
 * Every test id the output reports, with its outcome. A test reported twice (passed, then an
 * error in its teardown) keeps the failing outcome, whatever the order of the lines.
 */
export function parsePytestReport(output: string): Map<string, TestOutcome> {
  const outcomes = new Map<string, TestOutcome>();
  const record = (id: string, outcome: TestOutcome): void => {
    const before = outcomes.get(id);
    if (before === "failed" || before === "error") return;
    outcomes.set(id, outcome);
  };
  for (const raw of output.split(/\r?\n/)) {
    const line = raw.replace(ANSI, "").trimEnd().replace(XDIST_PREFIX, "");
    const short = SHORT.exec(line);
    if (short) {
      const id = short[1] === "PASSED" ? short[2]! : idBeforeMessage(short[2]!);
      if (id) record(id, STATUS[short[1]!]!);
      continue;
    }
    const verbose = VERBOSE.exec(line);
    if (verbose) record(verbose[1]!, STATUS[verbose[2]!]!);
  }
  return outcomes;
}

/**
 * `<id> - <message>` → `<id>`. The separator is the first " - " outside brackets, so a
 * parametrised id such as `test_sub[3 - 1]` stays whole.
 */
function idBeforeMessage(rest: string): string {
  let depth = 0;
  for (let i = 0; i < rest.length; i++) {
    const c = rest[i];
    if (c === "[") depth++;
    else if (c === "]") depth = Math.max(0, depth - 1);
    else if (depth === 0 && rest.startsWith(" - ", i)) return rest.slice(0, i);
  }
  return rest.trim();
}
