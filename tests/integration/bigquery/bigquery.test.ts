// BigQuery warehouse end to end against local protocol-level servers: the real
// @google-cloud/bigquery-storage BigQueryReadClient talks gRPC to FakeStorageServer (built from the
// shipped .proto files), the real @google-cloud/bigquery talks REST to FakeRestServer. No Google
// account: both endpoints are loopback, so the connections are plaintext and credential-free.
import { afterAll, beforeAll, beforeEach, describe, expect, it, onTestFinished } from "vitest";
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as grpc from "@grpc/grpc-js";
import {
  Bool,
  DateDay,
  Field,
  Float64,
  Int32,
  Int64,
  List,
  Table,
  TimestampMicrosecond,
  Utf8,
  vectorFromArray,
  type RecordBatch,
  type Vector,
} from "apache-arrow";
import { FakeRestServer, FakeWarehouse, type TableRef } from "./fake-rest-server.js";
import { FakeStorageServer } from "./fake-storage-server.js";
import { parseBigQueryConfig, type BigQueryConfig } from "../../../src/io/bigquery/config.js";
import { openBigQuerySource } from "../../../src/io/bigquery/source.js";
import { openBigQuerySink } from "../../../src/io/bigquery/sink.js";
import { describeBigQueryRun } from "../../../src/io/bigquery/dry-run.js";
import { HccError } from "../../../src/errors.js";
import type { ScoreRunRow } from "../../../src/io/types.js";

const PROJECT = "test-project";
const DATASET = "sgv_reporting";
const ref = (tableId: string): TableRef => ({ projectId: PROJECT, datasetId: DATASET, tableId });

// ---- fixtures: a small seeded warehouse ------------------------------------------------------

const CODES = ["E11.9", "I50.9", "N18.5", "J44.9", "F32.9", "Z00.00", "C50.911", "E66.01"];

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

interface Fixture {
  participants: Table;
  dx: Table;
  /** Expected codes per member id (sorted), duplicates and orphans excluded. */
  codesById: Map<string, string[]>;
  orphanRows: number;
  dxRowsOfMembers: number;
}

function makeFixture(members: number, seed = 7): Fixture {
  const r = rng(seed);
  const ids = Array.from({ length: members }, (_, i) => `M${String(i + 1).padStart(7, "0")}`);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)] as T;
  const pIds = [...ids, ids[0] ?? "M0000001"]; // one duplicated participant
  const participants = new Table({
    participant_id: vectorFromArray(pIds, new Utf8()),
    birth_date: vectorFromArray(
      pIds.map(() => new Date(Date.UTC(1930 + Math.floor(r() * 40), Math.floor(r() * 12), 1 + Math.floor(r() * 28)))),
      new DateDay(),
    ),
    sex: vectorFromArray(
      pIds.map(() => pick(["M", "F"])),
      new Utf8(),
    ),
    orec: vectorFromArray(
      pIds.map(() => pick(["0", "1"])),
      new Utf8(),
    ),
    medicaid: vectorFromArray(
      pIds.map(() => r() < 0.2),
      new Bool(),
    ),
    graft_months: vectorFromArray(
      pIds.map(() => (r() < 0.1 ? BigInt(Math.floor(r() * 30)) : null)),
      new Int64(),
    ),
    rx_plan: vectorFromArray(
      pIds.map(() => "mapd"),
      new Utf8(),
    ),
    plan_notes: vectorFromArray(
      pIds.map(() => "not selected"),
      new Utf8(),
    ),
  });
  const dxIds: string[] = [];
  const dxCodes: string[] = [];
  const codesById = new Map<string, string[]>();
  for (const id of ids) {
    const k = Math.floor(r() * 5);
    for (let j = 0; j < k; j++) {
      const c = pick(CODES);
      dxIds.push(id);
      dxCodes.push(c);
      codesById.set(id, [...(codesById.get(id) ?? []), c]);
    }
  }
  const dxRowsOfMembers = dxIds.length;
  for (let j = 0; j < 3; j++) {
    dxIds.push("ORPHAN-1");
    dxCodes.push(pick(CODES));
  }
  // shuffle: rows of one member may be anywhere
  const order = dxIds.map((_, i) => i).sort(() => r() - 0.5);
  const dx = new Table({
    participant_id: vectorFromArray(
      order.map((i) => dxIds[i] ?? ""),
      new Utf8(),
    ),
    diagnosis_code: vectorFromArray(
      order.map((i) => dxCodes[i] ?? ""),
      new Utf8(),
    ),
    service_date: vectorFromArray(
      order.map(() => new Date(Date.UTC(2025, 3, 1))),
      new DateDay(),
    ),
    source: vectorFromArray(
      order.map(() => "claims"),
      new Utf8(),
    ),
  });
  for (const [k, v] of codesById) codesById.set(k, v.sort());
  return { participants, dx, codesById, orphanRows: 3, dxRowsOfMembers };
}

// ---- servers ------------------------------------------------------------------------------------

let warehouse: FakeWarehouse;
let rest: FakeRestServer;
let storage: FakeStorageServer;
let env: Record<string, string>;
const fixture = makeFixture(2500);
const saved = { ...process.env };

beforeAll(async () => {
  warehouse = new FakeWarehouse();
  rest = new FakeRestServer(warehouse);
  storage = new FakeStorageServer(warehouse);
  env = { BIGQUERY_API_ENDPOINT: await rest.start(), BIGQUERY_STORAGE_ENDPOINT: await storage.start() };
  // Make sure nothing reaches for real credentials or a metadata server.
  process.env["GOOGLE_APPLICATION_CREDENTIALS"] = "/nonexistent/credentials.json";
  process.env["METADATA_SERVER_DETECTION"] = "none";
  process.env["BIGQUERY_RETRY_BASE_MS"] = "5"; // retries without the production backoff
});

afterAll(async () => {
  await rest.stop();
  await storage.stop();
  process.env = saved;
});

beforeEach(() => {
  warehouse.tables.clear();
  warehouse.addDataset(PROJECT, DATASET);
  warehouse.put(ref("participants"), fixture.participants);
  warehouse.put(ref("participant_diagnosis_codes"), fixture.dx);
  rest.requests.length = 0;
  rest.jobs.clear();
  rest.scripts.length = 0;
  rest.jobLatencyMs = 0;
  rest.faults = {};
  storage.sessions.length = 0;
  storage.reads.length = 0;
  storage.faults = {};
  storage.batchRows = 100;
});

function config(flags: Record<string, unknown> = {}, extraEnv: Record<string, string> = {}): BigQueryConfig {
  return parseBigQueryConfig({ project: PROJECT, dataset: DATASET, ...flags }, { ...env, ...extraEnv });
}

async function readAll(
  c: BigQueryConfig,
  batchSize = 4096,
): Promise<{ batches: RecordBatch[]; source: ReturnType<typeof openBigQuerySource> }> {
  const source = openBigQuerySource(c);
  const batches: RecordBatch[] = [];
  try {
    for await (const b of source.read({ batchSize })) batches.push(b);
  } finally {
    await source.close();
  }
  return { batches, source };
}

