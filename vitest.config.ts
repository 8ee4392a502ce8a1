import { tmpdir } from "node:os";
import { join } from "node:path";
import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["tests/**/*.test.ts"],
    globalSetup: ["tests/global-setup.ts"],
    setupFiles: ["tests/setup.ts"],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // CLI tests spawn real processes; two cores here, so keep files to a couple of workers.
    maxWorkers: 2,
    // One trainer venv for every test project (made by the global setup, reused across runs
    // while trainer/requirements.txt is unchanged), instead of one per temp project.
    env: { SABUILD_VENV: process.env.SABUILD_VENV ?? join(tmpdir(), "sabuild-test-trainer-venv"), HF_HUB_OFFLINE: "1" },
  },
});
