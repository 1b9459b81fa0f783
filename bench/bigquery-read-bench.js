// BigQuery Storage Read benchmark: members/s through the real BigQueryReadClient (gRPC, Arrow
// format) into BigQueryMemberSource batches, against the local BigQueryRead server of the
// integration tests (tests/integration/bigquery/fake-storage-server.ts) running in a worker
// thread, so server-side serialization does not share the reader's event loop.
//
//   node bench/bigquery-read-bench.js [--smoke] [--members N] [--streams K] [--response-rows R]
//                                     [--batch N] [--runs N]
//
// The table is pre-grouped (participants + diagnosis_codes ARRAY<STRING>, ~12 codes a member), read
// with --members-table semantics: the number is the Storage Read path alone (no query job). The
// TypeScript it needs (src/io/bigquery, the fake servers) is transpiled into .tmp/ at start, so no
// build is needed. Writes bench/results/bigquery-read-<date>-<shortcommit>.json; --smoke writes
// nothing. Timing assertions do not belong here.
import { spawnSync } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import os from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { parseArgs } from "node:util";
import { Worker, isMainThread, parentPort, workerData } from "node:worker_threads";
import ts from "typescript";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");
const OUT = join(ROOT, ".tmp", "bench-bigquery");
const SOURCES = [
  "src/errors.ts",
  "src/engine/member-fields.ts",
  "src/io/bigquery/config.ts",
  "src/io/bigquery/source.ts",
  "tests/integration/bigquery/fake-rest-server.ts",
  "tests/integration/bigquery/fake-storage-server.ts",
];
const PROJECT = "bench-project";
const DATASET = "bench";
const CODES = ["E11.9", "I50.9", "N18.5", "J44.9", "F32.9", "Z00.00", "C50.911", "E66.01", "I10", "E78.5", "M17.11", "G30.9"];

/** Transpiles the modules the bench needs (type-only imports vanish; relative paths are kept). */
function transpile() {
  for (const rel of SOURCES) {
    const out = join(OUT, rel.replace(/\.ts$/, ".js"));
    mkdirSync(dirname(out), { recursive: true });
    const { outputText } = ts.transpileModule(readFileSync(join(ROOT, rel), "utf8"), {
      compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022, verbatimModuleSyntax: true },
      fileName: rel,
    });
    writeFileSync(out, outputText);
  }
}
const mod = (rel) => import(pathToFileURL(join(OUT, rel.replace(/\.ts$/, ".js"))).href);

// ---- server thread ------------------------------------------------------------------------------
async function serve({ members, responseRows }) {
  const arrow = await import("apache-arrow");
  const { FakeRestServer, FakeWarehouse } = await mod("tests/integration/bigquery/fake-rest-server.ts");
  const { FakeStorageServer } = await mod("tests/integration/bigquery/fake-storage-server.ts");
  let seed = 20260201;
  const r = () => ((seed = (seed * 1664525 + 1013904223) >>> 0), seed / 2 ** 32);
  const ids = new Array(members);
  const dob = new Array(members);
  const sex = new Array(members);
  const orec = new Array(members);
  const medicaid = new Array(members);
  const dx = new Array(members);
  for (let i = 0; i < members; i++) {
    ids[i] = `M${String(i).padStart(9, "0")}`;
    dob[i] = new Date(Date.UTC(1930 + Math.floor(r() * 40), Math.floor(r() * 12), 1 + Math.floor(r() * 28)));
    sex[i] = r() < 0.5 ? "M" : "F";
    orec[i] = r() < 0.8 ? "0" : "1";
    medicaid[i] = r() < 0.2;
    const k = Math.floor(r() * 25);
    dx[i] = Array.from({ length: k }, () => CODES[Math.floor(r() * CODES.length)]);
  }
  const { Table, vectorFromArray, Utf8, DateDay, Bool, List, Field } = arrow;
  const table = new Table({
    participant_id: vectorFromArray(ids, new Utf8()),
    birth_date: vectorFromArray(dob, new DateDay()),
    sex: vectorFromArray(sex, new Utf8()),
    orec: vectorFromArray(orec, new Utf8()),
    medicaid: vectorFromArray(medicaid, new Bool()),
    diagnosis_codes: vectorFromArray(dx, new List(new Field("item", new Utf8(), true))),
  });
  const wh = new FakeWarehouse();
  wh.put({ projectId: PROJECT, datasetId: DATASET, tableId: "members" }, table);
  const server = new FakeStorageServer(wh);
  server.batchRows = responseRows;
  const rest = new FakeRestServer(wh);
  parentPort.postMessage({ storage: await server.start(), api: await rest.start() });
  parentPort.on("message", async (m) => {
    if (m === "stop") {
      await server.stop();
      await rest.stop();
      process.exit(0);
    }
  });
}

if (!isMainThread) {
  await serve(workerData);
} else {
  await main();
}

