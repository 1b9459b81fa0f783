// BigQuery UDF benchmark: rows/s of the UDF call path in one JavaScript context, and the one-time
// initialisation cost per context, on the local stand-in for BigQuery's JS environment
// (src/udf/sandbox.ts: fresh node:vm context, ECMAScript built-ins + WebAssembly only).
//
//   node bench/udf-bench.js [--smoke] [--members N] [--runs N] [--contexts N] [--year PY]
//
// Rows are the seeded cohort (src/cohort/generate.ts), encoded inside the context as BigQuery
// hands them to JavaScript (a Date for DATE, an Array for ARRAY<STRING>, an Object for the
// STRUCT) before timing starts: what is timed is the function call per row — the runtime's
// encode into Wasm memory, the kernel, and the result STRUCT (with and without the factors
// array). Init: evaluating the library files, then the first call (base64 decode, compile,
// instantiate, pack copy), each in a fresh context, for the sync and the async mode.
// Needs `npm run build`. Writes bench/results/udf-<date>-<shortcommit>.json; --smoke writes nothing.
import { execFileSync } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import os from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { runInContext } from "node:vm";
import { buildUdfBundleFromData } from "../dist/udf/artifacts.js";
import { createUdfSandbox } from "../dist/udf/sandbox.js";
import { buildCodeWeights, generateCohort } from "../dist/cohort/generate.js";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");
const { values: args } = parseArgs({
  options: {
    smoke: { type: "boolean", default: false },
    members: { type: "string" },
    runs: { type: "string" },
    contexts: { type: "string" },
    year: { type: "string", default: "2026" },
  },
});
const smoke = args.smoke;
const nMembers = Number(args.members ?? (smoke ? 2000 : 200_000));
const runs = Number(args.runs ?? (smoke ? 1 : 3));
const nContexts = Number(args.contexts ?? (smoke ? 1 : 5));
const paymentYear = Number(args.year);

const git = (a) => {
  try {
    return execFileSync("git", a, { cwd: ROOT, encoding: "utf8" }).trim();
  } catch {
    return "";
  }
};
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

const codes = buildCodeWeights(readFileSync(join(ROOT, "data", `py${paymentYear}`, "V28", "crosswalk.tsv"), "utf8"));
const rows = [];
for (const chunk of generateCohort({ members: nMembers, seed: 7, paymentYear, codes, chunkSize: 16_384 })) {
  for (const m of chunk) {
    rows.push({
      birth_date: Math.round(Date.parse(`${m.birth_date}T00:00:00Z`) / 86400000),
      sex: m.sex,
      orec: m.orec,
      crec: m.orec,
      dual_elgbl_cd: m.dual_elgbl_cd,
      medicaid: ["02", "04", "08"].includes(m.dual_elgbl_cd ?? ""),
      lti: m.lti,
      new_enrollee: m.new_enrollee,
      snp: m.snp,
      low_income: m.dual_elgbl_cd !== null && m.dual_elgbl_cd !== "00",
      esrd_status: m.orec === "2" || m.orec === "3" ? "dialysis" : "none",
      rx_plan: "mapd",
      diagnosis_codes: m.diagnosis_codes,
    });
  }
}

const engineOpts = { paymentYear, models: [], mceEdits: true, rounding: "round3" };
const bundles = {
  factors: buildUdfBundleFromData({ ...engineOpts, factors: true }),
  "no-factors": buildUdfBundleFromData({ ...engineOpts, factors: false }),
};
const libraryBytes = bundles.factors.files.reduce((s, f) => s + f.bytes, 0);

/** Init cost in fresh contexts: library evaluation, then the first call. */
async function measureInit(init) {
  const evalMs = [];
  const firstMs = [];
  for (let c = 0; c < nContexts; c++) {
    const t0 = performance.now();
    const sb = createUdfSandbox(bundles.factors, init);
    const t1 = performance.now();
    await sb.call(rows[0]);
    const t2 = performance.now();
    evalMs.push(t1 - t0);
    firstMs.push(t2 - t1);
  }
  return { libraryEvalMs: median(evalMs), firstCallMs: median(firstMs), contexts: nContexts };
}

