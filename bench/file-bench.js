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
// (members/s and the ratios are from the median of --repeat runs per format, default 5)
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
  const t = performance.now();
  const p = spawnSync(cmd[0], cmd.slice(1), { encoding: "utf8" });
  const wall = (performance.now() - t) / 1000;
  if (p.status !== 0) throw new Error(`hcc score failed: ${p.stderr}`);
  const rssKiB = time.length > 0 ? Number(p.stderr.trim().split("\n").pop()) : NaN;
  return { wall_seconds: wall, members_per_second: members / wall, peak_rss_mib: rssKiB / 1024 };
}

// each format `--repeat` times (default 5), alternating, after one warm-up run each: the VM's
// speed drifts within minutes, so one run per format said little; the median is reported
const repeat = Number(args.repeat ?? (args.smoke ? "1" : "5"));
if (!Number.isInteger(repeat) || repeat < 1) throw new Error(`--repeat: '${args.repeat}' is not a positive whole number`);
const formats = [
  ["ndjson", nd, join(dir, "scores.ndjson")],
  ["csv", csv, join(dir, "scores.csv")],
];
for (const [, input, output] of formats) runHcc(input, output); // warm the page cache
const samples = { ndjson: [], csv: [] };
for (let k = 0; k < repeat; k++) for (const [name, input, output] of formats) samples[name].push(runHcc(input, output));
const runs = {};
for (const [name] of formats) {
  const all = samples[name];
  const walls = all.map((r) => r.wall_seconds).sort((a, b) => a - b);
  const median = walls[Math.floor((walls.length - 1) / 2)];
  const r = {
    wall_seconds: median,
    members_per_second: members / median,
    peak_rss_mib: Math.max(...all.map((x) => x.peak_rss_mib)),
    wall_seconds_all: all.map((x) => x.wall_seconds),
  };
  runs[name] = r;
  const range =
    walls.length > 1 ? ` (${walls[0].toFixed(2)}–${walls[walls.length - 1].toFixed(2)} s in ${walls.length} runs)` : "";
  console.log(
    `${name} → ${name}: ${r.wall_seconds.toFixed(2)} s${range}, ${Math.round(r.members_per_second).toLocaleString("en-US")} members/s, peak RSS ${Math.round(r.peak_rss_mib)} MiB`,
  );
}

// the upstream library on a sample of the same members, same run
let oracle = null;
let oracleJob = null;
const py = join(ROOT, ".venv", "bin", "python");

/**
 * One hccinfhir_oracle.py rate on the sample (its JSON line, or null when it failed), printed with
 * our runs' ratio to it, stored in each run as `ratioKey`.
 */
function upstreamRate(sample, modeArgs, describe, ratioKey, versus) {
  const p = spawnSync(
    py,
    [join(ROOT, "scripts", "oracle", "hccinfhir_oracle.py"), "--year", "2026", ...modeArgs, args.smoke ? "1" : "5"],
    { input: sample, encoding: "utf8" },
  );
  if (p.status !== 0) {
    console.log(`hccinfhir oracle (${modeArgs.join(" ")}) failed: ${p.stderr.slice(0, 300)}`);
    return null;
  }
  const o = JSON.parse(p.stdout.trim().split("\n").pop());
  console.log(
    `hccinfhir ${o.hccinfhir_version} ${describe(o)}: ${Math.round(o.members_per_second).toLocaleString("en-US")} members/s`,
  );
  for (const [name, r] of Object.entries(runs)) {
    r[ratioKey] = r.members_per_second / o.members_per_second;
    console.log(`  ${name}: ${r[ratioKey].toFixed(1)}× hccinfhir (whole process vs ${versus})`);
  }
  return o;
}

if (existsSync(py)) {
  const sample = readFileSync(oracleInput, "utf8");
  oracle = upstreamRate(
    sample,
    ["--model", "V28", "--bench"],
    () => "calculate_raf",
    "ratio_to_hccinfhir",
    "calculate_raf alone",
  );
  // the same job as ours, per member: JSON in, the Part C and Part D models, a JSON line out
  // (kept in memory; hccinfhir's start-up and file reading are still left out)
  oracleJob = upstreamRate(
    sample,
    ["--bench-job"],
    (o) => `job (JSON in, ${o.models.join(" + ")}, JSON out)`,
    "ratio_to_hccinfhir_job",
    "its per-member job",
  );
} else console.log("hccinfhir oracle skipped: no .venv (bash scripts/setup-python.sh)");

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
          payment_year: 2026,
          models: "default",
          what: "whole `hcc score --input` process incl. start-up; median of `repeat` alternating runs",
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
