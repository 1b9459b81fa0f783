// Node options for the scoring workers: the parent's, plus `--conditions=module`. apache-arrow
// imports tslib, whose "import" export for Node is an ES module wrapping a CommonJS file; every
// thread then runs Node's CommonJS export lexer over that file, hot enough for V8 to optimize the
// lexer itself — on a 2-core machine that compile work runs beside the workers while they start.
// Under the "module" condition tslib resolves to its plain ES module build (the same functions).
// 300k member records, whole process: NDJSON 1.88 → 1.80 s, CSV 1.68 → 1.62 s (bench/README.md#session-15).
import { Piscina } from "piscina";

/**
 * V8 options that Node also takes in NODE_OPTIONS (so process.allowedNodeEnvironmentFlags lists
 * them) but a worker's execArgv refuses; V8 options apply to every thread anyway.
 */
const V8_OPTIONS = new Set([
  "--abort-on-uncaught-exception",
  "--disallow-code-generation-from-strings",
  "--enable-etw-stack-walking",
  "--expose-gc",
  "--huge-max-old-generation-size",
  "--interpreted-frames-native-stack",
  "--jitless",
  "--max-old-space-size",
  "--max-semi-space-size",
  "--perf-basic-prof-only-functions",
  "--perf-basic-prof",
  "--perf-prof-unwinding-info",
  "--perf-prof",
  "--stack-trace-limit",
]);

/** The parent's options a worker takes (Node's per-thread ones, a value after its flag), plus ours. */
export function workerExecArgv(parent: readonly string[] = process.execArgv): string[] {
  const allowed = process.allowedNodeEnvironmentFlags;
  const kept: string[] = [];
  let keptFlag = false;
  for (const a of parent) {
    if (!a.startsWith("-")) {
      if (keptFlag) kept.push(a); // the value of the flag before it (`--import x.mjs`)
      continue;
    }
    const name = a.split("=")[0]!;
    keptFlag = /^--(cpu|heap)-prof/.test(name) || (allowed.has(name) && !V8_OPTIONS.has(name));
    if (keptFlag) kept.push(a);
  }
  return [...kept, "--conditions=module"];
}

/**
 * A pool whose workers run with workerExecArgv(); when Node refuses those options (a parent option
 * this filter lets through by mistake), the pool inherits the parent's options as before.
 */
export function newScoringPool(options: NonNullable<ConstructorParameters<typeof Piscina>[0]>): Piscina {
  try {
    return new Piscina({ ...options, execArgv: workerExecArgv() });
  } catch (e) {
    if ((e as { code?: unknown }).code !== "ERR_WORKER_INVALID_EXEC_ARGV") throw e;
    return new Piscina(options);
  }
}