/** Rows/s of the call alone, rows pre-encoded in the context. */
async function measureRows(kind) {
  const sb = createUdfSandbox(bundles[kind], "sync");
  await sb.call(rows[0]);
  const encode = runInContext(
    "(function (f, rs) { var out = []; for (var i = 0; i < rs.length; i++) out.push(f(rs[i])); return out; })",
    sb.context,
  );
  const encodeOne = runInContext(
    `(function (r) { return { birth_date: new Date(r.birth_date * 86400000), age: null, sex: r.sex, orec: r.orec, crec: r.crec,
      dual_elgbl_cd: r.dual_elgbl_cd, medicaid: r.medicaid, lti: r.lti, new_enrollee: r.new_enrollee, snp: r.snp,
      low_income: r.low_income, pace: null, esrd_status: r.esrd_status, graft_months: null, rx_plan: r.rx_plan,
      diagnosis_codes: Array.prototype.slice.call(r.diagnosis_codes) }; })`,
    sb.context,
  );
  const members = encode(encodeOne, rows);
  const fn = runInContext(`(function (member) {\n${bundles[kind].inline.sync}\n})`, sb.context);
  const loop = runInContext(
    "(function (fn, ms) { var n = 0; for (var i = 0; i < ms.length; i++) if (fn(ms[i])) n++; return n; })",
    sb.context,
  );
  const results = [];
  for (let r = 0; r < runs; r++) {
    const t0 = performance.now();
    const n = loop(fn, members);
    const s = (performance.now() - t0) / 1000;
    results.push({ rows: n, seconds: s, rowsPerSecond: n / s });
  }
  return { runs: results, medianRowsPerSecond: median(results.map((x) => x.rowsPerSecond)) };
}

const init = { sync: await measureInit("sync"), async: await measureInit("async") };
const perContext = { factors: await measureRows("factors"), "no-factors": await measureRows("no-factors") };
const cpus = os.cpus();
const env = {
  date: new Date().toISOString(),
  node: process.version,
  v8: process.versions.v8,
  cpu: cpus[0]?.model ?? "unknown",
  cores: cpus.length,
  total_memory_gib: +(os.totalmem() / 2 ** 30).toFixed(1),
  commit: git(["rev-parse", "HEAD"]),
  dirty: git(["status", "--porcelain"]) !== "",
};
console.log(`BigQuery UDF call path in one JS context (node:vm stand-in), PY${paymentYear}`);
console.log(`${env.cpu}, ${env.cores} cores; Node ${env.node}; ${env.commit.slice(0, 7)}${env.dirty ? "+dirty" : ""}`);
console.log(
  `bundle: ${bundles.factors.files.length} library files, ${libraryBytes.toLocaleString("en-US")} bytes; members ${nMembers.toLocaleString("en-US")}`,
);
for (const [mode, x] of Object.entries(init)) {
  console.log(
    `init ${mode}: library evaluation ${x.libraryEvalMs.toFixed(1)} ms + first call ${x.firstCallMs.toFixed(1)} ms (median of ${x.contexts} fresh contexts)`,
  );
}
for (const [kind, x] of Object.entries(perContext)) {
  const each = x.runs.map((r) => Math.round(r.rowsPerSecond).toLocaleString("en-US")).join(", ");
  console.log(`rows/s per context, ${kind}: median ${Math.round(x.medianRowsPerSecond).toLocaleString("en-US")} (runs: ${each})`);
}
console.log(`peak RSS ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MiB`);
if (!smoke) {
  const dir = join(ROOT, "bench", "results");
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `udf-${env.date.slice(0, 10)}-${env.commit.slice(0, 7) || "nogit"}.json`);
  const result = {
    benchmark: "udf",
    env,
    params: { members: nMembers, runs, contexts: nContexts, paymentYear, libraryBytes },
    init,
    perContext,
  };
  writeFileSync(file, JSON.stringify(result, null, 2) + "\n");
  console.log(`wrote ${file}`);
}
