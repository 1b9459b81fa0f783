// `hcc ingest` benchmark: seeded 837P + 837I + EOB NDJSON (bench/README.md#ingest). Generates the
// files (a separate process), ingests them in a child process that reports its own peak RSS, and
// runs hccinfhir 0.4.0's extractors + filter (scripts/oracle/hccinfhir_extract_oracle.py --bench)
// on a slice generated the same way, next to our ingest of that same slice: MB/s and claims/s for
// both, and the ratio. hccinfhir takes an 837 file as one string, so it gets the slice, not 1 GB.
//   node bench/ingest-bench.js [--gb 1] [--slice-mb 60] [--workers N] [--big-oracle] [--smoke] [--dir .tmp/ingest-bench]
// --big-oracle also runs hccinfhir on the large files (the same files; ≈ 3.5 min and 12.5 GB at 1 GB).
import { spawnSync } from "node:child_process";
import { execSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { cpus, loadavg } from "node:os";
import { join, resolve } from "node:path";

const root = resolve(new URL("..", import.meta.url).pathname);
const arg = (k, d) => {
  const i = process.argv.indexOf(`--${k}`);
  return i > 0 ? process.argv[i + 1] : d;
};
const smoke = process.argv.includes("--smoke");

if (process.argv[2] === "--generate") {
  const [, , , dir, bytes, seed] = process.argv;
  const g = await import(join(root, "dist/ingest/generate.js"));
  const codes = readFileSync(join(root, "data/py2026/V28/crosswalk.tsv"), "utf8")
    .split("\n")
    .slice(1)
    .map((l) => l.split("\t")[0])
    .filter(Boolean);
  const o = { seed: Number(seed), year: 2025, members: 200000, hccCodes: codes };
  const total = Number(bytes);
  const out = [
    g.writeX12Claims(join(dir, "claims-837p.x12"), "837P", total * 0.35, o),
    g.writeX12Claims(join(dir, "claims-837i.x12"), "837I", total * 0.25, { ...o, seed: o.seed + 1 }),
    g.writeEobNdjson(join(dir, "eob.ndjson"), total * 0.4, { ...o, seed: o.seed + 2 }),
  ];
  process.stdout.write(JSON.stringify(out) + "\n");
  process.exit(0);
}
if (process.argv[2] === "--run") {
  const [, , , dir, db] = process.argv;
  const { runIngest } = await import(join(root, "dist/ingest/run.js"));
  const files = ["claims-837p.x12", "claims-837i.x12", "eob.ndjson"].map((f) => join(dir, f));
  const workers = arg("workers", undefined);
  const cpu0 = process.cpuUsage();
  const r = await runIngest({
    files,
    db,
    paymentYear: 2026,
    dataDir: join(root, "data"),
    ...(workers ? { workers: Number(workers) } : {}),
  });
  const cpu = process.cpuUsage(cpu0);
  const bytes = r.files.reduce((s, f) => s + f.bytes, 0);
  process.stdout.write(
    JSON.stringify({
      bytes,
      claims: r.counts.claimsIn,
      seconds: r.seconds,
      parse_seconds: r.parseSeconds,
      // every thread of the process: main, parse workers, DuckDB (less sensitive to a shared machine's load than wall time)
      cpu_seconds: (cpu.user + cpu.system) / 1e6,
      peak_rss_mb: process.resourceUsage().maxRSS / 1024,
      parse_peak_rss_mb: r.parsePeakRssMb,
      counts: r.counts,
      per_file: r.files.map((f) => ({ format: f.format, mb: f.bytes / 1e6, claims: f.claims, seconds: f.seconds })),
    }) + "\n",
  );
  process.exit(0);
}

const dir = resolve(arg("dir", join(root, ".tmp", "ingest-bench")));
const gb = Number(arg("gb", smoke ? "0.005" : "1"));
const sliceMb = Number(arg("slice-mb", smoke ? "2" : "60"));
rmSync(dir, { recursive: true, force: true });
const big = join(dir, "big");
const slice = join(dir, "slice");
mkdirSync(big, { recursive: true });
mkdirSync(slice, { recursive: true });
const node = (args) => {
  const p = spawnSync(process.execPath, ["--single-threaded-gc", new URL(import.meta.url).pathname, ...args], {
    encoding: "utf8",
    maxBuffer: 1 << 26,
  });
  if (p.status !== 0) throw new Error(`${args[0]} failed: ${p.stderr}`);
  return JSON.parse(p.stdout.trim().split("\n").pop());
};
const loadStart = loadavg();
const t0 = performance.now();
node(["--generate", big, String(gb * 1e9), "1"]);
node(["--generate", slice, String(sliceMb * 1e6), "1"]);
const genSeconds = (performance.now() - t0) / 1000;
const workersArg = arg("workers", undefined) ? ["--workers", arg("workers")] : [];
const ours = node(["--run", big, join(dir, "big.duckdb"), ...workersArg]);
const oursSlice = node(["--run", slice, join(dir, "slice.duckdb"), ...workersArg]);
const py = spawnSync(
  join(root, ".venv/bin/python"),
  [
    join(root, "scripts/oracle/hccinfhir_extract_oracle.py"),
    "--cpt-year",
    "2026",
    "--bench",
    ...["claims-837p.x12", "claims-837i.x12", "eob.ndjson"].map((f) => join(slice, f)),
  ],
  { encoding: "utf8", maxBuffer: 1 << 26 },
);
const theirs = py.status === 0 ? JSON.parse(py.stdout.trim()) : { error: py.stderr.slice(-500) };
// --big-oracle: hccinfhir on the large files too (the same files as our large run; at ≈ 5 MB/s and
// ≈ 12 GB peak RSS for 1 GB it takes minutes), peak RSS from /usr/bin/time when it is there
let theirsBig = null;
if (process.argv.includes("--big-oracle")) {
  const timeBin = existsSync("/usr/bin/time") ? ["/usr/bin/time", "-f", "%M"] : [];
  const cmd = [
    ...timeBin,
    join(root, ".venv/bin/python"),
    join(root, "scripts/oracle/hccinfhir_extract_oracle.py"),
    "--cpt-year",
    "2026",
    "--bench",
    ...["claims-837p.x12", "claims-837i.x12", "eob.ndjson"].map((f) => join(big, f)),
  ];
  const p = spawnSync(cmd[0], cmd.slice(1), { encoding: "utf8", maxBuffer: 1 << 26 });
  theirsBig = p.status === 0 ? JSON.parse(p.stdout.trim()) : { error: p.stderr.slice(-500) };
  const kb = Number(p.stderr.trim().split("\n").pop());
  if (timeBin.length && Number.isFinite(kb)) theirsBig.peak_rss_mb = kb / 1024;
}
const rate = (r) => ({
  mb_per_s: r.bytes / 1e6 / r.seconds,
  claims_per_s: r.claims / r.seconds,
  parse_mb_per_s: r.bytes / 1e6 / r.parse_seconds,
  parse_claims_per_s: r.claims / r.parse_seconds,
  mb_per_cpu_s: r.bytes / 1e6 / r.cpu_seconds,
});
const commit = (() => {
  try {
    return execSync("git rev-parse --short HEAD", { cwd: root, encoding: "utf8" }).trim();
  } catch {
    return "unknown";
  }
})();
const result = {
  date: new Date().toISOString(),
  commit,
  node: process.version,
  cpu: cpus()[0]?.model,
  cores: cpus().length,
  generate_seconds: genSeconds,
  ours_big: { ...ours, ...rate(ours) },
  ours_slice: { ...oursSlice, ...rate(oursSlice) },
  hccinfhir_slice: theirs,
  // end to end (parse, filter, warehouse publish) and parse + filter only (what hccinfhir's extractor does)
  ratio_mb_per_s: theirs.mb_per_s ? rate(oursSlice).mb_per_s / theirs.mb_per_s : null,
  ratio_parse_mb_per_s: theirs.mb_per_s ? rate(oursSlice).parse_mb_per_s / theirs.mb_per_s : null,
  // the large run against hccinfhir on the slice (it cannot take the large files), and per CPU second
  ratio_big_mb_per_s: theirs.mb_per_s ? rate(ours).mb_per_s / theirs.mb_per_s : null,
  ratio_big_parse_mb_per_s: theirs.mb_per_s ? rate(ours).parse_mb_per_s / theirs.mb_per_s : null,
  ratio_big_mb_per_cpu_s: theirs.mb_per_cpu_s ? rate(ours).mb_per_cpu_s / theirs.mb_per_cpu_s : null,
  // --big-oracle: hccinfhir on the same large files as our large run
  hccinfhir_big: theirsBig,
  ratio_same_big_mb_per_s: theirsBig?.mb_per_s ? rate(ours).mb_per_s / theirsBig.mb_per_s : null,
  ratio_same_big_parse_mb_per_s: theirsBig?.mb_per_s ? rate(ours).parse_mb_per_s / theirsBig.mb_per_s : null,
  ratio_same_big_mb_per_cpu_s: theirsBig?.mb_per_cpu_s ? rate(ours).mb_per_cpu_s / theirsBig.mb_per_cpu_s : null,
  workers: workersArg[1] ?? "default (available cores)",
  load_average: { start: loadStart, end: loadavg() },
};
process.stdout.write(JSON.stringify(result, null, 1) + "\n");
if (!smoke) {
  const tag = workersArg.length ? `-w${workersArg[1]}` : "";
  const out = join(root, "bench", "results", `ingest-${result.date.slice(0, 10)}-${commit}-${gb}gb${tag}.json`);
  writeFileSync(out, JSON.stringify(result, null, 1) + "\n");
  process.stderr.write(`written ${out}\n`);
}
rmSync(dir, { recursive: true, force: true });
