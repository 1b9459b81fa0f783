import { defineConfig } from "vitest/config";
import { NoSkipsInCiReporter } from "./tests/support/no-skips-in-ci.js";

export default defineConfig({
  test: {
    include: ["tests/**/*.test.ts"],
    testTimeout: 300_000,
    hookTimeout: 300_000,
    pool: "forks",
    // in CI a skipped test fails the run (tests/support/no-skips-in-ci.ts)
    reporters: ["default", new NoSkipsInCiReporter()],
    // `npm run coverage` (scripts/coverage.mjs) turns this on and adds the worker threads and
    // CLI subprocesses; this part is what runs inside the vitest forks.
    coverage: {
      provider: "v8",
      include: ["src/**/*.ts"],
      exclude: ["src/**/*.d.ts"],
      reporter: ["json"],
      reportsDirectory: "coverage/vitest",
      reportOnFailure: true,
    },
  },
});
