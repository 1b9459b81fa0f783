// Kernel benchmark: members/s for (a) the V28 kernel alone on pre-encoded batches, (b) encode +
// kernel + decode (Engine.scoreMembers), (c) the pinned hccinfhir (0.4.0) through the oracle's
// --bench, on a seeded synthetic MA cohort (src/cohort/generate.ts). One core, the main thread.
//
//   node bench/kernel-bench.js [--smoke] [--members N] [--batch N] [--seed N] [--time MS]
//                              [--oracle-seconds S] [--no-oracle]
//
// Needs the build (npm run build): imports the compiled dist/ code and build/kernel.wasm.
// Writes bench/results/kernel-<date>-<shortcommit>.json; --smoke writes nothing (CI keeps the
// benchmark from rotting; timing assertions do not belong here). See bench/README.md.
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import os from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { Bench } from "tinybench";
import { loadEngine } from "../dist/load.js";
import { membersToBatch } from "../dist/engine/member.js";
import { encodeArrowBatch } from "../dist/engine/arrow-encode.js";
import { buildCodeWeights, generateCohort } from "../dist/cohort/generate.js";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");
const PAYMENT_YEAR = 2026;
const MODEL = "V28";

const { values: args } = parseArgs({
  options: {
    smoke: { type: "boolean", default: false },
    members: { type: "string" },
    batch: { type: "string", default: "8192" },
    seed: { type: "string", default: "20260201" },
    time: { type: "string" },
    "oracle-seconds": { type: "string" },
    "oracle-members": { type: "string" },
    "no-oracle": { type: "boolean", default: false },
  },
});
const smoke = args.smoke;
const nMembers = positiveInt(args.members ?? (smoke ? "2000" : "200000"), "--members");
const batchSize = positiveInt(args.batch, "--batch");
const seed = positiveInt(args.seed, "--seed");
const benchMs = positiveInt(args.time ?? (smoke ? "300" : "5000"), "--time");
const oracleSeconds = Number(args["oracle-seconds"] ?? (smoke ? "1" : "10"));
const oracleMembers = Math.min(nMembers, positiveInt(args["oracle-members"] ?? (smoke ? "300" : "2000"), "--oracle-members"));

function positiveInt(s, name) {
  const n = Number(s);
  if (!Number.isInteger(n) || n < 1) {
    console.error(`kernel-bench: ${name} must be a positive whole number (got ${s})`);
    process.exit(64);
  }
  return n;
}

// ---- setup (untimed): cohort, kernel batches, member chunks --------------------------------
const t0 = performance.now();
const codes = buildCodeWeights(readFileSync(join(ROOT, "data", `py${PAYMENT_YEAR}`, MODEL, "crosswalk.tsv"), "utf8"));
const engine = loadEngine({ paymentYear: PAYMENT_YEAR, models: [MODEL] });
/** Member chunks as the engine gets them: birth_date only, so the kernel derives the CMS age. */
const chunks = [];
const batches = [];
const oracleSample = [];
let nCodes = 0;
for (const chunk of generateCohort({ members: nMembers, seed, paymentYear: PAYMENT_YEAR, codes, chunkSize: batchSize })) {
  for (const m of chunk) if (oracleSample.length < oracleMembers) oracleSample.push(m);
  const input = chunk.map((m) => {
    const copy = { ...m };
    delete copy.age;
    return copy;
  });
  chunks.push(input);
  const { batch } = encodeArrowBatch(membersToBatch(input).batch);
  batches.push(batch);
  nCodes += batch.memberOffsets[batch.n];
}
const setupMs = performance.now() - t0;
const rssAfterSetupMiB = process.memoryUsage().rss / 2 ** 20;

// sanity: every member scored, and the cohort's mean V28 risk score
let scored = 0;
let riskSum = 0;
for (const b of batches) {
  const r = engine.scoreEncoded(b);
  for (let i = 0; i < b.n; i++) {
    const risk = r.memberF64[i * 3];
    if (!Number.isNaN(risk)) {
      scored++;
      riskSum += risk;
    }
  }
}