// ---- reader (main thread) -----------------------------------------------------------------------
async function main() {
  const { values: args } = parseArgs({
    options: {
      smoke: { type: "boolean", default: false },
      members: { type: "string" },
      streams: { type: "string", default: "4" },
      "response-rows": { type: "string", default: "4096" },
      batch: { type: "string", default: "16384" },
      runs: { type: "string" },
    },
  });
  const smoke = args.smoke;
  const members = positiveInt(args.members ?? (smoke ? "20000" : "1000000"), "--members");
  const streams = positiveInt(args.streams, "--streams");
  const responseRows = positiveInt(args["response-rows"], "--response-rows");
  const batchSize = positiveInt(args.batch, "--batch");
  const runs = positiveInt(args.runs ?? (smoke ? "1" : "3"), "--runs");

  transpile();
  const t0 = performance.now();
  const worker = new Worker(fileURLToPath(import.meta.url), { workerData: { members, responseRows } });
  const endpoints = await new Promise((resolve, reject) => {
    worker.once("message", resolve);
    worker.once("error", reject);
  });
  const setupS = (performance.now() - t0) / 1000;
  const { parseBigQueryConfig } = await mod("src/io/bigquery/config.ts");
  const { openBigQuerySource } = await mod("src/io/bigquery/source.ts");
  // Pre-grouped table: one tables.get over REST, then the Storage Read session (what is timed).
  const config = parseBigQueryConfig(
    { project: PROJECT, dataset: DATASET, membersTable: "members", maxStreams: streams },
    { BIGQUERY_API_ENDPOINT: endpoints.api, BIGQUERY_STORAGE_ENDPOINT: endpoints.storage },
  );
  const timings = [];
  for (let run = 0; run < runs; run++) {
    const source = openBigQuerySource(config);
    const ts0 = performance.now();
    let rows = 0;
    let batches = 0;
    for await (const b of source.read({ batchSize })) {
      rows += b.numRows;
      batches++;
    }
    const s = (performance.now() - ts0) / 1000;
    await source.close();
    if (rows !== members) throw new Error(`read ${rows} rows, expected ${members}`);
    timings.push({ seconds: s, rowsPerSecond: rows / s, batches, dxRows: source.stats().dxRowsRead });
  }
  worker.postMessage("stop");
  const best = timings.reduce((a, b) => (b.rowsPerSecond > a.rowsPerSecond ? b : a));
  const median = [...timings].sort((a, b) => a.rowsPerSecond - b.rowsPerSecond)[Math.floor(timings.length / 2)];
  const cpus = os.cpus();
  const env = {
    date: new Date().toISOString(),
    node: process.version,
    cpu: cpus[0]?.model ?? "unknown",
    cores: cpus.length,
    total_memory_gib: +(os.totalmem() / 2 ** 30).toFixed(1),
    commit: git(["rev-parse", "HEAD"]),
    dirty: git(["status", "--porcelain"]) !== "",
  };
  console.log(`BigQuery Storage Read → BigQueryMemberSource (local BigQueryRead server in a worker thread)`);
  console.log(`${env.cpu}, ${env.cores} cores; Node ${env.node}; ${env.commit.slice(0, 7)}${env.dirty ? "+dirty" : ""}`);
  console.log(
    `members ${members.toLocaleString("en-US")}, streams ${streams}, rows/response ${responseRows}, batch ${batchSize}, setup ${setupS.toFixed(1)} s`,
  );
  for (const [i, t] of timings.entries()) {
    console.log(
      `  run ${i + 1}: ${t.seconds.toFixed(2)} s, ${Math.round(t.rowsPerSecond).toLocaleString("en-US")} members/s, ${t.batches} batches`,
    );
  }
  console.log(
    `median ${Math.round(median.rowsPerSecond).toLocaleString("en-US")} members/s; peak RSS ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MiB`,
  );
  if (!smoke) {
    const dir = join(ROOT, "bench", "results");
    mkdirSync(dir, { recursive: true });
    const file = join(dir, `bigquery-read-${env.date.slice(0, 10)}-${env.commit.slice(0, 7) || "nogit"}.json`);
    const result = {
      benchmark: "bigquery-read",
      env,
      params: { members, streams, responseRows, batchSize, runs },
      runs: timings,
      median,
      best,
    };
    writeFileSync(file, JSON.stringify(result, null, 2) + "\n");
    console.log(`wrote ${file}`);
  }
}

function positiveInt(s, name) {
  const n = Number(s);
  if (!Number.isInteger(n) || n < 1) {
    console.error(`bigquery-read-bench: ${name} must be a positive whole number (got ${s})`);
    process.exit(64);
  }
  return n;
}

function git(a) {
  const r = spawnSync("git", a, { cwd: ROOT, encoding: "utf8" });
  return r.status === 0 ? r.stdout.trim() : "";
}
