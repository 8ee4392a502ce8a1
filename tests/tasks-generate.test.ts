import { describe, expect, it } from "vitest";
import { BudgetExceededError } from "../src/llm/types.js";
import { err, ok } from "../src/result.js";
import { estimateJaccard, exactJaccard, minhash, NearDuplicateIndex, shingles } from "../src/tasks/minhash.js";
import { parseTextList, parseVerdicts } from "../src/tasks/parse.js";
import { expandTopicTree, spreadOrder } from "../src/tasks/topic-tree.js";
import { cleanTaskText, contentStems, rejectTask } from "../src/tasks/validate.js";

const PAIRS: [string, string][] = [
  [
    "Run the unit tests in tests/test_api.py and summarize every failure with its traceback",
    "Run the unit tests in tests/test_api.py and summarize each failure with its traceback",
  ],
  [
    "Find where the retry logic for HTTP requests lives and explain how backoff is computed",
    "Find where the retry logic for HTTP requests lives and describe how the backoff delay is computed",
  ],
  [
    "Add a changelog entry for the new --json flag of the status command",
    "Write release notes for version 2.0 from the commits since the last tag",
  ],
  [
    "List every TODO comment in src/ with its file and line number, grouped by directory",
    "List every FIXME comment in src/ with its file and line number, grouped by author",
  ],
  ["Explain the build failure in CI", "Explain the build failure in CI"],
];

describe("MinHash", () => {
  it("estimates the Jaccard similarity of word-bigram sets closely", () => {
    const errors = PAIRS.map(([a, b]) => {
      const exact = exactJaccard(shingles(a), shingles(b));
      const estimate = estimateJaccard(minhash(shingles(a)), minhash(shingles(b)));
      expect(Math.abs(estimate - exact), `${a} / ${b}: exact ${exact}, estimate ${estimate}`).toBeLessThan(0.12);
      return Math.abs(estimate - exact);
    });
    expect(errors.reduce((s, e) => s + e, 0) / errors.length).toBeLessThan(0.06);
    // The estimate is the fraction of equal slots: 1 for identical texts, about 0 for unrelated ones.
    expect(estimateJaccard(minhash(shingles(PAIRS[4]![0])), minhash(shingles(PAIRS[4]![1])))).toBe(1);
    expect(estimateJaccard(minhash(shingles(PAIRS[2]![0])), minhash(shingles(PAIRS[2]![1])))).toBeLessThan(0.1);
  });

  it("drops near-duplicates at the threshold and keeps distinct tasks", () => {
    const long = "Read the pytest output in the last CI log, find the first failing test, open its source file and explain in two sentences why it fails";
    const oneWordChanged = long.replace("first failing", "earliest failing");
    const reworded = "Open the most recent CI log and tell me which test broke first and why";
    expect(exactJaccard(shingles(long), shingles(oneWordChanged))).toBeGreaterThan(0.85);
    expect(exactJaccard(shingles(long), shingles(reworded))).toBeLessThan(0.2);

    const index = new NearDuplicateIndex(0.8);
    index.add(long);
    expect(index.find(oneWordChanged)).toMatchObject({ of: long });
    expect(index.find(oneWordChanged)!.similarity).toBeGreaterThanOrEqual(0.8);
    expect(index.find(reworded)).toBeUndefined();
    // Case, spacing and punctuation do not make a task new.
    expect(index.find(`  ${long.toUpperCase()}!`)).toEqual({ of: long, similarity: 1 });
    // A stricter threshold keeps the one-word variant; a looser one drops more.
    expect(new NearDuplicateIndex(0.99).find(oneWordChanged)).toBeUndefined();
    const loose = new NearDuplicateIndex(0.5);
    loose.add(PAIRS[0]![0]);
    expect(exactJaccard(shingles(PAIRS[0]![0]), shingles(PAIRS[0]![1]))).toBeCloseTo(0.71, 2);
    expect(loose.find(PAIRS[0]![1])).toBeDefined();
    expect(loose.find(PAIRS[2]![0])).toBeUndefined();
  });
});