// ---- timed: tinybench ----------------------------------------------------------------------
const bench = new Bench({ time: benchMs, iterations: smoke ? 2 : 5, warmupTime: smoke ? 50 : 1000, throws: true });
bench.add("kernel", () => {
  for (const b of batches) engine.scoreEncoded(b);
});
bench.add("encode+kernel+decode", () => {
  for (const c of chunks) engine.scoreMembers(c);
});
// Diagnostic split of (a), read through the Kernel's private fields (JS does not enforce TS
// `private`): the Wasm scoreBatch call alone. Each batch is first put in Wasm memory by an
// untimed scoreEncoded (so its inputs are as cache-warm as a fresh copy-in leaves them), then
// scored again with only the scoreBatch call timed; the difference to (a) is the host wrapper
// (copy-in, sizing, slice() copy-out and the GC it causes).
const k = engine.kernel;
const wasmOnly = typeof k.x?.scoreBatch === "function" && typeof k.desc === "number";
if (wasmOnly) {
  bench.add("wasm scoreBatch only (diagnostic)", () => {
    let ms = 0;
    for (const b of batches) {
      engine.scoreEncoded(b);
      const t = bench.opts.now();
      k.x.scoreBatch(k.desc);
      ms += bench.opts.now() - t;
    }
    return { overriddenDuration: ms };
  });
}
await bench.run();

const task = (name) => {
  const t = bench.tasks.find((x) => x.name === name);
  const r = t?.result;
  if (!r || r.error || !r.latency) throw new Error(`task ${name} did not complete: ${r?.error ?? "no result"}`);
  return r;
};
const rate = (name, membersPerRun) => {
  const r = task(name);
  return {
    members_per_second: membersPerRun / (r.latency.mean / 1000),
    members_per_second_p50: membersPerRun / ((r.latency.p50 ?? r.latency.mean) / 1000),
    ms_per_run_mean: r.latency.mean,
    ms_per_run_p50: r.latency.p50 ?? null,
    rme_percent: r.latency.rme,
    runs: r.latency.samples?.length ?? r.samples?.length ?? null,
    members_per_run: membersPerRun,
  };
};
const kernel = rate("kernel", nMembers);
const e2e = rate("encode+kernel+decode", nMembers);
const wasm = wasmOnly ? rate("wasm scoreBatch only (diagnostic)", nMembers) : null;

// ---- hccinfhir via the oracle ---------------------------------------------------------------
const python = join(ROOT, ".venv", "bin", "python");
let hccinfhir = null;
let hccinfhirNote = null;
if (args["no-oracle"]) hccinfhirNote = "skipped (--no-oracle)";
else if (!existsSync(python)) hccinfhirNote = "skipped: .venv missing (run scripts/setup-python.sh)";
else {
  const ndjson = oracleSample.map((m) => JSON.stringify(m)).join("\n") + "\n";
  const args2 = [join(ROOT, "scripts", "oracle", "hccinfhir_oracle.py"), "--model", MODEL, "--year", String(PAYMENT_YEAR)];
  const res = spawnSync(python, [...args2, "--bench", String(oracleSeconds)], {
    input: ndjson,
    encoding: "utf8",
    maxBuffer: 1 << 24,
  });
  if (res.status !== 0) hccinfhirNote = `oracle failed (exit ${res.status}): ${(res.stderr ?? "").trim().slice(0, 300)}`;
  else {
    try {
      hccinfhir = JSON.parse(res.stdout.trim().split("\n").pop());
    } catch (e) {
      hccinfhirNote = `oracle output not JSON: ${String(e)}`;
    }
  }
}

