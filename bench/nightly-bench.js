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
// --work DIR (temp dir), --keep.
import { spawnSync } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import os from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { environment, writeResult } from "./record.js";
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
  return { seconds, peak_rss_kib: rss ? Number(rss[1]) : null };
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
  console.log(`  whole process ${run.seconds.toFixed(1)} s, peak RSS (largest process) ${gib(run.peak_rss_kib)}`);
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
  const copy = join(work, "nightly.duckdb");
  for (const p of [copy, `${copy}.dbt`, `${copy}.results`]) rmSync(p, { recursive: true, force: true });
  copyFileSync(pristine, copy);
  const runs = [];
  for (let i = 0; i < o.runs; i++) {
    const timingsFile = join(work, `timings-${i + 1}.json`);
    const load_before = os.loadavg();
    const env = {
      ...(o.dbtThreads ? { HCC_DBT_THREADS: o.dbtThreads } : {}),
      ...(o.dbtCompression ? { HCC_DBT_COMPRESSION: o.dbtCompression } : {}),
    };
    const r = runTimed(["--single-threaded-gc", BIN, "nightly", "--db", copy, "--timings", timingsFile, "--quiet"], env, false);
    const run = { ...r, load_before, load_after: os.loadavg(), timings: JSON.parse(readFileSync(timingsFile, "utf8")) };
    runs.push(run);
    printRun(i, run);
  }
  if (!o.smoke) {
    const out = writeResult(
      "nightly",
      (o.dbtThreads ? `-threads${o.dbtThreads}` : "") + (o.dbtCompression ? `-${o.dbtCompression}` : ""),
      {
        members: o.db ? null : o.members,
        warehouse: o.db ?? null,
        dbt_threads: o.dbtThreads ?? "profile default",
        dbt_compression: o.dbtCompression ?? "auto",
        // the warehouse file after the last run (uncompressed dbt tables make it several times larger)
        warehouse_bytes: statSync(copy).size,
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
