// The scoring pool's worker options (src/workers/exec-argv.ts): the parent's options a worker
// takes, plus the "module" condition under which apache-arrow's tslib loads as an ES module.
import { Worker } from "node:worker_threads";
import { describe, expect, it } from "vitest";
import { workerExecArgv } from "../../src/workers/exec-argv.js";

/** Whether a worker started with `execArgv` loads tslib's CommonJS file when tslib is imported. */
function loadsCommonJsTslib(execArgv: string[] | undefined): Promise<boolean> {
  const code = `const { parentPort } = require("node:worker_threads");
    import("tslib").then(() => parentPort.postMessage(Object.keys(require.cache).some((k) => k.endsWith("/tslib/tslib.js"))));`;
  return new Promise((resolve, reject) => {
    const w = new Worker(code, { eval: true, ...(execArgv ? { execArgv } : {}) });
    w.once("message", (m: boolean) => void w.terminate().then(() => resolve(m)));
    w.once("error", reject);
  });
}

describe("workerExecArgv", () => {
  it("keeps the parent's per-thread options and their values, drops V8 ones, adds the module condition", () => {
    const parent = [
      "--single-threaded-gc",
      "--max-old-space-size=4096",
      "--cpu-prof",
      "--import",
      "./hooks.mjs",
      "--enable-source-maps",
      "--conditions=custom",
      "--stack-trace-limit=50",
    ];
    expect(workerExecArgv(parent)).toEqual([
      "--cpu-prof",
      "--import",
      "./hooks.mjs",
      "--enable-source-maps",
      "--conditions=custom",
      "--conditions=module",
    ]);
  });

  it("a worker accepts them, and imports tslib's ES module build instead of its CommonJS file", async () => {
    expect(await loadsCommonJsTslib(undefined)).toBe(true);
    expect(await loadsCommonJsTslib(workerExecArgv(["--single-threaded-gc", "--max-old-space-size=4096"]))).toBe(false);
  });
});
