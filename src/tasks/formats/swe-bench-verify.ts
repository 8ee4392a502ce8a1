import type { Verifier } from "../../envs/types.js";
import { shellQuote } from "../../sandbox/shell.js";

export interface TestLists {
  fail_to_pass?: string[] | undefined;
  pass_to_pass?: string[] | undefined;
}

export const TEST_PATCH = "/tmp/sabuild/test.patch";

/**
 * SWE-bench's evaluation, as a verifier: put the instance's test files back as they were at
 * base_commit (the agent may have edited them, and the test patch would not apply), apply the
 * test patch, run pytest on the files the listed tests live in; the `tests` rule then reads
 * each FAIL_TO_PASS and PASS_TO_PASS id in pytest's -rA report.
 *
 * Only pytest-style ids (`path/test_x.py::test_y`, or a bare `.py` path) name files to run;
 * others (Django's `test_y (module.Class)`, sympy's bare names) are still judged by the rule,
 * but pytest then runs its default collection, which may not hold them.
 */
export function sweBenchVerifier(tests: TestLists, testPatch: string | undefined, baseCommit: string | undefined): Verifier {
  const ids = [...(tests.fail_to_pass ?? []), ...(tests.pass_to_pass ?? [])];
  const files = [...new Set(ids.flatMap((id) => {
    const file = id.split("::")[0]!;
    return id.includes("::") || file.endsWith(".py") ? [file] : [];
  }))];
  const steps: string[] = [];
  if (testPatch?.trim()) {
    const touched = [...new Set([...testPatch.matchAll(/^diff --git a\/.* b\/(.*)$/gm)].map((m) => m[1]!))];
    // A SWE-bench image holds the repository's history, so base_commit is there; the image of a
    // repository at a commit (src/sandbox/env-image.ts) holds the tree at base_commit as its one
    // commit of its own, HEAD. A file the patch adds is in neither: the agent's copy is removed
    // so the patch can create it.
    if (baseCommit && touched.length) steps.push(`for f in ${touched.map(shellQuote).join(" ")}; do git checkout ${shellQuote(baseCommit)} -- "$f" 2>/dev/null || git checkout HEAD -- "$f" 2>/dev/null || rm -f "$f"; done`);
    steps.push(`git apply -v ${TEST_PATCH}`);
  }
  // SWE-bench's harness runs `python`; an image with Debian's Python (the python-repo recipe) has only python3.
  steps.push(['"$(command -v python || command -v python3)" -m pytest -rA', ...files.map(shellQuote)].join(" "));
  return {
    command: steps.join(" && "),
    files: testPatch?.trim() ? [{ path: TEST_PATCH, content: testPatch, encoding: "utf8" }] : [],
    // SWE-bench's harness allows 1,800 s per instance; its slowest suites need most of it.
    timeout_s: 1800,
    success: { kind: "tests", fail_to_pass: tests.fail_to_pass ?? [], pass_to_pass: tests.pass_to_pass ?? [], log_format: "pytest" },
  };
}
