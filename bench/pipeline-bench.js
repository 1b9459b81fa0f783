// End-to-end pipeline benchmark: a generated cohort in the embedded DuckDB warehouse (setup,
// untimed) scored back into the warehouse through the worker pool, once per worker count.
// Each worker count runs in its own Node process (same flags), so peak RSS is that run's.
// Prints wall time, members/s, peak RSS and per-stage seconds; writes
// bench/results/pipeline-<date>-<commit>-<members>….json (not with --smoke).
//
//   node --single-threaded-gc bench/pipeline-bench.js [--members N] [--workers 1,2,4] [--smoke]
//        [--no-factors] [--keep DIR] [--results-storage parquet|table] [--batch-size N]
//        [--part-compression none|snappy|lz4_raw|zstd] [--duckdb-threads N]
//        [--repeat N] [--baseline DIR]
//
// --repeat N runs each worker count N times and prints the median and range. --baseline DIR is
// another checkout of this project with its own build (e.g. `git worktree add DIR <commit>`, then
// `npm run build` there): every run of this build is paired with a run of that one on the same
// warehouse, in alternating order (A B, B A, …), so a machine whose speed drifts within minutes
// still gives a fair comparison; it prints each pair and how many the current build won.
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import { join, resolve } from "node:path";
import { DuckDBInstance } from "@duckdb/node-api";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { generateWarehouse } from "../dist/cli/generate.js";
import { openSink, openSource } from "../dist/io/open.js";
import { runScoring } from "../dist/pipeline/score-run.js";
import { defaultDataDir } from "../dist/data/load.js";
import { gitState, writeResult } from "./record.js";

const { values: args } = parseArgs({
  options: {
    members: { type: "string" },
    workers: { type: "string", default: "1,2" },
    smoke: { type: "boolean", default: false },
    "no-factors": { type: "boolean", default: false },
    keep: { type: "string" },
    "results-storage": { type: "string" },
    "batch-size": { type: "string" },
    "part-compression": { type: "string" },
    "duckdb-threads": { type: "string" },
    repeat: { type: "string", default: "1" },
    baseline: { type: "string" },
    // internal: score the warehouse at this path once with --workers N and print the run as JSON
    child: { type: "string" },
  },
});
const members = Number(args.members ?? (args.smoke ? "20000" : "1000000"));
const factors = !args["no-factors"];
const workerCounts = args.workers.split(",").map((w) => {
  if (!/^\d+$/.test(w.trim()) || Number(w) < 1) throw new Error(`--workers: '${w}' is not a positive whole number`);
  return Number(w);
});
if (!/^\d+$/.test(args.repeat) || Number(args.repeat) < 1)
  throw new Error(`--repeat: '${args.repeat}' is not a positive whole number`);
const repeat = Number(args.repeat);
const baselineScript = args.baseline ? join(resolve(args.baseline), "bench", "pipeline-bench.js") : null;
if (baselineScript && !existsSync(join(resolve(args.baseline), "dist", "pipeline", "score-run.js")))
  throw new Error(
    `--baseline ${args.baseline}: no built checkout there (dist/pipeline/score-run.js missing; run npm run build in it)`,
  );

/** One scoring run in this process; the summary with this process's peak RSS. */
async function scoreOnce(db, workers) {
  if (args["duckdb-threads"]) {
    // the source and sink open the warehouse through DuckDB's instance cache: set it up first
    const c = await (await DuckDBInstance.fromCache(resolve(db))).connect();
    await c.run(`SET threads = ${Number(args["duckdb-threads"])}`);
    c.closeSync();
  }
  const source = await openSource(db);
  const sink = await openSink(db, args["results-storage"] ? { resultStorage: args["results-storage"] } : {});
  const c0 = process.cpuUsage();
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
    ...(args["part-compression"] ? { partCompression: args["part-compression"] } : {}),
  });
  await source.close();
  const wall = (performance.now() - t) / 1000;
  const cpu = process.cpuUsage(c0);
  return {
    workers,
    members: s.membersIn,
    factor_rows: s.factorRows,
    wall_seconds: wall,
    members_per_second: s.membersIn / wall,
    // every thread of the process (main, workers, DuckDB): less sensitive to a busy machine
    cpu_seconds: (cpu.user + cpu.system) / 1e6,
    stage_seconds: s.stageSeconds,
    peak_rss_mib: process.resourceUsage().maxRSS / 1024,
    load_average: os.loadavg(),
  };
}

if (args.child) {
  process.stdout.write(JSON.stringify(await scoreOnce(args.child, workerCounts[0])) + "\n");
  process.exit(0);
}

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

const passOn = ["members", "results-storage", "batch-size", "part-compression", "duckdb-threads"].flatMap((k) =>
  args[k] ? [`--${k}`, args[k]] : [],
);
if (!factors) passOn.push("--no-factors");
const builds = [{ name: "current", script: fileURLToPath(import.meta.url) }];
if (baselineScript) builds.push({ name: "baseline", script: baselineScript, commit: gitState(resolve(args.baseline)).commit });

