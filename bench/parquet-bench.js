// Result-part Parquet writers on the same data: the engine's result batches for a generated
// cohort (scores and factors, one batch per 16,384 members, as the workers produce them) written
// as one part per batch and table by each candidate, single-threaded: encode seconds, bytes on
// disk, and DuckDB's time to read the parts back through views (as dbt does). Writes
// bench/results/parquet-<date>-<commit>-<members>.json (not with --smoke).
//
//   node --single-threaded-gc bench/parquet-bench.js [--members N] [--keep DIR] [--smoke]
import { mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync, existsSync } from "node:fs";
import os from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { Table, tableToIPC } from "apache-arrow";
import * as pw from "parquet-wasm";
import { DuckDBInstance } from "@duckdb/node-api";
import { generateWarehouse } from "../dist/cli/generate.js";
import { openSource } from "../dist/io/open.js";
import { loadEngine } from "../dist/load.js";
import { defaultDataDir } from "../dist/data/load.js";
import { fastParquet } from "../dist/io/parquet-writer.js";
import { writeResult } from "./record.js";

const { values: args } = parseArgs({
  options: {
    members: { type: "string" },
    keep: { type: "string" },
    smoke: { type: "boolean", default: false },
  },
});
const members = Number(args.members ?? (args.smoke ? "20000" : "1000000"));
const dir = args.keep ?? mkdtempSync(join(os.tmpdir(), "hcc-parquet-bench-"));
mkdirSync(dir, { recursive: true });
const db = join(dir, `warehouse-${members}.duckdb`);
if (!existsSync(db)) {
  await generateWarehouse({ members, seed: 7, out: db, paymentYear: 2026, layout: "long", dataDir: defaultDataDir() });
}

// the result batches, as a worker holds them after scoring
const engine = loadEngine({ paymentYear: 2026, models: [], mceEdits: true, rounding: "round3" });
const source = await openSource(db);
const results = [];
for await (const rb of source.read({ batchSize: 16384 })) {
  const { scores, factors } = engine.scoreArrowBatch(rb, "bench-run", { factors: true });
  results.push({ scores, factors });
}
await source.close();
const scoreRows = results.reduce((n, r) => n + r.scores.numRows, 0);
const factorRows = results.reduce((n, r) => n + (r.factors?.numRows ?? 0), 0);
console.log(
  `${scoreRows.toLocaleString("en-US")} score rows, ${factorRows.toLocaleString("en-US")} factor rows, ${results.length} batches; load ${os
    .loadavg()
    .map((l) => l.toFixed(2))
    .join(" ")}`,
);

// writeParquet takes ownership of its properties (a second call with the same object would get
// the defaults), so they are built per call
function parquetWasm(codec, dictionary) {
  return (rb) => {
    const props = new pw.WriterPropertiesBuilder()
      .setCompression(codec)
      .setDictionaryEnabled(dictionary)
      .setMaxRowGroupSize(1 << 20)
      .build();
    return pw.writeParquet(pw.Table.fromIPCStream(tableToIPC(new Table([rb]), "stream")), props);
  };
}

const writers = [
  { name: "hcc writer (uncompressed)", encode: (rb) => fastParquet([rb]) },
  { name: "parquet-wasm none", encode: parquetWasm(pw.Compression.UNCOMPRESSED, false) },
  { name: "parquet-wasm snappy", encode: parquetWasm(pw.Compression.SNAPPY, false) },
  { name: "parquet-wasm snappy + dictionary", encode: parquetWasm(pw.Compression.SNAPPY, true) },
  { name: "parquet-wasm lz4_raw", encode: parquetWasm(pw.Compression.LZ4_RAW, false) },
  { name: "parquet-wasm zstd", encode: parquetWasm(pw.Compression.ZSTD, false) },
];

