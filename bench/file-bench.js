// Member-record file benchmark (issue "One scoring path", speed target 1): a generated cohort as
// NDJSON and CSV member records (setup, untimed), scored by the whole `hcc score --input … --output
// …` process (start-up included), NDJSON → NDJSON and CSV → CSV; the upstream library on a
// sample of the same members in the same run, twice: calculate_raf alone for V28
// (hccinfhir_oracle.py --bench; the ratio favours it most), and the same per-member job as ours
// (--bench-job: JSON in, V28 and RX08, a JSON line out, in memory; its start-up and file reading
// still left out). Prints wall time, members/s, peak RSS and both ratios; writes
// bench/results/file-<date>-<commit>.json (not with --smoke).
//
//   node bench/file-bench.js [--members N] [--repeat N] [--smoke] [--keep DIR]
// (members/s is from the median of --repeat runs per format, default 5; the job ratio is the median
// of the ratios of each of our runs to the upstream job measured right after it)
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { buildCodeWeights, generateCohort } from "../dist/cohort/generate.js";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");
const { values: args } = parseArgs({
  options: {
    members: { type: "string" },
    smoke: { type: "boolean", default: false },
    keep: { type: "string" },
    repeat: { type: "string" },
  },
});
const members = Number(args.members ?? (args.smoke ? "5000" : "300000"));
const dir = args.keep ?? mkdtempSync(join(os.tmpdir(), "hcc-file-bench-"));
mkdirSync(dir, { recursive: true });
const nd = join(dir, `members-${members}.ndjson`);
const csv = join(dir, `members-${members}.csv`);
const oracleInput = join(dir, `oracle-sample.ndjson`); // the upstream library needs ages

if (!existsSync(nd) || !existsSync(csv)) {
  const codes = buildCodeWeights(readFileSync(join(ROOT, "data", "py2026", "V28", "crosswalk.tsv"), "utf8"));
  const cols = ["member_id", "birth_date", "sex", "orec", "dual_elgbl_cd", "lti", "new_enrollee", "diagnosis_codes"];
  const ndLines = [];
  const oracleLines = [];
  const csvLines = [cols.join(",")];
  for (const chunk of generateCohort({ members, seed: 7, paymentYear: 2026, codes, chunkSize: 10000 })) {
    for (const m of chunk) {
      if (oracleLines.length < 2000) oracleLines.push(JSON.stringify(m));
      const r = { ...m };
      delete r.age; // ages come from birth dates, as in real feeds
      ndLines.push(JSON.stringify(r));
      csvLines.push(
        cols.map((c) => (c === "diagnosis_codes" ? (m.diagnosis_codes ?? []).join(";") : String(m[c] ?? ""))).join(","),
      );
    }
  }
  writeFileSync(nd, ndLines.join("\n") + "\n");
  writeFileSync(csv, csvLines.join("\n") + "\n");
  writeFileSync(oracleInput, oracleLines.join("\n") + "\n");
}

/**
 * Dirty pages of the previous run's output (≈ 240 MB) written back to disk by the kernel while the
 * next measurement runs took CPU from it, ours or the upstream library's: each measurement starts
 * after a sync (untimed).
 */
function settle() {
  spawnSync("sync");
}

/** One whole `hcc score` process, timed from outside; peak RSS from /usr/bin/time when present. */
function runHcc(input, output) {
  const time = existsSync("/usr/bin/time") ? ["/usr/bin/time", "-f", "%M"] : [];
  const cmd = [
    ...time,
    process.execPath,
    "--single-threaded-gc",
    join(ROOT, "bin", "hcc.js"),
    "score",
    "--input",
    input,
    "--output",
    output,
    "--quiet",
  ];
  settle();
  const t = performance.now();
  const p = spawnSync(cmd[0], cmd.slice(1), { encoding: "utf8" });
  const wall = (performance.now() - t) / 1000;
  if (p.status !== 0) throw new Error(`hcc score failed: ${p.stderr}`);
  const rssKiB = time.length > 0 ? Number(p.stderr.trim().split("\n").pop()) : NaN;
  return { wall_seconds: wall, members_per_second: members / wall, peak_rss_mib: rssKiB / 1024 };
}

// each format `--repeat` times (default 5), alternating, after one warm-up run each: the VM's
// speed drifts within minutes, so one run per format said little; the median is reported. The
// upstream library's per-member job runs once in every repetition, right after ours, so each of
// our runs has a rate of the upstream job measured within seconds of it: the ratio reported is the
// median of these paired ratios (a single upstream measurement after all of ours moved the ratio
// by a quarter between two benches, 29.6× and 39.9×, as the VM sped up or slowed down between them).
const repeat = Number(args.repeat ?? (args.smoke ? "1" : "5"));
if (!Number.isInteger(repeat) || repeat < 1) throw new Error(`--repeat: '${args.repeat}' is not a positive whole number`);
const formats = [
  ["ndjson", nd, join(dir, "scores.ndjson")],
  ["csv", csv, join(dir, "scores.csv")],
];
const py = join(ROOT, ".venv", "bin", "python");
const haveOracle = existsSync(py);
const sample = haveOracle ? readFileSync(oracleInput, "utf8") : "";