/** Member id → sorted codes, read column by column (no deep equality on Arrow tables). */
function codesOf(batches: RecordBatch[]): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const b of batches) {
    const ids = b.getChild("participant_id");
    const dx = b.getChild("diagnosis_codes");
    for (let i = 0; i < b.numRows; i++) {
      const id = String(ids?.get(i));
      expect(out.has(id), `member ${id} yielded twice`).toBe(false);
      const list = dx?.get(i) as Vector | null;
      out.set(id, list ? Array.from(list.toArray() as ArrayLike<string>).sort() : []);
    }
  }
  return out;
}

function expectAllMembers(got: Map<string, string[]>): void {
  expect(got.size).toBe(2500);
  for (const [id, codes] of got) expect(codes, id).toEqual(fixture.codesById.get(id) ?? []);
}

// ---- read path ------------------------------------------------------------------------------------

describe("BigQuery source (Storage Read API)", () => {
  it("groups with a query job, reads the result in Arrow over several streams, each member once", async () => {
    const { batches, source } = await readAll(config({ maxStreams: 4 }));
    expectAllMembers(codesOf(batches));
    const stats = source.stats();
    expect(stats).toEqual({
      membersRead: 2500,
      dxRowsRead: fixture.dxRowsOfMembers,
      orphanDxRows: 3,
      duplicateParticipants: 1,
      nullDxCodes: 0,
    });

    // what the servers received
    const query = rest.jobConfigurations().find((j) => j["query"]) as { query: { query: string; useLegacySql: boolean } };
    expect(query.query.query).toContain("ARRAY_AGG(d.diagnosis_code IGNORE NULLS)");
    expect(query.query.query).toContain(`\`${PROJECT}.${DATASET}.participant_diagnosis_codes\``);
    expect(query.query.useLegacySql).toBe(false);
    const [members, orphans] = storage.sessions;
    expect(members?.dataFormat).toBe("ARROW");
    expect(members?.maxStreamCount).toBe(4);
    expect(members?.selectedFields).toEqual([
      "participant_id",
      "birth_date",
      "sex",
      "orec",
      "medicaid",
      "graft_months",
      "rx_plan",
      "diagnosis_codes",
      "_dx_rows",
      "_null_dx",
      "_copies",
    ]);
    expect(members?.rowRestriction).toBe("_copies > 0");
    expect(orphans?.rowRestriction).toBe("_copies = 0");
    expect(new Set(storage.reads.map((r) => r.stream)).size).toBeGreaterThanOrEqual(4);

    // member batch schema (docs/pipeline.md)
    const b = batches[0];
    const type = (n: string): string => String(b?.schema.fields.find((f) => f.name === n)?.type);
    expect(type("participant_id")).toBe("Utf8");
    expect(type("birth_date")).toBe("Date32<DAY>");
    expect(type("graft_months")).toBe("Int32");
    expect(type("medicaid")).toBe("Bool");
    expect(type("diagnosis_codes")).toBe("List<Utf8>");
    expect(b?.schema.fields.some((f) => f.name.startsWith("_") || f.name === "plan_notes")).toBe(false);
    expect(Math.max(...batches.map((x) => x.numRows))).toBeLessThanOrEqual(4096);
  });

  it("passes --where as the row restriction and yields batches no larger than batchSize", async () => {
    const { batches } = await readAll(config({ where: "sex = 'F' AND birth_date < DATE '1950-01-01'" }), 64);
    expect(storage.sessions[0]?.rowRestriction).toBe("_copies > 0 AND (sex = 'F' AND birth_date < DATE '1950-01-01')");
    let n = 0;
    for (const b of batches) {
      expect(b.numRows).toBeLessThanOrEqual(64);
      for (let i = 0; i < b.numRows; i++) {
        expect(b.getChild("sex")?.get(i)).toBe("F");
        n++;
      }
    }
    expect(n).toBeGreaterThan(100);
    expect(n).toBeLessThan(2500);
  });

  it("reads a pre-grouped members table directly (no query job)", async () => {
    const grouped = new Table({
      participant_id: vectorFromArray(["A1", "A2", "A3"], new Utf8()),
      birth_date: vectorFromArray([new Date(Date.UTC(1950, 0, 1)), null, new Date(Date.UTC(1940, 5, 5))], new DateDay()),
      age: vectorFromArray([null, BigInt(70), null], new Int64()),
      diagnosis_codes: vectorFromArray([["E11.9"], [], ["I50.9", "N18.5"]], new List(new Field("item", new Utf8(), true))),
      score_hint: vectorFromArray([1.5, 2, 3], new Float64()),
    });
    warehouse.put(ref("members_grouped"), grouped);
    const { batches, source } = await readAll(config({ membersTable: "members_grouped" }));
    expect(rest.jobConfigurations()).toEqual([]);
    expect(storage.sessions[0]?.selectedFields).toEqual(["participant_id", "birth_date", "age", "diagnosis_codes"]);
    expect(codesOf(batches)).toEqual(
      new Map([
        ["A1", ["E11.9"]],
        ["A2", []],
        ["A3", ["I50.9", "N18.5"]],
      ]),
    );
    expect(String(batches[0]?.getChild("age")?.type)).toBe("Int32");
    expect(source.stats().dxRowsRead).toBe(3);
  });

  it("resumes a stream cut mid-way at its offset: no row lost or duplicated", async () => {
    storage.faults.readRows = ({ stream, attempt }) =>
      stream.endsWith("/streams/1") && attempt === 0
        ? { code: grpc.status.INTERNAL, details: "Received RST_STREAM with code 2 (Internal server error)", afterRows: 250 }
        : undefined;
    const { batches } = await readAll(config({ maxStreams: 3 }));
    expectAllMembers(codesOf(batches));
    const resumed = storage.reads.filter((r) => r.stream.endsWith("/streams/1"));
    expect(resumed.map((r) => r.offset)).toEqual([0, 200]); // 2 batches of 100 arrived before the cut
  });

  it("retries UNAVAILABLE, then succeeds", async () => {
    storage.faults.readRows = ({ attempt }) =>
      attempt === 0 ? { code: grpc.status.UNAVAILABLE, details: "connection reset", afterRows: 0 } : undefined;
    const { batches } = await readAll(config({ maxStreams: 2 }));
    expectAllMembers(codesOf(batches));
    expect(storage.reads.every((r) => r.offset === 0)).toBe(true);
    expect(storage.reads.length).toBe(3 * 2); // 2 member streams + the orphan stream, each twice
  });

  it("fails fast and clearly on PERMISSION_DENIED (exit code 69)", async () => {
    storage.faults.createReadSession = () => ({
      code: grpc.status.PERMISSION_DENIED,
      details: "Permission bigquery.readsessions.create denied on project test-project",
    });
    const err = await readAll(config()).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(HccError);
    expect((err as HccError).exitCode).toBe(69);
    expect((err as Error).message).toMatch(/permission denied.*readsessions\.create.*readSessionUser/is);
    expect(storage.sessions.length).toBe(1); // not retried
  });

  it("reports a missing table as unavailable without retrying", async () => {
    warehouse.delete(ref("participants"));
    const err = await readAll(config()).catch((e: unknown) => e);
    expect((err as HccError).exitCode).toBe(69);
    expect((err as Error).message).toMatch(/not found/i);
  });
});

// ---- write path -----------------------------------------------------------------------------------

