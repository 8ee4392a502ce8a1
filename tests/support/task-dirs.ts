/** Task directories as their datasets write them: the importers' tests and `tasks check` build projects from these. */

export const HARBOR_TOML = [
  'version = "1.0"',
  "[metadata]",
  'difficulty = "easy"',
  'tags = ["files", "bash"]',
  "[agent]",
  "timeout_sec = 300.0",
  "[verifier]",
  "timeout_sec = 120.0",
  "[environment]",
  "cpus = 2",
  "memory_mb = 4096",
  "allow_internet = true",
  "",
].join("\n");

/** A Harbor (Terminal-Bench 2) task directory under `dir`: its test.sh runs pytest, which the Debian image lacks. */
export const harborFiles = (dir: string, toml = HARBOR_TOML): Record<string, string> => ({
  [`${dir}/task.toml`]: toml,
  [`${dir}/instruction.md`]: "Write hello to /app/out.txt\n",
  [`${dir}/environment/Dockerfile`]: "FROM debian:bookworm-slim\nWORKDIR /app\n",
  [`${dir}/tests/test.sh`]: "#!/bin/bash\npytest /tests/test_out.py && echo 1 > /logs/verifier/reward.txt\n",
  [`${dir}/tests/test_out.py`]: "def test_out(): assert open('/app/out.txt').read() == 'hello\\n'\n",
  [`${dir}/solution/solve.sh`]: "echo hello > /app/out.txt\n",
});

/** A Terminal-Bench 1 task directory under `dir`. */
export const tb1Files = (dir: string): Record<string, string> => ({
  [`${dir}/task.yaml`]: "instruction: |-\n  Count the lines of /data/in.txt\ndifficulty: medium\ntags: [counting]\nmax_agent_timeout_sec: 180\nmax_test_timeout_sec: 30\n",
  [`${dir}/Dockerfile`]: "FROM debian:bookworm-slim\n",
  [`${dir}/run-tests.sh`]: "#!/bin/bash\npytest $TEST_DIR/test_outputs.py\n",
  [`${dir}/tests/test_outputs.py`]: "def test_count(): pass\n",
  [`${dir}/solution.sh`]: "wc -l /data/in.txt > /app/count\n",
});