// ---- report ----------------------------------------------------------------------------------
const peakRssMiB = process.resourceUsage().maxRSS / 1024;
const cpus = os.cpus();
const env = {
  node: process.version,
  v8: process.versions.v8,
  platform: `${process.platform}-${process.arch}`,
  cpu: cpus[0]?.model.trim() ?? "unknown",
  cores: cpus.length,
  total_memory_gib: +(os.totalmem() / 2 ** 30).toFixed(1),
  commit: git(["rev-parse", "HEAD"]),
  dirty: git(["status", "--porcelain"]) !== "",
  date: new Date().toISOString(),
};
const fmt = (x) => (x === null || x === undefined ? "–" : Math.round(x).toLocaleString("en-US"));
const rows = [
  ["(a) kernel: V28, pre-encoded batches", kernel.members_per_second, kernel.rme_percent],
  ["(b) encode + kernel + decode (scoreMembers)", e2e.members_per_second, e2e.rme_percent],
  ...(wasm ? [["    diagnostic: wasm scoreBatch only", wasm.members_per_second, wasm.rme_percent]] : []),
  [`(c) hccinfhir ${hccinfhir?.hccinfhir_version ?? ""} calculate_raf`, hccinfhir?.members_per_second ?? null, null],
];
console.log(
  `\nCohort: ${nMembers.toLocaleString("en-US")} members (seed ${seed}), ${(nCodes / nMembers).toFixed(2)} dx/member, ` +
    `batches of ${batchSize}; setup ${(setupMs / 1000).toFixed(1)} s; ${scored} scored, mean V28 risk ${(riskSum / scored).toFixed(3)}`,
);
console.log(
  `${env.cpu}, ${env.cores} cores, ${env.total_memory_gib} GiB; Node ${env.node}; ${env.commit.slice(0, 7)}${env.dirty ? "+dirty" : ""}\n`,
);
const w = Math.max(...rows.map((r) => r[0].length));
console.log(`${"benchmark".padEnd(w)}  ${"members/s".padStart(12)}  ${"±%".padStart(6)}`);
for (const [name, mps, rme] of rows) {
  console.log(`${name.padEnd(w)}  ${fmt(mps).padStart(12)}  ${rme === null ? "".padStart(6) : rme.toFixed(1).padStart(6)}`);
}
if (hccinfhirNote) console.log(`hccinfhir: ${hccinfhirNote}`);
const ratio = (x) => (hccinfhir ? x / hccinfhir.members_per_second : null);
if (hccinfhir) {
  console.log(
    `\nratio ours/hccinfhir: kernel ${ratio(kernel.members_per_second).toFixed(0)}×, end to end ${ratio(e2e.members_per_second).toFixed(0)}×`,
  );
}
console.log(`target 2,000,000 members/s/core: kernel at ${((kernel.members_per_second / 2e6) * 100).toFixed(0)}%`);
console.log(
  `peak RSS ${peakRssMiB.toFixed(0)} MiB (${rssAfterSetupMiB.toFixed(0)} MiB after setup; this process only, the oracle runs in a child)`,
);

if (!smoke) {
  const result = {
    benchmark: "kernel",
    environment: env,
    config: { members: nMembers, seed, batch_size: batchSize, payment_year: PAYMENT_YEAR, model: MODEL, bench_ms: benchMs },
    cohort: { dx_per_member: nCodes / nMembers, scored, mean_v28_risk_score: riskSum / scored },
    results: {
      kernel,
      encode_kernel_decode: e2e,
      wasm_score_batch_only: wasm,
      hccinfhir: hccinfhir ?? { note: hccinfhirNote },
      ratio_kernel_vs_hccinfhir: ratio(kernel.members_per_second),
      ratio_end_to_end_vs_hccinfhir: ratio(e2e.members_per_second),
      peak_rss_mib: peakRssMiB,
      rss_after_setup_mib: rssAfterSetupMiB,
    },
  };
  const dir = join(ROOT, "bench", "results");
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `kernel-${env.date.slice(0, 10)}-${env.commit.slice(0, 7) || "nogit"}.json`);
  writeFileSync(file, JSON.stringify(result, null, 2) + "\n");
  console.log(`wrote ${file}`);
}

function git(a) {
  try {
    return execFileSync("git", a, { cwd: ROOT, encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim();
  } catch {
    return "";
  }
}