/** One hccinfhir_oracle.py run on the sample for `seconds`: its JSON line, or null when it failed. */
function upstreamRate(modeArgs, seconds) {
  settle();
  const p = spawnSync(
    py,
    [join(ROOT, "scripts", "oracle", "hccinfhir_oracle.py"), "--year", "2026", ...modeArgs, String(seconds)],
    { input: sample, encoding: "utf8" },
  );
  if (p.status !== 0) {
    console.log(`hccinfhir oracle (${modeArgs.join(" ")}) failed: ${p.stderr.slice(0, 300)}`);
    return null;
  }
  return JSON.parse(p.stdout.trim().split("\n").pop());
}
// the same job as ours, per member: JSON in, the Part C and Part D models, a JSON line out (kept
// in memory; hccinfhir's start-up and file reading are still left out)
const JOB = ["--bench-job"];
const jobSeconds = args.smoke ? 1 : 2;

for (const [, input, output] of formats) runHcc(input, output); // warm the page cache
const samples = { ndjson: [], csv: [] };
const jobSamples = [];
for (let k = 0; k < repeat; k++) {
  for (const [name, input, output] of formats) samples[name].push(runHcc(input, output));
  if (haveOracle) jobSamples.push(upstreamRate(JOB, jobSeconds));
}
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor((s.length - 1) / 2)];
};
const range = (xs, digits, unit) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length > 1 ? ` (${s[0].toFixed(digits)}–${s[s.length - 1].toFixed(digits)}${unit} in ${s.length} runs)` : "";
};
const runs = {};
for (const [name] of formats) {
  const all = samples[name];
  const walls = all.map((r) => r.wall_seconds);
  const wall = median(walls);
  runs[name] = {
    wall_seconds: wall,
    members_per_second: members / wall,
    peak_rss_mib: Math.max(...all.map((x) => x.peak_rss_mib)),
    wall_seconds_all: walls,
  };
  console.log(
    `${name} → ${name}: ${wall.toFixed(2)} s${range(walls, 2, " s")}, ${Math.round(members / wall).toLocaleString("en-US")} members/s, peak RSS ${Math.round(runs[name].peak_rss_mib)} MiB`,
  );
}

// the upstream library on a sample of the same members, same run
let oracle = null;
let oracleJob = null;
if (haveOracle && jobSamples.every((o) => o !== null)) {
  const rates = jobSamples.map((o) => o.members_per_second);
  oracleJob = { ...jobSamples[0], members_per_second: median(rates), members_per_second_all: rates };
  console.log(
    `hccinfhir ${oracleJob.hccinfhir_version} job (JSON in, ${oracleJob.models.join(" + ")}, JSON out), right after each of our repetitions: ${Math.round(oracleJob.members_per_second).toLocaleString("en-US")} members/s${range(rates, 0, "/s")}`,
  );
  for (const [name, r] of Object.entries(runs)) {
    const paired = samples[name].map((x, k) => x.members_per_second / rates[k]);
    r.ratio_to_hccinfhir_job = median(paired);
    r.ratio_to_hccinfhir_job_all = paired;
    console.log(
      `  ${name}: ${r.ratio_to_hccinfhir_job.toFixed(1)}× hccinfhir (whole process vs its per-member job; median of the paired ratios${range(paired, 1, "×")})`,
    );
  }
  // calculate_raf alone (the ratio favours it most), once, after the runs
  oracle = upstreamRate(["--model", "V28", "--bench"], args.smoke ? 1 : 5);
  if (oracle) {
    console.log(
      `hccinfhir ${oracle.hccinfhir_version} calculate_raf: ${Math.round(oracle.members_per_second).toLocaleString("en-US")} members/s`,
    );
    for (const [name, r] of Object.entries(runs)) {
      r.ratio_to_hccinfhir = r.members_per_second / oracle.members_per_second;
      console.log(`  ${name}: ${r.ratio_to_hccinfhir.toFixed(1)}× hccinfhir (whole process vs calculate_raf alone)`);
    }
  }
} else if (!haveOracle) console.log("hccinfhir oracle skipped: no .venv (bash scripts/setup-python.sh)");

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
    `file-${new Date().toISOString().slice(0, 10)}-${commit}${dirty ? "-dirty" : ""}-${members}.json`,
  );
  writeFileSync(
    out,
    JSON.stringify(
      {
        benchmark: "file",
        environment: {
          node: process.version,
          cpu: os.cpus()[0]?.model,
          cores: os.cpus().length,
          total_memory_gib: os.totalmem() / 2 ** 30,
          commit,
          dirty,
          load_average: os.loadavg(),
          date: new Date().toISOString(),
        },
        config: {
          members,
          repeat,
          upstream_job_seconds_per_repetition: jobSeconds,
          payment_year: 2026,
          models: "default",
          what: "whole `hcc score --input` process incl. start-up; median of `repeat` alternating runs; job ratio: median of per-repetition pairs",
        },
        runs,
        hccinfhir: oracle,
        hccinfhir_job: oracleJob,
      },
      null,
      1,
    ) + "\n",
  );
  console.log(`wrote ${out}`);
}
if (!args.keep) rmSync(dir, { recursive: true, force: true });
