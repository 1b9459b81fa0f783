// End-to-end pipeline benchmark: a generated cohort in the embedded DuckDB warehouse (setup,
// untimed) scored back into the warehouse through the worker pool, with 1 and 2 workers.
// Prints wall time, members/s, peak RSS and per-stage seconds; writes
// bench/results/pipeline-<date>-<commit>.json (not with --smoke).
//
//   node bench/pipeline-bench.js [--members N] [--smoke] [--no-factors] [--keep DIR]
//                                [--results-storage parquet|table] [--batch-size N]
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { generateWarehouse } from "../dist/cli/generate.js";
import { openSink, openSource } from "../dist/io/open.js";
import { runScoring } from "../dist/pipeline/score-run.js";
import { defaultDataDir } from "../dist/data/load.js";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");
const { values: args } = parseArgs({
  options: {
    members: { type: "string" },
    smoke: { type: "boolean", default: false },
    "no-factors": { type: "boolean", default: false },
    keep: { type: "string" },
    "results-storage": { type: "string" },
    "batch-size": { type: "string" },
  },
});
const members = Number(args.members ?? (args.smoke ? "20000" : "1000000"));
const factors = !args["no-factors"];
const dir = args.keep ?? mkdtempSync(join(os.tmpdir(), "hcc-pipeline-bench-"));
mkdirSync(dir, { recursive: true });
const db = join(dir, `warehouse-${members}.duckdb`);

if (!existsSync(db)) {
  const t = performance.now();
  const g = await generateWarehouse({ members, seed: 7, out: db, paymentYear: 2026, layout: "long", dataDir: defaultDataDir() });
  console.log(
    `setup: generated ${members.toLocaleString("en-US")} members, ${g.dxRows.toLocaleString("en-US")} dx rows in ${((performance.now() - t) / 1000).toFixed(1)} s`,
  );
}

const runs = [];
for (const workers of [1, 2]) {
  const source = await openSource(db);
  const sink = await openSink(db, args["results-storage"] ? { resultStorage: args["results-storage"] } : {});
  const t = performance.now();
  const s = await runScoring({
    source,
    sink,
    paymentYear: 2026,
    models: [],
    mceEdits: true,
    rounding: "round3",
    workers,
    factors,
    ...(args["batch-size"] ? { batchSize: Number(args["batch-size"]) } : {}),
  });
  await source.close();
  const wall = (performance.now() - t) / 1000;
  const r = {
    workers,
    members: s.membersIn,
    factor_rows: s.factorRows,
    wall_seconds: wall,
    members_per_second: s.membersIn / wall,
    stage_seconds: s.stageSeconds,
    peak_rss_mib: process.resourceUsage().maxRSS / 1024,
  };
  runs.push(r);
  console.log(
    `${workers} worker(s): ${wall.toFixed(2)} s, ${Math.round(r.members_per_second).toLocaleString("en-US")} members/s; ` +
      `read ${s.stageSeconds.read.toFixed(2)} s, kernel ${s.stageSeconds.kernel.toFixed(2)} s, encode ${s.stageSeconds.encode.toFixed(2)} s, write ${s.stageSeconds.write.toFixed(2)} s; ` +
      `peak RSS ${Math.round(r.peak_rss_mib)} MiB`,
  );
}
const k1 = runs[0]?.stage_seconds.kernel ?? 0;
const k2 = runs[1]?.stage_seconds.kernel ?? 0;
console.log(`kernel stage scaling 1 → 2 workers: ${(k1 / Math.max(k2, 1e-9)).toFixed(2)}×`);

if (!args.smoke) {
  let commit = "unknown";
  let dirty = null;
  try {
    commit = execFileSync("git", ["rev-parse", "--short", "HEAD"], { cwd: ROOT, encoding: "utf8" }).trim();
    dirty = execFileSync("git", ["status", "--porcelain", "--untracked-files=no"], { cwd: ROOT, encoding: "utf8" }).trim() !== "";
  } catch {
    /* not a git checkout */
  }
  const out = join(
    ROOT,
    "bench",
    "results",
    `pipeline-${new Date().toISOString().slice(0, 10)}-${commit}${dirty ? "-dirty" : ""}-${members}${factors ? "" : "-no-factors"}${args["results-storage"] === "table" ? "-tables" : ""}.json`,
  );
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(
    out,
    JSON.stringify(
      {
        benchmark: "pipeline",
        environment: {
          node: process.version,
          cpu: os.cpus()[0]?.model,
          cores: os.cpus().length,
          total_memory_gib: os.totalmem() / 2 ** 30,
          commit,
          dirty,
          exec_argv: process.execArgv,
          load_average: os.loadavg(),
          date: new Date().toISOString(),
        },
        config: {
          members,
          factors,
          payment_year: 2026,
          source: "duckdb long layout",
          sink: "duckdb",
          results_storage: args["results-storage"] ?? "parquet",
          batch_size: Number(args["batch-size"] ?? 16384),
        },
        runs,
      },
      null,
      1,
    ) + "\n",
  );
  console.log(`wrote ${out}`);
}
if (!args.keep) rmSync(dir, { recursive: true, force: true });
