// Member-record file benchmark (issue "One scoring path", speed target 1): a generated cohort as
// NDJSON and CSV member records (setup, untimed), scored by the whole `hcc score --input … --output
// …` process (start-up included), NDJSON → NDJSON and CSV → CSV; the upstream library on a
// sample of the same members in the same run, twice: calculate_raf alone for V28
// (hccinfhir_oracle.py --bench; the ratio favours it most), and the same per-member job as ours
// (--bench-job: JSON in, V28 and RX08, a JSON line out, in memory; its start-up and file reading
// still left out). Prints wall time, members/s, peak RSS and both ratios; writes
// bench/results/file-<date>-<commit>.json (not with --smoke).
//
//   node bench/file-bench.js [--members N] [--smoke] [--keep DIR]
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { buildCodeWeights, generateCohort } from "../dist/cohort/generate.js";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");
const { values: args } = parseArgs({
  options: { members: { type: "string" }, smoke: { type: "boolean", default: false }, keep: { type: "string" } },
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

const runs = {};
for (const [name, input, output] of [
  ["ndjson", nd, join(dir, "scores.ndjson")],
  ["csv", csv, join(dir, "scores.csv")],
]) {
  runHcc(input, output); // warm the page cache
  const r = runHcc(input, output);
  runs[name] = r;
  console.log(
    `${name} → ${name}: ${r.wall_seconds.toFixed(2)} s, ${Math.round(r.members_per_second).toLocaleString("en-US")} members/s, peak RSS ${Math.round(r.peak_rss_mib)} MiB`,
  );
}

// the upstream library on a sample of the same members, same run
let oracle = null;
let oracleJob = null;
const py = join(ROOT, ".venv", "bin", "python");
if (existsSync(py)) {
  const sample = readFileSync(oracleInput, "utf8");
  const p = spawnSync(
    py,
    [
      join(ROOT, "scripts", "oracle", "hccinfhir_oracle.py"),
      "--model",
      "V28",
      "--year",
      "2026",
      "--bench",
      args.smoke ? "1" : "5",
    ],
    {
      input: sample,
      encoding: "utf8",
    },
  );
  if (p.status === 0) {
    oracle = JSON.parse(p.stdout.trim().split("\n").pop());
    console.log(
      `hccinfhir ${oracle.hccinfhir_version} calculate_raf: ${Math.round(oracle.members_per_second).toLocaleString("en-US")} members/s`,
    );
    for (const [name, r] of Object.entries(runs)) {
      r.ratio_to_hccinfhir = r.members_per_second / oracle.members_per_second;
      console.log(`  ${name}: ${r.ratio_to_hccinfhir.toFixed(1)}× hccinfhir (whole process vs calculate_raf alone)`);
    }
  } else console.log(`hccinfhir oracle failed: ${p.stderr.slice(0, 300)}`);
  // the same job as ours, per member: JSON in, the Part C and Part D models, a JSON line out
  // (kept in memory; hccinfhir's start-up and file reading are still left out)
  const j = spawnSync(
    py,
    [join(ROOT, "scripts", "oracle", "hccinfhir_oracle.py"), "--year", "2026", "--bench-job", args.smoke ? "1" : "5"],
    { input: sample, encoding: "utf8" },
  );
  if (j.status === 0) {
    oracleJob = JSON.parse(j.stdout.trim().split("\n").pop());
    console.log(
      `hccinfhir ${oracleJob.hccinfhir_version} job (JSON in, ${oracleJob.models.join(" + ")}, JSON out): ${Math.round(oracleJob.members_per_second).toLocaleString("en-US")} members/s`,
    );
    for (const [name, r] of Object.entries(runs)) {
      r.ratio_to_hccinfhir_job = r.members_per_second / oracleJob.members_per_second;
      console.log(`  ${name}: ${r.ratio_to_hccinfhir_job.toFixed(1)}× hccinfhir (whole process vs its per-member job)`);
    }
  } else console.log(`hccinfhir job oracle failed: ${j.stderr.slice(0, 300)}`);
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
        config: { members, payment_year: 2026, models: "default", what: "whole `hcc score --input` process incl. start-up" },
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