/** One child run of `build` with `workers` workers, printed as it ends. */
function child(build, workers) {
  const out = execFileSync(
    process.execPath,
    [...process.execArgv, build.script, ...passOn, "--workers", String(workers), "--child", db],
    {
      encoding: "utf8",
      stdio: ["ignore", "pipe", "inherit"],
    },
  );
  const r = { build: build.name, ...JSON.parse(out.trim().split("\n").pop()) };
  const st = r.stage_seconds;
  console.log(
    `${builds.length > 1 ? `${build.name.padEnd(8)} ` : ""}${workers} worker(s): ${r.wall_seconds.toFixed(2)} s, ${Math.round(r.members_per_second).toLocaleString("en-US")} members/s; ` +
      `read ${st.read.toFixed(2)} s, kernel ${st.kernel.toFixed(2)} s, encode ${st.encode.toFixed(2)} s, write ${st.write.toFixed(2)} s; ` +
      `CPU ${r.cpu_seconds.toFixed(2)} s; peak RSS ${Math.round(r.peak_rss_mib)} MiB; load ${r.load_average.map((l) => l.toFixed(2)).join(" ")}`,
  );
  return r;
}

const runs = [];
for (let k = 0; k < repeat; k++) {
  for (const workers of workerCounts) {
    // alternate which build goes first, so a drift in the machine's speed hits both alike
    const order = k % 2 === 0 ? builds : [...builds].reverse();
    for (const b of order) runs.push({ repetition: k, ...child(b, workers) });
  }
}

const median = (xs) => {
  const v = [...xs].sort((a, b) => a - b);
  return v.length % 2 ? v[(v.length - 1) / 2] : (v[v.length / 2 - 1] + v[v.length / 2]) / 2;
};
const summary = [];
for (const workers of workerCounts) {
  for (const b of builds) {
    const mine = runs.filter((r) => r.workers === workers && r.build === b.name);
    const walls = mine.map((r) => r.wall_seconds);
    const s = {
      build: b.name,
      workers,
      runs: mine.length,
      median_wall_seconds: median(walls),
      min_wall_seconds: Math.min(...walls),
      max_wall_seconds: Math.max(...walls),
      median_cpu_seconds: median(mine.map((r) => r.cpu_seconds)),
      median_kernel_seconds: median(mine.map((r) => r.stage_seconds.kernel)),
    };
    summary.push(s);
    if (repeat > 1 || builds.length > 1)
      console.log(
        `${b.name} ${workers} worker(s), ${s.runs} runs: median ${s.median_wall_seconds.toFixed(2)} s (${s.min_wall_seconds.toFixed(2)}–${s.max_wall_seconds.toFixed(2)}), ` +
          `${Math.round(members / s.median_wall_seconds).toLocaleString("en-US")} members/s; median CPU ${s.median_cpu_seconds.toFixed(2)} s, kernel ${s.median_kernel_seconds.toFixed(2)} s`,
      );
  }
  if (builds.length > 1) {
    const pairs = [];
    for (let k = 0; k < repeat; k++) {
      const at = (name) => runs.find((r) => r.repetition === k && r.workers === workers && r.build === name);
      pairs.push(at("current").wall_seconds / at("baseline").wall_seconds);
    }
    const won = pairs.filter((x) => x < 1).length;
    console.log(
      `${workers} worker(s): current / baseline (${builds[1].commit}) wall per pair ${pairs.map((x) => x.toFixed(3)).join(" ")}; ` +
        `median ${median(pairs).toFixed(3)}; current faster in ${won} of ${pairs.length}`,
    );
  }
}
const kernelOf = (w) => summary.find((x) => x.build === "current" && x.workers === w).median_kernel_seconds;
for (const w of workerCounts.slice(1)) {
  console.log(
    `kernel stage scaling ${workerCounts[0]} → ${w} workers: ${(kernelOf(workerCounts[0]) / Math.max(kernelOf(w), 1e-9)).toFixed(2)}×`,
  );
}

if (!args.smoke) {
  const out = writeResult(
    "pipeline",
    `-${members}${factors ? "" : "-no-factors"}${args["results-storage"] === "table" ? "-tables" : ""}` +
      (args["part-compression"] && args["part-compression"] !== "none" ? `-${args["part-compression"]}` : "") +
      (args["duckdb-threads"] ? `-duckdb${args["duckdb-threads"]}t` : ""),
    {
      config: {
        members,
        factors,
        payment_year: 2026,
        source: "duckdb long layout",
        sink: "duckdb",
        results_storage: args["results-storage"] ?? "parquet",
        batch_size: Number(args["batch-size"] ?? 16384),
        part_compression: args["part-compression"] ?? "none",
        duckdb_threads: args["duckdb-threads"] ? Number(args["duckdb-threads"]) : "default (cores)",
        workers: workerCounts,
        repeat,
        ...(builds[1] ? { baseline: { dir: resolve(args.baseline), commit: builds[1].commit } } : {}),
      },
      runs,
      summary,
    },
  );
  console.log(`wrote ${out}`);
}
if (!args.keep) rmSync(dir, { recursive: true, force: true });