/** Result rows: every 5th member not scored in V28 (null HCC list), every 3rd scored with no HCCs. */
function resultBatch(ids: string[], runId: string, score: number): RecordBatch {
  const t = new Table({
    participant_id: vectorFromArray(ids, new Utf8()),
    payment_year: vectorFromArray(
      ids.map(() => 2026),
      new Int32(),
    ),
    risk_score: vectorFromArray(
      ids.map(() => score),
      new Float64(),
    ),
    v28_hccs: vectorFromArray(
      ids.map((_, i) => (i % 5 === 0 ? null : i % 3 === 0 ? [] : ["HCC37", "HCC226"])),
      new List(new Field("item", new Utf8(), true)),
    ),
    run_id: vectorFromArray(
      ids.map(() => runId),
      new Utf8(),
    ),
  });
  const [b] = t.batches;
  if (!b) throw new Error("empty");
  return b;
}

/** A 0-row batch with the schema of resultBatch: what the pipeline writes for a table with no rows. */
function emptyBatch(runId: string): RecordBatch {
  const b = resultBatch(["x"], runId, 0);
  return b.slice(0, 0);
}

function runRow(runId: string, rows: number, startedAt = "2026-02-01T00:00:00.000Z"): ScoreRunRow {
  return {
    run_id: runId,
    started_at: startedAt,
    finished_at: "2026-02-01T00:05:00.000Z",
    engine_version: "0.1.0",
    payment_year: 2026,
    models: "V28",
    data_version: "py2026",
    data_manifest_sha256: "abc",
    source: "bigquery test",
    members_in: rows,
    rows_out: rows,
    members_errored: 0,
    orphan_dx_rows: 0,
    null_dx_codes: 0,
    status: "succeeded",
    error: null,
  };
}

const ids = (n: number, prefix = "M"): string[] => Array.from({ length: n }, (_, i) => `${prefix}${i}`);

interface WriteOptions {
  /** Rows for risk_scores (default n). */
  scores?: number;
  /** Rows for risk_score_factors (default n; 0 = the pipeline's 0-row schema batch). */
  factors?: number;
  run?: Partial<ScoreRunRow>;
}

async function writeRun(c: BigQueryConfig, runId: string, score: number, n = 1200, o: WriteOptions = {}): Promise<void> {
  const sink = openBigQuerySink(c);
  await sink.begin({ runId, paymentYear: 2026 });
  const scores = o.scores ?? n;
  const factors = o.factors ?? n;
  try {
    for (let s = 0; s < Math.max(scores, factors); s += 300) {
      const chunk = (k: number): string[] => ids(k).slice(s, s + 300);
      if (s < scores) await sink.write("risk_scores", resultBatch(chunk(scores), runId, score));
      if (s < factors) await sink.write("risk_score_factors", resultBatch(chunk(factors), runId, score / 2));
    }
    if (scores === 0) await sink.write("risk_scores", emptyBatch(runId));
    if (factors === 0) await sink.write("risk_score_factors", emptyBatch(runId));
    await sink.commit({ ...runRow(runId, scores), ...o.run });
  } catch (e) {
    await sink.abort(e);
    throw e;
  }
}

const tableNames = (): string[] =>
  [...warehouse.tables.keys()].filter((k) => k.startsWith(`${PROJECT}.${DATASET}.`)).map((k) => k.split(".").pop() ?? "");
const workTables = (): string[] => tableNames().filter((t) => /__(staging|backup)_/.test(t));
const runIds = (table: string): string[] => [...new Set(warehouse.rows(ref(table)).map((r) => String(r["run_id"])))];
const commitScripts = (): string[] => rest.scripts.filter((x) => x.sql.startsWith("-- hcc-wasm:commit")).map((x) => x.sql);

describe("BigQuery sink (Parquet load jobs + one transaction)", () => {
  it("loads Parquet parts into staging by resumable upload, publishes every table in one transaction, drops staging", async () => {
    const c = config({}, { BIGQUERY_LOAD_PART_ROWS: "500" });
    await writeRun(c, "20260201-aa", 1.25);
    expect(warehouse.get(ref("risk_scores"))?.numRows).toBe(1200);
    expect(warehouse.get(ref("risk_score_factors"))?.numRows).toBe(1200);
    const scores = warehouse.get(ref("risk_scores"));
    expect(scores?.getChild("risk_score")?.get(5)).toBe(1.25);
    expect([...((scores?.getChild("v28_hccs")?.get(1) as Vector).toArray() as string[])]).toEqual(["HCC37", "HCC226"]);
    const runs = warehouse.rows(ref("score_runs"));
    expect(runs.map((r) => r["run_id"])).toEqual(["20260201-aa"]);
    expect(workTables()).toEqual([]);

    // 1200 rows in parts of ≥ 500: 600 + 600 per table, each a resumable upload of a Parquet file
    const starts = rest.requests.filter((r) => r.method === "POST" && r.path.startsWith("/upload/"));
    expect(starts.length).toBe(4);
    expect(starts.every((r) => r.query["uploadType"] === "resumable")).toBe(true);
    const puts = rest.requests.filter((r) => r.method === "PUT" && r.path.startsWith("/upload/"));
    for (const p of puts)
      expect(
        Buffer.from(p.media ?? new Uint8Array())
          .subarray(0, 4)
          .toString(),
      ).toBe("PAR1");
    const loadCfg = starts.map((l) => (l.body as { configuration: { load: Record<string, unknown> } }).configuration.load);
    const staging = loadCfg.filter((x) =>
      String((x["destinationTable"] as TableRef).tableId).startsWith("risk_scores__staging_"),
    );
    expect(staging.map((x) => [x["writeDisposition"], x["createDisposition"]])).toEqual([
      ["WRITE_TRUNCATE", "CREATE_IF_NEEDED"],
      ["WRITE_APPEND", "CREATE_NEVER"],
    ]);
    expect(staging[0]).toMatchObject({ sourceFormat: "PARQUET", parquetOptions: { enableListInference: true } });
    expect((staging[0]?.["destinationTable"] as TableRef).tableId).toBe("risk_scores__staging_20260201_aa");
    // no copy jobs: one script, whose changes to the results are one transaction
    expect(rest.jobConfigurations().some((j) => j["copy"])).toBe(false);
    const [script] = commitScripts();
    expect(script).toBeDefined();
    const tx = script?.slice(script.indexOf("BEGIN TRANSACTION;"), script.indexOf("COMMIT TRANSACTION;")) ?? "";
    for (const t of ["risk_scores", "risk_score_factors"]) {
      expect(tx).toContain(`TRUNCATE TABLE \`${PROJECT}.${DATASET}.${t}\``);
      expect(tx).toContain(`INSERT INTO \`${PROJECT}.${DATASET}.${t}\``);
    }
    expect(tx).toContain(`INSERT INTO \`${PROJECT}.${DATASET}.score_runs\``);
    expect(script?.slice(script.indexOf("COMMIT TRANSACTION;") + 19).trim()).toBe("");
    const jobIds = rest.jobBodies().map((b) => String((b["jobReference"] as { jobId?: string } | undefined)?.jobId));
    expect(jobIds).toContain("hcc_commit_20260201-aa");
    expect(jobIds.filter((j) => j.startsWith("hcc_load_20260201-aa_")).length).toBe(4);

    // a second run replaces the tables and appends a second run row
    await writeRun(c, "20260202-bb", 2.5, 600);
    expect(warehouse.get(ref("risk_scores"))?.numRows).toBe(600);
    expect(runIds("risk_scores")).toEqual(["20260202-bb"]);
    expect(runIds("risk_score_factors")).toEqual(["20260202-bb"]);
    expect(warehouse.rows(ref("score_runs")).map((r) => r["run_id"])).toEqual(["20260201-aa", "20260202-bb"]);
    expect(workTables()).toEqual([]);
  });

  it("a failed load job leaves the previous results intact and drops staging", async () => {
    const c = config({}, { BIGQUERY_LOAD_PART_ROWS: "500" });
    await writeRun(c, "run-old", 1);
    rest.faults.job = (cfg) => {
      const load = cfg["load"] as { destinationTable?: TableRef; writeDisposition?: string } | undefined;
      return load?.destinationTable?.tableId.startsWith("risk_score_factors__staging") && load.writeDisposition === "WRITE_APPEND"
        ? { reason: "invalid", message: "Error while reading data, error message: injected failure" }
        : undefined;
    };
    const err = await writeRun(c, "run-new", 9).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(HccError);
    expect((err as Error).message).toMatch(/injected failure/);
    expect(runIds("risk_scores")).toEqual(["run-old"]);
    expect(runIds("risk_score_factors")).toEqual(["run-old"]);
    expect(warehouse.rows(ref("score_runs")).map((r) => r["run_id"])).toEqual(["run-old"]);
    expect(workTables()).toEqual([]);
  });

  it("a statement failing inside the transaction rolls back every table (issue 13 item 4)", async () => {
    const c = config();
    await writeRun(c, "run-old", 1, 300);
    // the last statement of the transaction fails: both result tables were already emptied and
    // refilled inside it, and must come back as they were
    rest.faults.statement = (stmt) =>
      stmt.startsWith(`INSERT INTO \`${PROJECT}.${DATASET}.score_runs\``)
        ? { reason: "backendError", message: "injected statement failure" }
        : undefined;
    const err = await writeRun(c, "run-new", 9, 300).catch((e: unknown) => e);
    expect((err as Error).message).toMatch(/injected statement failure/);
    expect((err as Error).message).toMatch(/rolled back.*previous results intact/);
    expect(runIds("risk_scores")).toEqual(["run-old"]);
    expect(runIds("risk_score_factors")).toEqual(["run-old"]);
    expect(warehouse.get(ref("risk_scores"))?.numRows).toBe(300);
    expect(warehouse.rows(ref("score_runs")).map((r) => r["run_id"])).toEqual(["run-old"]);
    expect(workTables()).toEqual([]);
  });

  it("abort before any load, and abort without begin, leave the dataset untouched", async () => {
    const sink = openBigQuerySink(config());
    await sink.abort(new Error("never began"));
    await sink.begin({ runId: "r1", paymentYear: 2026 });
    await sink.write("risk_scores", resultBatch(ids(10), "r1", 1));
    await sink.abort(new Error("scoring failed"));
    expect(tableNames().sort()).toEqual(["participant_diagnosis_codes", "participants"]);
  });

  it("fails fast with a clear message when the dataset is not there", async () => {
    const sink = openBigQuerySink(config({ dataset: "no_such_dataset" }));
    const err = await sink.begin({ runId: "r1", paymentYear: 2026 }).catch((e: unknown) => e);
    expect((err as HccError).exitCode).toBe(69);
    expect((err as Error).message).toMatch(/not found.*no_such_dataset/i);
  });
});

