// The nightly job end to end (issue 14): `hcc nightly` on a copy of a generated warehouse, with
// its per-stage times (--timings), the slowest dbt nodes, peak RSS, load average, machine and
// commit. bench/README.md "The nightly job (nightly-bench.js)".
//
//   npm run bench:nightly                                   # 1,000,000 members; ≈ 25 s to generate, then the runs
//   node bench/nightly-bench.js --db /data/pristine.duckdb  # reuse a generated warehouse (copied, never changed)
//   node bench/nightly-bench.js --runs 2                    # a second nightly on the same copy: seeds already loaded
//   node bench/nightly-bench.js --smoke                     # 2,000 members, one run, writes nothing (CI)
//
// Options: --members N (1000000), --seed S (7), --db FILE, --runs N (1), --dbt-threads N
// (HCC_DBT_THREADS for dbt/profiles.yml), --dbt-compression auto|uncompressed (HCC_DBT_COMPRESSION),
// --dbt-storage parquet|table (HCC_DBT_STORAGE: dbt's table models as Parquet files + views, or tables),
// --work DIR (temp dir), --keep, --baseline DIR (another built checkout: each run of this build is
// paired with a run of that one on its own copy of the warehouse, in alternating order, and the
// pairs' ratios are printed — on a machine whose speed drifts only pairs compare two builds).
import { spawnSync } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import os from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { environment, gitState, writeResult } from "./record.js";
import { formatStageTable } from "../dist/cli/stage-times.js";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");
const BIN = join(ROOT, "bin", "hcc.js");
const TIME = "/usr/bin/time";

function parseArgs(argv) {
  const o = { members: 1_000_000, seed: 7, runs: 1, smoke: false, keep: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const next = () => argv[++i];
    if (a === "--smoke") o.smoke = true;
    else if (a === "--keep") o.keep = true;
    else if (a === "--members") o.members = Number(next());
    else if (a === "--seed") o.seed = Number(next());
    else if (a === "--runs") o.runs = Number(next());
    else if (a === "--db") o.db = resolve(next());
    else if (a === "--work") o.work = resolve(next());
    else if (a === "--dbt-threads") o.dbtThreads = next();
    else if (a === "--dbt-compression") o.dbtCompression = next();
    else if (a === "--dbt-storage") o.dbtStorage = next();
    else if (a === "--baseline") o.baseline = resolve(next());
    else throw new Error(`nightly-bench: unknown option ${a}`);
  }
  if (o.smoke) {
    o.members = 2000;
    o.runs = 1;
  }
  return o;
}

/** Runs `node args` (under /usr/bin/time -v when there is one); wall seconds and peak RSS (KiB) of the largest process. */
function runTimed(args, env, log) {
  const timed = existsSync(TIME);
  const cmd = timed ? TIME : process.execPath;
  const argv = timed ? ["-v", process.execPath, ...args] : args;
  const t0 = performance.now();
  const r = spawnSync(cmd, argv, { env: { ...process.env, ...env }, encoding: "utf8", maxBuffer: 1 << 28 });
  const seconds = (performance.now() - t0) / 1000;
  const stderr = String(r.stderr ?? "");
  if (log) process.stderr.write(stderr.split("\n\tCommand being timed")[0] + "\n");
  if (r.status !== 0) {
    throw new Error(`nightly-bench: ${args.slice(0, 2).join(" ")} failed (exit ${r.status})\n${stderr.slice(-3000)}`);
  }
  const rss = /Maximum resident set size \(kbytes\): (\d+)/.exec(stderr);
  // CPU of the process and its waited-for children (dbt, DuckDB's threads): less noisy than wall time
  const user = /User time \(seconds\): ([\d.]+)/.exec(stderr);
  const sys = /System time \(seconds\): ([\d.]+)/.exec(stderr);
  const cpu_seconds = user && sys ? Number(user[1]) + Number(sys[1]) : null;
  return { seconds, peak_rss_kib: rss ? Number(rss[1]) : null, cpu_seconds };
}

const gib = (kib) => (kib === null ? "n/a" : `${(kib / 2 ** 20).toFixed(2)} GiB`);

function printRun(i, run) {
  const t = run.timings;
  console.log(
    `\nrun ${i + 1}: seeds ${t.seeds_skipped ? "not reloaded (unchanged)" : "loaded"}; unit tests ${t.unit_tests_skipped ? "not rerun (project unchanged)" : "run"}; load average before ${run.load_before.map((x) => x.toFixed(2)).join(" ")}`,
  );
  process.stdout.write(formatStageTable(t.stages, t.dbt));
  if (t.dbt) {
    const d = t.dbt;
    console.log("  20 slowest dbt nodes (execution_time, s; nodes overlap across threads):");
    for (const n of [...d.nodes].sort((a, b) => b.execution_time - a.execution_time).slice(0, 20))
      console.log(`    ${n.execution_time.toFixed(2).padStart(7)}  ${n.unique_id}`);
  }
  const cpu = run.cpu_seconds === null ? "" : `, CPU ${run.cpu_seconds.toFixed(1)} s`;
  console.log(`  whole process ${run.seconds.toFixed(1)} s${cpu}, peak RSS (largest process) ${gib(run.peak_rss_kib)}`);
}

