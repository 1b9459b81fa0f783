// Shared by the benchmarks that record their runs: the machine and commit a result was measured
// on, and the results file it goes to (bench/results/<name>-<date>-<commit>[-dirty]<suffix>.json).
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import os from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");

/**
 * The git commit (short) of this checkout, or of another at `root` (a --baseline), and whether
 * tracked files differ from it; "unknown" outside a checkout.
 */
export function gitState(root = ROOT) {
  try {
    const commit = execFileSync("git", ["rev-parse", "--short", "HEAD"], { cwd: root, encoding: "utf8" }).trim();
    const dirty =
      execFileSync("git", ["status", "--porcelain", "--untracked-files=no"], { cwd: root, encoding: "utf8" }).trim() !== "";
    return { commit, dirty };
  } catch {
    return { commit: "unknown", dirty: null };
  }
}

/** The machine, Node and load the run saw. */
export function environment() {
  return {
    node: process.version,
    cpu: os.cpus()[0]?.model,
    cores: os.cpus().length,
    total_memory_gib: os.totalmem() / 2 ** 30,
    ...gitState(),
    exec_argv: process.execArgv,
    load_average: os.loadavg(),
    date: new Date().toISOString(),
  };
}

/** Write `result` (with `environment`, by default as it is now) to bench/results; returns the file. */
export function writeResult(name, suffix, result, env = environment()) {
  const base = join(
    ROOT,
    "bench",
    "results",
    `${name}-${env.date.slice(0, 10)}-${env.commit}${env.dirty ? "-dirty" : ""}${suffix}`,
  );
  // a second run of the same benchmark at the same commit on the same day (another size, another
  // warehouse) gets -2, -3, …: a result already written is never overwritten
  let out = `${base}.json`;
  for (let k = 2; existsSync(out); k++) out = `${base}-${k}.json`;
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, JSON.stringify({ benchmark: name, environment: env, ...result }, null, 1) + "\n");
  return out;
}