// ---- issue 13: results always mean "this run, complete" ---------------------------------------------

describe("BigQuery reliability (issue 13)", () => {
  it("item 1: a table that gets no rows switches to the new run as an empty table", async () => {
    const c = config();
    await writeRun(c, "20260201000000-00000001", 1, 300);
    // factors: the pipeline's 0-row batch carrying the schema
    await writeRun(c, "20260202000000-00000002", 2, 300, { factors: 0 });
    expect(runIds("risk_scores")).toEqual(["20260202000000-00000002"]);
    expect(warehouse.get(ref("risk_score_factors"))?.numRows).toBe(0);
    // every table empty (an empty participants table)
    await writeRun(c, "20260203000000-00000003", 3, 0, { scores: 0, factors: 0 });
    expect(warehouse.get(ref("risk_scores"))?.numRows).toBe(0);
    expect(warehouse.get(ref("risk_score_factors"))?.numRows).toBe(0);
    expect(warehouse.rows(ref("score_runs")).map((r) => r["run_id"])).toEqual([
      "20260201000000-00000001",
      "20260202000000-00000002",
      "20260203000000-00000003",
    ]);
    // a table for which the run gave not even a schema is emptied too
    await writeRun(c, "20260204000000-00000004", 4, 300);
    const sink = openBigQuerySink(c);
    await sink.begin({ runId: "20260205000000-00000005", paymentYear: 2026 });
    await sink.write("risk_scores", resultBatch(ids(10), "20260205000000-00000005", 5));
    await sink.commit(runRow("20260205000000-00000005", 10));
    expect(runIds("risk_scores")).toEqual(["20260205000000-00000005"]);
    expect(warehouse.get(ref("risk_score_factors"))?.numRows).toBe(0);
    expect(workTables()).toEqual([]);
  });

  it("item 4: the next successful run sweeps staging/backup tables of dead runs — ours only, never a later run's", async () => {
    const c = config();
    const dead = resultBatch(ids(3), "dead", 0);
    const leftovers = [
      "risk_scores__staging_20200101000000_deadbeef",
      "risk_score_factors__staging_20200101000000_deadbeef",
      "risk_score_factors__backup_20200101000000_deadbeef",
      "risk_scores__staging_run_killed",
    ];
    const foreign = ["other__staging_20200101000000_deadbeef", "risk_scores_archive", "risk_scores__staging_notes_x"];
    const later = "risk_scores__staging_29990101000000_cafebabe";
    for (const t of [...leftovers, ...foreign, later]) warehouse.put(ref(t), new Table([dead]));
    await writeRun(c, "20260201000000-0123abcd", 1, 300);
    const left = tableNames();
    for (const t of leftovers) expect(left, t).not.toContain(t);
    for (const t of [...foreign.filter((x) => !x.startsWith("risk_scores__staging_")), later]) expect(left, t).toContain(t);
    expect(runIds("risk_scores")).toEqual(["20260201000000-0123abcd"]);
  });

  it("item 4: a run whose staging another run removed fails cleanly instead of publishing part of its rows", async () => {
    const c = config({}, { BIGQUERY_LOAD_PART_ROWS: "500" });
    await writeRun(c, "20260201000000-00000001", 1);
    let loads = 0;
    rest.faults.job = (cfg) => {
      const load = cfg["load"] as { destinationTable?: TableRef } | undefined;
      if (load?.destinationTable?.tableId.startsWith("risk_scores__staging") && ++loads === 2) {
        warehouse.delete(ref(load.destinationTable.tableId)); // swept by another run between two parts
      }
      return undefined;
    };
    const err = await writeRun(c, "20260202000000-00000002", 2).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(HccError);
    expect((err as Error).message).toMatch(/not found/i);
    expect(runIds("risk_scores")).toEqual(["20260201000000-00000001"]);
    expect(warehouse.get(ref("risk_scores"))?.numRows).toBe(1200);
    expect(warehouse.rows(ref("score_runs"))).toHaveLength(1);
  });

  it("item 4: a run never publishes over the results of a run that started after it", async () => {
    const c = config();
    await writeRun(c, "20260201020000-0000000b", 2, 300, { run: { started_at: "2026-02-01T02:00:00.000Z" } });
    const err = await writeRun(c, "20260201010000-0000000a", 1, 300, { run: { started_at: "2026-02-01T01:00:00.000Z" } }).catch(
      (e: unknown) => e,
    );
    expect((err as HccError).exitCode).toBe(69);
    expect((err as Error).message).toMatch(/a run that started later has already published its results.*previous results intact/);
    expect(runIds("risk_scores")).toEqual(["20260201020000-0000000b"]);
    expect(warehouse.rows(ref("score_runs")).map((r) => r["run_id"])).toEqual(["20260201020000-0000000b"]);
  });

  it("item 4: a commit whose answer is lost runs exactly once (job id from the run, 409 on the retried insert)", async () => {
    const c = config();
    let lost = 0;
    rest.faults.loseAnswer = (method, path) =>
      method === "POST" && /^\/bigquery\/v2\/projects\/[^/]+\/jobs$/.test(path) && lost++ === 0 ? 503 : undefined;
    await writeRun(c, "20260201000000-00000001", 1, 300);
    expect(lost).toBeGreaterThanOrEqual(2); // the lost insert, then the retried one
    expect(warehouse.rows(ref("score_runs")).map((r) => r["run_id"])).toEqual(["20260201000000-00000001"]);
    expect(rest.scripts.filter((x) => x.sql.startsWith("-- hcc-wasm:commit"))).toHaveLength(1);
    expect(runIds("risk_scores")).toEqual(["20260201000000-00000001"]);
  });

  it("item 11: --location goes into jobReference.location only (the service rejects it inside configuration.*)", async () => {
    warehouse.addDataset(PROJECT, DATASET, "EU");
    const c = config({ location: "EU" }, { BIGQUERY_LOAD_PART_ROWS: "500" });
    await readAll(c);
    await writeRun(c, "20260201000000-00000001", 1);
    expect(runIds("risk_scores")).toEqual(["20260201000000-00000001"]);
    const bodies = rest.jobBodies();
    expect(bodies.length).toBeGreaterThan(4);
    for (const b of bodies) {
      const cfg = b["configuration"] as Record<string, Record<string, unknown>>;
      for (const kind of ["load", "copy", "query"]) expect(cfg[kind] ?? {}).not.toHaveProperty("location");
      expect((b["jobReference"] as { location?: string }).location).toBe("EU");
    }
  });

  it("item 11: a job located elsewhere than the dataset fails with the service's message", async () => {
    warehouse.addDataset(PROJECT, DATASET, "EU");
    const err = await writeRun(config({ location: "US" }), "20260201000000-00000001", 1, 10).catch((e: unknown) => e);
    expect((err as HccError).exitCode).toBe(69);
    expect((err as Error).message).toMatch(/not found in location US/);
  });

  it("item 11: transient 503s while uploading are retried and resumed; every part lands exactly once", async () => {
    const c = config({}, { BIGQUERY_LOAD_PART_ROWS: "500" });
    let starts = 0;
    rest.faults.http = (method, path) =>
      method === "POST" && path.startsWith("/upload/") && starts++ === 1
        ? { status: 503, reason: "backendError", message: "Service Unavailable" }
        : undefined;
    rest.faults.upload = ({ attempt }) => (attempt === 0 ? { status: 503, keepBytes: 100 } : undefined);
    await writeRun(c, "20260201000000-00000001", 1);
    expect(warehouse.get(ref("risk_scores"))?.numRows).toBe(1200);
    expect(warehouse.get(ref("risk_score_factors"))?.numRows).toBe(1200);
    expect(new Set(warehouse.rows(ref("risk_scores")).map((r) => r["participant_id"])).size).toBe(1200);
    // each upload was cut after 100 bytes and resumed from there
    const resumed = rest.requests.filter((r) => r.method === "PUT" && /^bytes 100-/.test(String(r.headers["content-range"])));
    expect(resumed.length).toBe(4);
  });

  it("item 11: a rejected load names the load, not --where, and is an internal error (70)", async () => {
    rest.faults.job = (cfg) =>
      cfg["load"] ? { reason: "invalid", message: "Error while reading data, error message: bad parquet" } : undefined;
    const err = await writeRun(config(), "20260201000000-00000001", 1, 10).catch((e: unknown) => e);
    expect((err as HccError).exitCode).toBe(70);
    expect((err as Error).message).toMatch(/loading result part 0 of risk_score(s|_factors) into .*__staging_.*bad parquet/);
    expect((err as Error).message).not.toMatch(/--where/);
  });

  it("item 11: a permission error on the read session names the input tables, not the query's temporary table", async () => {
    storage.faults.createReadSession = () => ({
      code: grpc.status.PERMISSION_DENIED,
      details: "Permission bigquery.readsessions.create denied on project test-project",
    });
    const err = await readAll(config()).catch((e: unknown) => e);
    expect((err as HccError).exitCode).toBe(69);
    const msg = (err as Error).message;
    expect(msg).toContain(`${PROJECT}.${DATASET}.participants`);
    expect(msg).toContain(`${PROJECT}.${DATASET}.participant_diagnosis_codes`);
    expect(msg).not.toMatch(/_anon|anon_\d/);
  });

  it("item 12: a model a member was not scored in stays distinguishable from 'scored, no HCCs' (<model>_scored)", async () => {
    await writeRun(config(), "20260201000000-00000001", 1, 30);
    const t = warehouse.get(ref("risk_scores"));
    const scored = t?.getChild("v28_scored");
    const hccs = t?.getChild("v28_hccs");
    expect(scored).toBeTruthy();
    for (let i = 0; i < 30; i++) {
      const v = hccs?.get(i) as Vector | null;
      const list: string[] = v ? Array.from(v.toArray() as ArrayLike<string>) : [];
      if (i % 5 === 0) {
        expect(scored?.get(i), `row ${i}`).toBe(false);
        expect(list).toEqual([]); // BigQuery stores the NULL list as []
      } else {
        expect(scored?.get(i), `row ${i}`).toBe(true);
        expect(list).toEqual(i % 3 === 0 ? [] : ["HCC37", "HCC226"]);
      }
    }
  });

  it("item 15: score_runs gains null_dx_codes and error; an older score_runs table is widened, its rows kept", async () => {
    const old = new Table({
      run_id: vectorFromArray(["20250101000000-00000000"], new Utf8()),
      started_at: vectorFromArray([new Date(Date.UTC(2025, 0, 1))], new TimestampMicrosecond("UTC")),
      finished_at: vectorFromArray([new Date(Date.UTC(2025, 0, 1))], new TimestampMicrosecond("UTC")),
      engine_version: vectorFromArray(["0.0.9"], new Utf8()),
      payment_year: vectorFromArray([2025n], new Int64()),
      models: vectorFromArray(["V24"], new Utf8()),
      data_version: vectorFromArray(["py2025"], new Utf8()),
      data_manifest_sha256: vectorFromArray(["x"], new Utf8()),
      source: vectorFromArray(["old"], new Utf8()),
      members_in: vectorFromArray([1n], new Int64()),
      rows_out: vectorFromArray([1n], new Int64()),
      members_errored: vectorFromArray([0n], new Int64()),
      orphan_dx_rows: vectorFromArray([0n], new Int64()),
      status: vectorFromArray(["succeeded"], new Utf8()),
    });
    warehouse.put(ref("score_runs"), old);
    await writeRun(config(), "20260201000000-00000001", 1, 10, { run: { null_dx_codes: 7 } });
    const rows = warehouse.rows(ref("score_runs"));
    expect(rows).toHaveLength(2);
    expect(rows[0]).toMatchObject({ run_id: "20250101000000-00000000", null_dx_codes: null, error: null });
    expect(rows[1]).toMatchObject({ run_id: "20260201000000-00000001", null_dx_codes: 7n, status: "succeeded", error: null });
  });

  it("item 15: a failed run is recorded in score_runs with its error; the results are untouched", async () => {
    const c = config();
    await writeRun(c, "20260201000000-00000001", 1, 30);
    const sink = openBigQuerySink(c);
    await sink.begin({ runId: "20260202000000-00000002", paymentYear: 2026 });
    await sink.write("risk_scores", resultBatch(ids(10), "20260202000000-00000002", 9));
    await sink.abort(new Error("scoring failed"));
    const error = "members in (10) ≠ result rows (9); it's 'quoted' -- and; multi\nline";
    await sink.recordFailure({ ...runRow("20260202000000-00000002", 10), status: "failed", error, rows_out: 9 });
    const rows = warehouse.rows(ref("score_runs"));
    expect(rows.map((r) => [r["run_id"], r["status"], r["error"]])).toEqual([
      ["20260201000000-00000001", "succeeded", null],
      ["20260202000000-00000002", "failed", error],
    ]);
    expect(runIds("risk_scores")).toEqual(["20260201000000-00000001"]);
    expect(warehouse.get(ref("risk_scores"))?.numRows).toBe(30);
    expect(workTables()).toEqual([]);
  });

  it("item 15: null diagnosis codes are counted by the source (for the summary and score_runs)", async () => {
    const extra = new Table({
      participant_id: vectorFromArray(["M0000001", "M0000002", "ORPHAN-9"], new Utf8()),
      diagnosis_code: vectorFromArray([null, null, null], new Utf8()),
      service_date: vectorFromArray([null, null, null], new DateDay()),
      source: vectorFromArray(["claims", "claims", "claims"], new Utf8()),
    });
    warehouse.put(ref("participant_diagnosis_codes"), fixture.dx.concat(extra));
    const { batches, source } = await readAll(config());
    expectAllMembers(codesOf(batches));
    expect(source.stats().nullDxCodes).toBe(2); // the orphan's null code is an orphan row
    expect(source.stats().orphanDxRows).toBe(4);
    expect(storage.sessions[0]?.selectedFields).toContain("_null_dx");
  });
});