const duck = await DuckDBInstance.create(":memory:", { threads: "1" });
const con = await duck.connect();
const sizeOf = (d) => readdirSync(d).reduce((n, f) => n + statSync(join(d, f)).size, 0);
/** CPU seconds of this process (user + system) since `c0`: less sensitive to a busy machine than wall time. */
const cpuSince = (c0) => {
  const c = process.cpuUsage(c0);
  return (c.user + c.system) / 1e6;
};
const readSeconds = async (d) => {
  const t = {};
  const cpu = {};
  for (const table of ["risk_scores", "risk_score_factors"]) {
    await con.run(`CREATE OR REPLACE VIEW v AS SELECT * FROM read_parquet('${d}/${table}-*.parquet')`);
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    await con.run("CREATE OR REPLACE TEMP TABLE x AS SELECT * FROM v"); // every column, as dbt's models read them
    t[table] = (performance.now() - t0) / 1000;
    cpu[table] = cpuSince(c0);
  }
  await con.run("DROP TABLE x");
  return { wall: t, cpu };
};

const runs = [];
const perMillion = 1e6 / scoreRows;
async function record(name, d, encodeSeconds, encodeCpuSeconds) {
  const read = await readSeconds(d);
  const r = {
    writer: name,
    encode_seconds: encodeSeconds,
    encode_seconds_per_1m_members: encodeSeconds * perMillion,
    encode_cpu_seconds_per_1m_members: encodeCpuSeconds * perMillion,
    bytes: sizeOf(d),
    mib_per_1m_members: (sizeOf(d) * perMillion) / 2 ** 20,
    duckdb_read_seconds: read.wall,
    duckdb_read_cpu_seconds: read.cpu,
    load_average: os.loadavg(),
  };
  runs.push(r);
  console.log(
    `${name}: encode ${r.encode_seconds_per_1m_members.toFixed(2)} s (CPU ${r.encode_cpu_seconds_per_1m_members.toFixed(2)} s)/1M members, ${r.mib_per_1m_members.toFixed(0)} MiB/1M, ` +
      `DuckDB read (1 thread) scores ${read.wall.risk_scores.toFixed(2)} s (CPU ${read.cpu.risk_scores.toFixed(2)}), factors ${read.wall.risk_score_factors.toFixed(2)} s (CPU ${read.cpu.risk_score_factors.toFixed(2)}); load ${r.load_average[0].toFixed(2)}`,
  );
}

for (const w of writers) {
  w.encode(results[0].factors ?? results[0].scores); // warm-up: JIT, Wasm instantiation, first-touch memory
  const d = join(dir, `parts-${runs.length}`);
  rmSync(d, { recursive: true, force: true });
  mkdirSync(d);
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  results.forEach((r, i) => {
    writeFileSync(join(d, `risk_scores-b${i}.parquet`), w.encode(r.scores));
    if (r.factors) writeFileSync(join(d, `risk_score_factors-b${i}.parquet`), w.encode(r.factors));
  });
  await record(w.name, d, (performance.now() - t0) / 1000, cpuSince(c0));
}

// DuckDB has no Arrow scan in @duckdb/node-api 1.4.5: it re-encodes the hcc writer's parts
// (cost = that writer's encode + this COPY), one thread as a worker would have
const plain = join(dir, "parts-0");
const plainSeconds = runs[0].encode_seconds;
const plainCpu = runs[0].encode_cpu_seconds_per_1m_members / perMillion;
for (const codec of ["snappy", "zstd"]) {
  const d = join(dir, `parts-duckdb-${codec}`);
  rmSync(d, { recursive: true, force: true });
  mkdirSync(d);
  const files = readdirSync(plain);
  await con.run(
    `COPY (SELECT * FROM read_parquet('${plain}/${files[0]}')) TO '${d}/warm-up' (FORMAT parquet, COMPRESSION ${codec})`,
  );
  rmSync(`${d}/warm-up`);
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  for (const f of files) {
    await con.run(`COPY (SELECT * FROM read_parquet('${plain}/${f}')) TO '${d}/${f}' (FORMAT parquet, COMPRESSION ${codec})`);
  }
  await record(`hcc writer + DuckDB COPY ${codec}`, d, plainSeconds + (performance.now() - t0) / 1000, plainCpu + cpuSince(c0));
}
con.closeSync();
duck.closeSync();

if (!args.smoke) {
  const out = writeResult("parquet", `-${members}`, {
    config: { members, score_rows: scoreRows, factor_rows: factorRows, batches: results.length, duckdb_threads: 1 },
    runs,
  });
  console.log(`wrote ${out}`);
}
for (const f of readdirSync(dir)) if (f.startsWith("parts-")) rmSync(join(dir, f), { recursive: true, force: true });
if (!args.keep) rmSync(dir, { recursive: true, force: true });
