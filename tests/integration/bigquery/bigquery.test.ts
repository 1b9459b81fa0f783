// BigQuery warehouse end to end against local protocol-level servers: the real
// @google-cloud/bigquery-storage BigQueryReadClient talks gRPC to FakeStorageServer (built from the
// shipped .proto files), the real @google-cloud/bigquery talks REST to FakeRestServer. No Google
// account: both endpoints are loopback, so the connections are plaintext and credential-free.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
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

  it("issue 13 item 11: a permission error on the read session names the input tables, not the query's temporary table", async () => {
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

  it("issue 13 item 15: null diagnosis codes are counted by the source (for the summary and score_runs)", async () => {
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

  it("reports a missing table as unavailable without retrying", async () => {
    warehouse.delete(ref("participants"));
    const err = await readAll(config()).catch((e: unknown) => e);
    expect((err as HccError).exitCode).toBe(69);
    expect((err as Error).message).toMatch(/not found/i);
  });
});

// ---- write path -----------------------------------------------------------------------------------

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
      ids.map((_, i) => (i % 3 === 0 ? [] : ["HCC37", "HCC226"])),
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

function runRow(runId: string, rows: number): ScoreRunRow {
  return {
    run_id: runId,
    started_at: "2026-02-01T00:00:00.000Z",
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

async function writeRun(c: BigQueryConfig, runId: string, score: number, n = 1200): Promise<void> {
  const sink = openBigQuerySink(c);
  await sink.begin({ runId, paymentYear: 2026 });
  try {
    for (let s = 0; s < n; s += 300) {
      const chunk = ids(n).slice(s, s + 300);
      await sink.write("risk_scores", resultBatch(chunk, runId, score));
      await sink.write("risk_score_factors", resultBatch(chunk, runId, score / 2));
    }
    await sink.commit(runRow(runId, n));
  } catch (e) {
    await sink.abort(e);
    throw e;
  }
}

const tableNames = (): string[] => [...warehouse.tables.keys()].map((k) => k.split(".").pop() ?? "");

describe("BigQuery sink (Parquet load jobs + copy jobs)", () => {
  it("loads Parquet parts into staging, swaps them in with copy jobs, appends score_runs, drops staging", async () => {
    const c = config({}, { BIGQUERY_LOAD_PART_ROWS: "500" });
    await writeRun(c, "20260201-aa", 1.25);
    expect(warehouse.get(ref("risk_scores"))?.numRows).toBe(1200);
    expect(warehouse.get(ref("risk_score_factors"))?.numRows).toBe(1200);
    const scores = warehouse.get(ref("risk_scores"));
    expect(scores?.getChild("risk_score")?.get(5)).toBe(1.25);
    expect([...((scores?.getChild("v28_hccs")?.get(1) as Vector).toArray() as string[])]).toEqual(["HCC37", "HCC226"]);
    const runs = warehouse.rows(ref("score_runs"));
    expect(runs.map((r) => r["run_id"])).toEqual(["20260201-aa"]);
    expect(tableNames().filter((t) => t.includes("__"))).toEqual([]);

    const loads = rest.requests.filter((r) => r.path.startsWith("/upload/"));
    // 1200 rows in parts of ≥ 500: 600 + 600 per table, plus the score_runs row
    expect(loads.length).toBe(5);
    for (const l of loads) expect(l.media?.subarray(0, 4).toString()).toBe("PAR1");
    const loadCfg = loads.map((l) => (l.body as { configuration: { load: Record<string, unknown> } }).configuration.load);
    const staging = loadCfg.filter((x) =>
      String((x["destinationTable"] as TableRef).tableId).startsWith("risk_scores__staging_"),
    );
    expect(staging.map((x) => x["writeDisposition"])).toEqual(["WRITE_TRUNCATE", "WRITE_APPEND"]);
    expect(staging[0]).toMatchObject({ sourceFormat: "PARQUET", parquetOptions: { enableListInference: true } });
    expect((staging[0]?.["destinationTable"] as TableRef).tableId).toBe("risk_scores__staging_20260201_aa");
    expect(loadCfg.at(-1)).toMatchObject({ writeDisposition: "WRITE_APPEND", destinationTable: { tableId: "score_runs" } });
    const copies = rest.jobConfigurations().flatMap((j) => (j["copy"] ? [j["copy"] as Record<string, unknown>] : []));
    expect(copies.map((x) => (x["destinationTable"] as TableRef).tableId)).toEqual(["risk_scores", "risk_score_factors"]);
    expect(copies.every((x) => x["writeDisposition"] === "WRITE_TRUNCATE")).toBe(true);

    // a second run replaces the tables and appends a second run row
    await writeRun(c, "20260202-bb", 2.5, 600);
    expect(warehouse.get(ref("risk_scores"))?.numRows).toBe(600);
    expect(warehouse.get(ref("risk_scores"))?.getChild("run_id")?.get(0)).toBe("20260202-bb");
    expect(warehouse.rows(ref("score_runs")).map((r) => r["run_id"])).toEqual(["20260201-aa", "20260202-bb"]);
    expect(tableNames().filter((t) => t.includes("__"))).toEqual([]);
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
    expect(warehouse.get(ref("risk_scores"))?.getChild("run_id")?.get(0)).toBe("run-old");
    expect(warehouse.get(ref("risk_score_factors"))?.getChild("run_id")?.get(0)).toBe("run-old");
    expect(warehouse.rows(ref("score_runs")).map((r) => r["run_id"])).toEqual(["run-old"]);
    expect(tableNames().filter((t) => t.includes("__"))).toEqual([]);
  });

  it("a copy job failing half-way restores the tables already replaced", async () => {
    const c = config();
    await writeRun(c, "run-old", 1, 300);
    rest.faults.job = (cfg) => {
      const copy = cfg["copy"] as { destinationTable?: TableRef; sourceTable?: TableRef } | undefined;
      return copy?.destinationTable?.tableId === "risk_score_factors" && copy.sourceTable?.tableId.includes("__staging_")
        ? { reason: "backendError", message: "injected copy failure" }
        : undefined;
    };
    const err = await writeRun(c, "run-new", 9, 300).catch((e: unknown) => e);
    expect((err as Error).message).toMatch(/injected copy failure.*restored|restored.*injected copy failure/);
    expect(warehouse.get(ref("risk_scores"))?.getChild("run_id")?.get(0)).toBe("run-old");
    expect(warehouse.get(ref("risk_score_factors"))?.getChild("run_id")?.get(0)).toBe("run-old");
    expect(warehouse.rows(ref("score_runs")).map((r) => r["run_id"])).toEqual(["run-old"]);
    expect(tableNames().filter((t) => t.includes("__"))).toEqual([]);
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
      const hccs = bq?.getChild("v28_hccs")?.get(i) as Vector | null;
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