// ---- configuration, auth, dry run, and the whole pipeline ------------------------------------------

describe("BigQuery configuration", () => {
  const base = { project: PROJECT, dataset: DATASET };
  it("validates identifiers before use", () => {
    expect(() => parseBigQueryConfig({ ...base, project: "Bad_Project" }, {})).toThrow(/--project.*not a valid project id/);
    expect(() => parseBigQueryConfig({ ...base, dataset: "x-y" }, {})).toThrow(/--dataset/);
    expect(() => parseBigQueryConfig({ ...base, riskScoresTable: "scores`; DROP TABLE x" }, {})).toThrow(/--risk-scores-table/);
    expect(() => parseBigQueryConfig({ ...base, participantsTable: "9lives" }, {})).toThrow(/--participants-table/);
    expect(() => parseBigQueryConfig({ ...base, where: "1=1; DELETE" }, {})).toThrow(/--where/);
    expect(() => parseBigQueryConfig({ dataset: DATASET }, {})).toThrow(/--project/);
    expect(parseBigQueryConfig({}, { BIGQUERY_PROJECT: "example.com:my-proj", BIGQUERY_DATASET: "d" }).project).toBe(
      "example.com:my-proj",
    );
    expect(parseBigQueryConfig(base, { BIGQUERY_PARTICIPANTS_TABLE: "people" }).tables.participants).toBe("people");
  });

  it("allows plaintext and credential-free connections only for loopback endpoints", () => {
    expect(() => parseBigQueryConfig(base, { BIGQUERY_API_ENDPOINT: "http://bq.example.com:9050" })).toThrow(/loopback/);
    expect(() => parseBigQueryConfig(base, { BIGQUERY_STORAGE_ENDPOINT: "http://10.0.0.5:443" })).toThrow(/loopback/);
    const remote = parseBigQueryConfig(base, { BIGQUERY_STORAGE_ENDPOINT: "storage.example.com:443" });
    expect(remote.storageEndpoint).toEqual({ host: "storage.example.com", port: 443, plaintext: false });
    expect(remote.auth.kind).toBe("adc");
    const local = parseBigQueryConfig(base, {
      BIGQUERY_API_ENDPOINT: "http://localhost:9050",
      BIGQUERY_STORAGE_ENDPOINT: "[::1]:9060",
    });
    expect(local.storageEndpoint?.plaintext).toBe(true);
    expect(local.auth.kind).toBe("none");
    const half = parseBigQueryConfig(base, { BIGQUERY_API_ENDPOINT: "http://127.0.0.1:9050" });
    expect(half.auth.kind).toBe("adc"); // the Storage API would go to Google: credentials needed
    expect(parseBigQueryConfig(base, { BIGQUERY_ACCESS_TOKEN: "ya29.token-value" }).auth).toEqual({
      kind: "token",
      token: "ya29.token-value",
    });
  });

  it("sends BIGQUERY_ACCESS_TOKEN as a bearer token through the Google libraries", async () => {
    const c = config({}, { BIGQUERY_ACCESS_TOKEN: "ya29.short-lived-test-token" });
    const withToken = openBigQuerySink(c);
    await withToken.begin({ runId: "r-token", paymentYear: 2026 });
    expect(rest.requests.at(-1)?.headers["authorization"]).toBe("Bearer ya29.short-lived-test-token");
    await withToken.abort(null);
    rest.requests.length = 0;
    const sink = openBigQuerySink(config());
    await sink.begin({ runId: "r-none", paymentYear: 2026 });
    expect(rest.requests.at(-1)?.headers["authorization"]).toBeUndefined();
    await sink.abort(null);
  });

  it("--dry-run describes reads and writes without reading rows or printing member data", async () => {
    const text = await describeBigQueryRun(config({ where: "sex = 'F'" }));
    expect(text).toContain(`${PROJECT}.${DATASET}.participants (2,501 rows`);
    expect(text).toContain("ARRAY_AGG(d.diagnosis_code IGNORE NULLS)");
    expect(text).toMatch(/estimated bytes billed by the query: [\d.]+ KiB/);
    expect(text).toContain("row restriction: sex = 'F'");
    expect(text).toContain("risk_scores__staging_<runId>");
    expect(text).not.toMatch(/M000\d{4}|E11\.9/);
    expect(storage.sessions).toEqual([]);
    expect(rest.jobConfigurations().every((j) => j["dryRun"] === true)).toBe(true);
  });
});