describe("reading lists out of model replies", () => {
  it("accepts plain, fenced and embedded JSON lists, and objects holding one", () => {
    expect(parseTextList('["a task", "another task"]')).toEqual(ok(["a task", "another task"]));
    expect(parseTextList('```json\n["fenced one", "fenced two"]\n```')).toEqual(ok(["fenced one", "fenced two"]));
    expect(parseTextList('Here are the subtopics:\n```\n["x y", "z w",]\n```\nHope this helps!')).toEqual(ok(["x y", "z w"]));
    expect(parseTextList('Sure! ["inline [brackets] inside", "second"] as asked.')).toEqual(ok(["inline [brackets] inside", "second"]));
    expect(parseTextList('{"tasks": [{"prompt": "obj one"}, {"task": "obj two"}]}')).toEqual(ok(["obj one", "obj two"]));
    expect(parseTextList('<think>maybe ["not this"]</think>["this"]')).toEqual(ok(["this"]));
  });

  it("accepts numbered and bulleted lists", () => {
    const reply = "Subtopics:\n1. **Flaky tests**: ones that fail sometimes\n2) Slow suites\n- \"Coverage gaps\"\n\nThat's all.";
    expect(parseTextList(reply)).toEqual(ok(["Flaky tests: ones that fail sometimes", "Slow suites", "Coverage gaps"]));
  });

  it("returns an error value for a reply with no list", () => {
    expect(parseTextList("I cannot help with that.")).toEqual(err('no JSON list or numbered list in the reply: "I cannot help with that."'));
    expect(parseTextList("")).toEqual(err("the reply is empty"));
    expect(parseTextList("[]").ok).toBe(false);
  });

  it("reads yes/no verdicts and checks their number", () => {
    expect(parseVerdicts("[true, false, true]", 3)).toEqual(ok([true, false, true]));
    expect(parseVerdicts('```json\n["yes", "No"]\n```', 2)).toEqual(ok([true, false]));
    expect(parseVerdicts("1. yes\n2. no", 2)).toEqual(ok([true, false]));
    expect(parseVerdicts("[true]", 2)).toEqual(err("1 verdicts for 2 tasks"));
    expect(parseVerdicts('["maybe"]', 1).ok).toBe(false);
  });
});

describe("validation of generated tasks", () => {
  const scope = contentStems("test-runner: runs the test suite, reads failures and explains them. Tools: Bash, Read. pytest tests/test_api.py");
  it("keeps sensible in-scope tasks and says why others go", () => {
    expect(rejectTask("Run the API tests and explain the first failure.", scope)).toBeUndefined();
    expect(rejectTask("", scope)).toBe("empty");
    expect(rejectTask("Run tests", scope)).toBe("too short");
    expect(rejectTask(`Explain the failing test ${"in detail ".repeat(300)}`, scope)).toBe("too long");
    expect(rejectTask("Here are five tasks for the test runner:", scope)).toBe("not a task");
    expect(rejectTask("Fix the failing test in [insert file name here]", scope)).toBe("placeholder");
    expect(rejectTask("Write a sonnet about autumn leaves and love", scope)).toBe("out of scope");
    expect(cleanTaskText('Task 3: "Rerun the flaky tests"')).toBe("Rerun the flaky tests");
  });
});

describe("topic tree", () => {
  it("of depth 2 and degree 3 asks 1 + 3 requests and has 9 leaves in tree order", async () => {
    const asked: string[][] = [];
    const tree = await expandTopicTree({
      depth: 2,
      degree: 3,
      ask: async (path) => {
        asked.push([...path]);
        // One extra and one repeated item: the tree keeps `degree` distinct ones.
        const base = path.length ? path.at(-1)! : "root";
        return ok([`${base}.a`, `${base}.a`, `${base}.b`, `${base}.c`, `${base}.d`]);
      },
    });
    expect(tree.requests).toBe(4);
    expect(asked).toEqual([[], ["root.a"], ["root.b"], ["root.c"]]);
    expect(tree.leaves.map((l) => l.path.join(" > "))).toEqual([
      "root.a > root.a.a", "root.a > root.a.b", "root.a > root.a.c",
      "root.b > root.b.a", "root.b > root.b.b", "root.b > root.b.c",
      "root.c > root.c.a", "root.c > root.c.b", "root.c > root.c.c",
    ]);
    expect(tree.warnings).toEqual([]);
    // A prefix of the spread order covers every top-level topic.
    expect(spreadOrder(tree.leaves).slice(0, 3).map((l) => l.path[0])).toEqual(["root.a", "root.b", "root.c"]);
  });

  it("keeps a node whose reply is malformed as a leaf, with a warning", async () => {
    const tree = await expandTopicTree({
      depth: 2,
      degree: 2,
      ask: async (path) => (path[0] === "b" ? parseTextList("Sorry, no.") : ok(path.length ? [`${path[0]}1`, `${path[0]}2`] : ["a", "b"])),
    });
    expect(tree.leaves.map((l) => l.path)).toEqual([["a", "a1"], ["a", "a2"], ["b"]]);
    expect(tree.warnings).toEqual(['topic "b": could not read subtopics (no JSON list or numbered list in the reply: "Sorry, no."); kept as a leaf']);
  });

  it("stops at a spent budget and keeps what it has", async () => {
    let n = 0;
    const tree = await expandTopicTree({
      depth: 3,
      degree: 2,
      ask: async () => {
        if (++n > 1) throw new BudgetExceededError("tasks.budget.tokens of 10 reached");
        return ok(["x", "y"]);
      },
    });
    expect(tree.stopped).toBe("tasks.budget.tokens of 10 reached");
    expect(tree.leaves.map((l) => l.path)).toEqual([["x"], ["y"]]);
  });
});