const o = parseArgs(process.argv.slice(2));
const work = o.work ?? mkdtempSync(join(os.tmpdir(), "hcc-nightly-bench-"));
mkdirSync(work, { recursive: true });
const env0 = environment();
console.log(
  `nightly bench: ${o.db ? `warehouse ${o.db}` : `${o.members.toLocaleString("en-US")} members (seed ${o.seed})`}, ${o.runs} run(s); ` +
    `${env0.cpu}, ${env0.cores} cores, Node ${env0.node}, commit ${env0.commit}${env0.dirty ? " (dirty)" : ""}; load ${env0.load_average.map((x) => x.toFixed(2)).join(" ")}`,
);
let generate = null;
let pristine = o.db;
try {
  if (!pristine) {
    pristine = join(work, `pristine-${o.members}.duckdb`);
    const g = runTimed(
      ["--single-threaded-gc", BIN, "generate", "--members", String(o.members), "--seed", String(o.seed), "--out", pristine],
      {},
      false,
    );
    generate = { ...g, members: o.members, seed: o.seed };
    console.log(`generated ${pristine} in ${g.seconds.toFixed(1)} s`);
  }
  const builds = [{ name: "current", bin: BIN, copy: join(work, "nightly.duckdb") }];
  if (o.baseline) {
    const bin = join(o.baseline, "bin", "hcc.js");
    if (!existsSync(join(o.baseline, "dist", "cli", "main.js")))
      throw new Error(`--baseline ${o.baseline}: no built checkout there (dist/cli/main.js missing; run npm run build in it)`);
    mkdirSync(join(work, "baseline"), { recursive: true });
    builds.push({ name: "baseline", bin, copy: join(work, "baseline", "nightly.duckdb"), commit: gitState(o.baseline).commit });
  }
  for (const b of builds) {
    for (const p of [b.copy, `${b.copy}.dbt`, `${b.copy}.results`]) rmSync(p, { recursive: true, force: true });
    copyFileSync(pristine, b.copy);
  }
  const copy = builds[0].copy;
  const runs = [];
  for (let i = 0; i < o.runs; i++) {
    // alternate which build goes first, so a drift in the machine's speed hits both alike
    for (const b of i % 2 === 0 ? builds : [...builds].reverse()) {
      const timingsFile = join(work, `timings-${b.name}-${i + 1}.json`);
      const load_before = os.loadavg();
      const env = {
        ...(o.dbtThreads ? { HCC_DBT_THREADS: o.dbtThreads } : {}),
        ...(o.dbtCompression ? { HCC_DBT_COMPRESSION: o.dbtCompression } : {}),
        ...(o.dbtStorage ? { HCC_DBT_STORAGE: o.dbtStorage } : {}),
      };
      const r = runTimed(
        ["--single-threaded-gc", b.bin, "nightly", "--db", b.copy, "--timings", timingsFile, "--quiet"],
        env,
        false,
      );
      const run = {
        build: b.name,
        run: i + 1,
        ...r,
        load_before,
        load_after: os.loadavg(),
        timings: JSON.parse(readFileSync(timingsFile, "utf8")),
      };
      runs.push(run);
      if (builds.length > 1) console.log(`\n[${b.name}${b.commit ? ` ${b.commit}` : ""}]`);
      printRun(i, run);
    }
  }
  const stageOf = (run, name) => run.timings.stages.find((st) => st.stage === name)?.seconds ?? NaN;
  const pairs = [];
  if (builds.length > 1) {
    console.log(`\ncurrent / baseline (${builds[1].commit}), per run:`);
    for (let i = 1; i <= o.runs; i++) {
      const a = runs.find((r) => r.run === i && r.build === "current");
      const b = runs.find((r) => r.run === i && r.build === "baseline");
      const pair = {
        run: i,
        total: [stageOf(a, "total"), stageOf(b, "total")],
        dbt_build: [stageOf(a, "dbt build"), stageOf(b, "dbt build")],
        score: [stageOf(a, "score"), stageOf(b, "score")],
        cpu_seconds: [a.cpu_seconds, b.cpu_seconds],
      };
      pairs.push(pair);
      console.log(
        `  run ${i}: total ${pair.total[0].toFixed(1)} / ${pair.total[1].toFixed(1)} s (${(pair.total[0] / pair.total[1]).toFixed(3)}); ` +
          `dbt build ${pair.dbt_build[0].toFixed(1)} / ${pair.dbt_build[1].toFixed(1)} s; score ${pair.score[0].toFixed(1)} / ${pair.score[1].toFixed(1)} s` +
          (a.cpu_seconds !== null && b.cpu_seconds !== null
            ? `; CPU ${a.cpu_seconds.toFixed(1)} / ${b.cpu_seconds.toFixed(1)} s`
            : ""),
      );
    }
    console.log(`  current faster in ${pairs.filter((p) => p.total[0] < p.total[1]).length} of ${pairs.length} runs (total)`);
  }
  if (!o.smoke) {
    const out = writeResult(
      "nightly",
      (o.dbtThreads ? `-threads${o.dbtThreads}` : "") +
        (o.dbtCompression ? `-${o.dbtCompression}` : "") +
        (o.dbtStorage ? `-${o.dbtStorage}` : ""),
      {
        members: o.db ? null : o.members,
        warehouse: o.db ?? null,
        dbt_threads: o.dbtThreads ?? "profile default",
        dbt_compression: o.dbtCompression ?? "auto",
        dbt_storage: o.dbtStorage ?? "parquet",
        // the warehouse file after the last run (uncompressed dbt tables make it several times larger)
        warehouse_bytes: statSync(copy).size,
        ...(builds[1] ? { baseline: { dir: o.baseline, commit: builds[1].commit }, pairs } : {}),
        generate,
        runs,
      },
      env0,
    ); // the commit and load as the runs began
    console.log(`\nwrote ${out}`);
  }
} finally {
  if (!o.keep && !o.work) rmSync(work, { recursive: true, force: true });
}