describe("BigQuery warehouse end to end", () => {
  it("scores every member through the worker pool and publishes the results", async () => {
    const { runScoring } = await import("../../../src/pipeline/score-run.js");
    const work = mkdtempSync(join(tmpdir(), "hcc-bq-test-"));
    const c = config({ maxStreams: 3, tmpDir: work });
    const source = openBigQuerySource(c);
    const summary = await runScoring({
      source,
      sink: openBigQuerySink(c),
      paymentYear: 2026,
      models: ["V28"],
      mceEdits: true,
      rounding: "round3",
      workers: 2,
      batchSize: 512,
    });
    await source.close();
    expect(summary.membersIn).toBe(2500);
    expect(warehouse.get(ref("risk_scores"))?.numRows).toBe(2500);
    const runs = warehouse.rows(ref("score_runs"));
    expect(runs).toHaveLength(1);
    expect(runs[0]).toMatchObject({
      run_id: summary.runId,
      members_in: 2500n,
      rows_out: 2500n,
      orphan_dx_rows: 3n,
      status: "succeeded",
    });
    const ids = warehouse.get(ref("risk_scores"))?.getChild("participant_id");
    expect(new Set(ids?.toArray() as string[]).size).toBe(2500);
    expect(tableNames().filter((t) => t.includes("__"))).toEqual([]);
    expect(readdirSync(work)).toEqual([]); // Parquet parts removed
    rmSync(work, { recursive: true });
  });
});

describe("BigQuery path and DuckDB path give identical results", () => {
  it("scores the same cohort through both warehouses with identical risk_scores", async () => {
    const { runScoring } = await import("../../../src/pipeline/score-run.js");
    const { openSource, openSink } = await import("../../../src/io/open.js");
    const { encodeParquet } = await import("../../../src/io/parquet.js");
    const { DuckDBInstance } = await import("@duckdb/node-api");
    const { writeFileSync } = await import("node:fs");
    // the same cohort in both warehouses: the fixture as the BigQuery tests use it, and in DuckDB
    // the same rows minus the deliberate duplicate participant (the DuckDB source rejects
    // duplicates; the BigQuery grouping query keeps one row per id, the first)
    const n = 2500;
    const participants = fixture.participants.slice(0, n);
    const dx = fixture.dx;
    const work = mkdtempSync(join(tmpdir(), "hcc-bq-duck-"));
    const pq = join(work, "p.parquet");
    const dq = join(work, "d.parquet");
    writeFileSync(pq, encodeParquet(participants.batches, "none"));
    writeFileSync(dq, encodeParquet(dx.batches, "none"));
    const db = join(work, "warehouse.duckdb");
    const inst = await DuckDBInstance.create(db);
    const conn = await inst.connect();
    await conn.run("CREATE SCHEMA sgv_reporting");
    await conn.run(
      `CREATE TABLE sgv_reporting.participants AS SELECT * REPLACE (CAST(graft_months AS INTEGER) AS graft_months) FROM read_parquet('${pq}')`,
    );
    await conn.run(
      `CREATE TABLE sgv_reporting.participant_diagnosis_codes AS SELECT participant_id, diagnosis_code, NULL::DATE AS service_date, NULL::VARCHAR AS source FROM read_parquet('${dq}')`,
    );
    conn.closeSync();
    inst.closeSync();

    const common = {
      paymentYear: 2026,
      models: ["V28"],
      mceEdits: true,
      rounding: "round3" as const,
      workers: 2,
      factors: false,
    };
    const c = config({ maxStreams: 2, tmpDir: work });
    const bqSource = openBigQuerySource(c);
    await runScoring({ ...common, source: bqSource, sink: openBigQuerySink(c) });
    await bqSource.close();
    const duckSource = await openSource(db);
    await runScoring({ ...common, source: duckSource, sink: await openSink(db) });
    await duckSource.close();

    const bq = warehouse.get(ref("risk_scores"));
    const inst2 = await DuckDBInstance.create(db);
    const conn2 = await inst2.connect();
    const duckRows = (
      await conn2.runAndReadAll(
        "SELECT participant_id, risk_score, payment_score, v28_raw_score, v28_segment, CASE WHEN v28_hccs IS NULL THEN NULL ELSE coalesce(array_to_string(v28_hccs, ','), '') END FROM sgv_reporting.risk_scores",
      )
    ).getRows();
    conn2.closeSync();
    inst2.closeSync();
    expect(bq?.numRows).toBe(n);
    expect(duckRows).toHaveLength(n);
    const bqById = new Map<string, unknown[]>();
    for (let i = 0; i < (bq?.numRows ?? 0); i++) {
      // BigQuery stores a NULL list as []: v28_scored says which rows were scored (issue 13 item 12)
      const hccs = bq?.getChild("v28_scored")?.get(i) === true ? (bq.getChild("v28_hccs")?.get(i) as Vector) : null;
      bqById.set(String(bq?.getChild("participant_id")?.get(i)), [
        bq?.getChild("risk_score")?.get(i) ?? null,
        bq?.getChild("payment_score")?.get(i) ?? null,
        bq?.getChild("v28_raw_score")?.get(i) ?? null,
        bq?.getChild("v28_segment")?.get(i) ?? null,
        hccs ? Array.from(hccs.toArray() as ArrayLike<string>).join(",") : null,
      ]);
    }
    let compared = 0;
    for (const r of duckRows) {
      expect(bqById.get(String(r[0])), String(r[0])).toEqual(r.slice(1));
      compared++;
    }
    expect(compared).toBe(n);
    rmSync(work, { recursive: true, force: true });
  });
});

describe("hcc CLI with --warehouse bigquery against the local servers", () => {
  it("`hcc score --warehouse bigquery` and `hcc nightly --warehouse bigquery --no-dbt` run end to end with no Google account", async () => {
    const { spawn } = await import("node:child_process");
    const bin = new URL("../../../bin/hcc.js", import.meta.url).pathname;
    const work = mkdtempSync(join(tmpdir(), "hcc-bq-cli-"));
    const run = (args: string[]): Promise<{ code: number | null; stderr: string; stdout: string }> =>
      new Promise((resolve) => {
        const child = spawn(process.execPath, [bin, ...args], {
          env: {
            ...process.env,
            ...env,
            METADATA_SERVER_DETECTION: "none",
            GOOGLE_APPLICATION_CREDENTIALS: "/nonexistent/credentials.json",
          },
          stdio: ["ignore", "pipe", "pipe"],
        });
        let stderr = "";
        let stdout = "";
        child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
        child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
        child.on("exit", (code) => resolve({ code, stderr, stdout }));
      });
    const flags = [
      "--project",
      PROJECT,
      "--dataset",
      DATASET,
      "--tmp-dir",
      work,
      "--year",
      "2026",
      "--models",
      "V28",
      "--workers",
      "2",
    ];
    const s = await run(["score", "--warehouse", "bigquery", ...flags]);
    expect(s.stderr).toMatch(/2,500 members read, 2,500 scored rows/);
    expect(s.code).toBe(0);
    expect(warehouse.get(ref("risk_scores"))?.numRows).toBe(2500);
    expect(warehouse.rows(ref("score_runs"))).toHaveLength(1);
    const n = await run([
      "nightly",
      "--warehouse",
      "bigquery",
      "--no-dbt",
      ...flags.filter((f, i, a) => f !== "--tmp-dir" && a[i - 1] !== "--tmp-dir"),
    ]);
    expect(n.code, n.stderr).toBe(0);
    expect(warehouse.rows(ref("score_runs"))).toHaveLength(2);
    // progress and summaries carry counts only
    expect(s.stderr + n.stderr).not.toMatch(/M000\d{4}/);
    rmSync(work, { recursive: true, force: true });
  });
});

// ---- fault test: SIGKILL the CLI at random instants -------------------------------------------------

interface CliRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  stderr: string;
  /** Spawn time (Date.now()) and duration. */
  start: number;
  ms: number;
}

/**
 * `hcc <args>` against the local servers; with `kill`, SIGKILLed `afterMs` after it started, or
 * after its first upload reached the server (the start of the write phase).
 */
async function runHcc(
  args: string[],
  extraEnv: Record<string, string> = {},
  kill?: { afterMs: number; from: "spawn" | "first-upload" },
): Promise<CliRun> {
  const { spawn } = await import("node:child_process");
  const bin = new URL("../../../bin/hcc.js", import.meta.url).pathname;
  const start = Date.now();
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [bin, ...args], {
      env: {
        ...process.env,
        ...env,
        METADATA_SERVER_DETECTION: "none",
        GOOGLE_APPLICATION_CREDENTIALS: "/nonexistent/credentials.json",
        ...extraEnv,
      },
      stdio: ["ignore", "ignore", "pipe"],
    });
    let stderr = "";
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    let timer: NodeJS.Timeout | null = null;
    if (kill?.from === "spawn") timer = setTimeout(() => child.kill("SIGKILL"), kill.afterMs);
    if (kill?.from === "first-upload") {
      const watch = (): void => {
        const up = rest.requests.some((q) => q.at >= start && q.method === "POST" && q.path.startsWith("/upload/"));
        timer = up ? setTimeout(() => child.kill("SIGKILL"), kill.afterMs) : setTimeout(watch, 2);
      };
      watch();
    }
    child.on("exit", (code, signal) => {
      if (timer) clearTimeout(timer);
      resolve({ code, signal, stderr, start, ms: Date.now() - start });
    });
  });
}

describe("BigQuery fault test: SIGKILL at random instants (issue 13 'How it is checked')", () => {
  it("after every kill the results are one run's complete tables; the next run leaves no staging tables or part files", async () => {
    const work = mkdtempSync(join(tmpdir(), "hcc-bq-kill-"));
    onTestFinished(() => rmSync(work, { recursive: true, force: true })); // also when it fails
    // jobs finish on the server 60 ms after insert, whether or not the client is still there;
    // small parts: several load jobs per table, so kills land between loads as well
    rest.jobLatencyMs = 60;
    const args = ["score", "--warehouse", "bigquery", "--project", PROJECT, "--dataset", DATASET, "--tmp-dir", work];
    const cliEnv = { BIGQUERY_LOAD_PART_ROWS: "2000", BIGQUERY_RETRY_BASE_MS: "5" };
    const flags = ["--year", "2026", "--models", "V28", "--workers", "2"];
    const check = (): string => {
      const succeeded = warehouse.rows(ref("score_runs")).filter((r) => r["status"] === "succeeded");
      const ids = succeeded.map((r) => String(r["run_id"]));
      expect(new Set(ids).size, "a run recorded twice").toBe(ids.length);
      const latest = succeeded.reduce((a, b) => (Number(b["started_at"]) > Number(a["started_at"]) ? b : a));
      const id = String(latest["run_id"]);
      expect(runIds("risk_scores"), "risk_scores is one run: the latest succeeded").toEqual([id]);
      expect(runIds("risk_score_factors"), "risk_score_factors is the same run").toEqual([id]);
      expect(warehouse.get(ref("risk_scores"))?.numRows).toBe(2500);
      expect(latest["rows_out"]).toBe(2500n);
      const members = new Set(warehouse.rows(ref("risk_scores")).map((r) => r["participant_id"]));
      expect(members.size).toBe(2500);
      for (const r of warehouse.rows(ref("risk_score_factors"))) expect(members.has(r["participant_id"])).toBe(true);
      return id;
    };

    const first = await runHcc([...args, ...flags], cliEnv);
    expect(first.code, first.stderr).toBe(0);
    expect(first.stderr).toMatch(/2,500 members read, 2,500 scored rows/);
    await rest.idle();
    let published = check();
    // When the baseline run wrote: from its first upload to its last request (commit, cleanup).
    const since = (f: (q: (typeof rest.requests)[number]) => boolean): number =>
      (rest.requests.find((q) => q.at >= first.start && f(q))?.at ?? first.start) - first.start;
    const writing = since((q) => q.method === "POST" && q.path.startsWith("/upload/"));
    const committed = Math.max(...rest.requests.filter((q) => q.at >= first.start).map((q) => q.at)) - first.start; // its last request
    expect(writing).toBeGreaterThan(0);
    expect(committed).toBeGreaterThan(writing);
    // Seeded random instants: every third anywhere in the run (from its start), the others in
    // its write phase (from its first upload to just after its commit), where a kill could split
    // the tables if anything could.
    const rnd = rng(20261204);
    let phase = committed - writing; // updated from every run that finishes (later runs are warm)
    const outcomes: string[] = [];
    let killed = 0;
    for (let i = 0; i < 10; i++) {
      const kill =
        i % 3 === 0
          ? { afterMs: Math.floor(rnd() * first.ms), from: "spawn" as const }
          : { afterMs: Math.floor(rnd() * (phase + 100)), from: "first-upload" as const };
      const at = `${kill.from === "spawn" ? "start" : "upload"}+${kill.afterMs}ms`;
      const staged = rest.scripts.length;
      const r = await runHcc([...args, ...flags], cliEnv, kill);
      await rest.idle(); // a commit inserted before the kill finishes on the server
      if (r.signal === "SIGKILL") killed++;
      else {
        expect(r.code, r.stderr).toBe(0);
        expect(r.stderr).toMatch(/2,500 members read/);
        const own = rest.requests.filter((q) => q.at >= r.start);
        const up = own.find((q) => q.method === "POST" && q.path.startsWith("/upload/"))?.at;
        if (up !== undefined) phase = Math.max(...own.map((q) => q.at)) - up;
      }
      const now = check();
      if (r.signal !== "SIGKILL") expect(now).not.toBe(published); // a run that finished published
      outcomes.push(
        `${at}:${r.signal ?? r.code}:${rest.scripts.length > staged ? "commit-ran" : "no-commit"}:${now === published ? "previous" : "new"}:${workTables().length}-staging`,
      );
      published = now;
    }
    console.log(
      `SIGKILL outcomes (baseline: first upload at ${writing} ms, last request at ${committed} ms): ${outcomes.join(" ")}`,
    );
    expect(killed).toBeGreaterThanOrEqual(5);

    // the next run succeeds and leaves nothing behind: no staging/backup table, no part directory
    const last = await runHcc([...args, ...flags], cliEnv);
    expect(last.code, last.stderr).toBe(0);
    await rest.idle();
    expect(check()).not.toBe(published);
    expect(workTables()).toEqual([]);
    expect(readdirSync(work)).toEqual([]);
  }, 240_000);
});
