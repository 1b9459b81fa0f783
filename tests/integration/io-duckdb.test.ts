// The DuckDB warehouse source and sink against real DuckDB files in a temp dir: both layouts,
// orphan and null counts, the bad-input decisions of docs/warehouse.md, and atomic result swaps
// (a throwing write and a SIGKILLed writer leave the previous results intact).
import { describe, expect, it, beforeAll } from "vitest";
import { spawn } from "node:child_process";
import { mkdtempSync, existsSync, readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DuckDBInstance } from "@duckdb/node-api";
import {
  Field,
  Float64,
  Int32,
  List,
  RecordBatch,
  Schema,
  Struct,
  Utf8,
  makeData,
  vectorFromArray,
  type Data,
  type DataType,
} from "apache-arrow";
import { DuckDBWarehouseSource } from "../../src/io/duckdb-warehouse.js";
import { DuckDBWarehouseSink, resultsRoot } from "../../src/io/duckdb-sink.js";
import { openSink, openSource } from "../../src/io/open.js";
import { generateWarehouse } from "../../src/cli/generate.js";
import type { ScoreRunRow } from "../../src/io/types.js";

const dir = mkdtempSync(join(tmpdir(), "hcc-io-duckdb-"));
const dataDir = new URL("../../data", import.meta.url).pathname;

async function sql(path: string, text: string): Promise<unknown[][]> {
  const db = await DuckDBInstance.create(path);
  const c = await db.connect();
  try {
    return (await c.runAndReadAll(text)).getRowsJS();
  } finally {
    c.closeSync();
    db.closeSync();
  }
}

async function readAll(
  src: DuckDBWarehouseSource | Awaited<ReturnType<typeof openSource>>,
  batchSize = 1000,
): Promise<RecordBatch[]> {
  const out: RecordBatch[] = [];
  for await (const b of src.read({ batchSize })) out.push(b);
  await src.close();
  return out;
}

/** participant_id → codes, from Arrow batches (test-side strings are fine). */
function codesById(batches: RecordBatch[]): Map<string, string[]> {
  const m = new Map<string, string[]>();
  for (const b of batches) {
    const ids = b.getChild("participant_id");
    const dx = b.getChild("diagnosis_codes");
    for (let i = 0; i < b.numRows; i++) {
      const v = dx?.get(i) as { toArray(): string[] } | null;
      m.set(String(ids?.get(i)), v ? [...v.toArray()].sort() : []);
    }
  }
  return m;
}

const baseRun = (runId: string): ScoreRunRow => ({
  run_id: runId,
  started_at: "2026-01-01T00:00:00.000Z",
  finished_at: "2026-01-01T00:01:00.000Z",
  engine_version: "0.1.0",
  payment_year: 2026,
  models: "V28",
  data_version: "test",
  data_manifest_sha256: "test",
  source: "test",
  members_in: 3,
  rows_out: 3,
  members_errored: 0,
  orphan_dx_rows: 0,
  null_dx_codes: 0,
  status: "succeeded",
  error: null,
});

const col = <T extends DataType>(values: unknown[], type: T): Data => vectorFromArray(values, type).data[0] as Data;

function scoresBatch(ids: string[], score: number): RecordBatch {
  const hccs = new List(new Field("item", new Utf8(), true));
  const cols: [string, Data][] = [
    ["participant_id", col(ids, new Utf8())],
    [
      "payment_year",
      col(
        ids.map(() => 2026),
        new Int32(),
      ),
    ],
    [
      "risk_score",
      col(
        ids.map((_, i) => score + i / 1000),
        new Float64(),
      ),
    ],
    [
      "v28_hccs",
      col(
        ids.map((_, i) => (i % 2 ? ["HCC38", "HCC226"] : [])),
        hccs,
      ),
    ],
    [
      "error",
      col(
        ids.map((_, i) => (i === 1 ? "age: neither age nor birth_date given" : null)),
        new Utf8(),
      ),
    ],
  ];
  const fields = cols.map(([n, d]) => new Field(n, d.type, true));
  return new RecordBatch(
    new Schema(fields),
    makeData({ type: new Struct(fields), length: ids.length, nullCount: 0, children: cols.map(([, d]) => d) }),
  );
}

describe("DuckDB warehouse source", () => {
  const long = join(dir, "long.duckdb");
  const grouped = join(dir, "grouped.duckdb");
  beforeAll(async () => {
    await generateWarehouse({ members: 3000, seed: 11, out: long, paymentYear: 2026, layout: "long", dataDir });
    await generateWarehouse({ members: 3000, seed: 11, out: grouped, paymentYear: 2026, layout: "grouped", dataDir });
  });

  it("reads the long layout: every member once, every dx row counted, codes as in the table", async () => {
    const src = new DuckDBWarehouseSource({ path: long });
    const batches = await readAll(src, 1024);
    const stats = src.stats();
    expect(stats.membersRead).toBe(3000);
    expect(batches.reduce((n, b) => n + b.numRows, 0)).toBe(3000);
    const [[dxRows]] = (await sql(long, "SELECT count(*) FROM sgv_reporting.participant_diagnosis_codes")) as [[bigint]];
    expect(stats.dxRowsRead).toBe(Number(dxRows));
    expect(stats.orphanDxRows).toBe(0);
    expect(stats.duplicateParticipants).toBe(0);
    const got = codesById(batches);
    expect(got.size).toBe(3000);
    const rows = (await sql(
      long,
      "SELECT participant_id, list(diagnosis_code ORDER BY diagnosis_code) FROM sgv_reporting.participant_diagnosis_codes GROUP BY 1",
    )) as [string, string[]][];
    for (const [id, codes] of rows) expect(got.get(id)).toEqual([...codes].sort());
    // scalar columns, column by column against DuckDB
    const ref = new Map(
      (
        (await sql(long, "SELECT participant_id, birth_date, sex, lti, dual_elgbl_cd FROM sgv_reporting.participants")) as [
          string,
          Date,
          string,
          boolean,
          string | null,
        ][]
      ).map((r) => [r[0], r]),
    );
    const b = batches[0]!;
    for (let i = 0; i < b.numRows; i++) {
      const r = ref.get(String(b.getChild("participant_id")?.get(i)))!;
      expect(b.getChild("birth_date")?.get(i)).toBe(r[1].getTime());
      expect(b.getChild("sex")?.get(i)).toBe(r[2]);
      expect(b.getChild("lti")?.get(i)).toBe(r[3]);
      expect(b.getChild("dual_elgbl_cd")?.get(i) ?? null).toBe(r[4]);
    }
  });

  it("reads the grouped layout with the same members and codes (the generator is deterministic)", async () => {
    const a = codesById(await readAll(new DuckDBWarehouseSource({ path: long })));
    const src = new DuckDBWarehouseSource({ path: grouped });
    const b = codesById(await readAll(src));
    expect(src.stats().membersRead).toBe(3000);
    expect(b).toEqual(a);
  });

  it("closes cleanly when the consumer stops after the first batch", async () => {
    const src = new DuckDBWarehouseSource({ path: long });
    for await (const b of src.read({ batchSize: 100 })) {
      expect(b.numRows).toBeGreaterThan(0);
      break;
    }
    await src.close();
    const again = new DuckDBWarehouseSource({ path: long });
    expect((await readAll(again)).length).toBeGreaterThan(0);
  });

  it("builds the dbt-facing tables", async () => {
    const [[hp, opp, kinds]] = (await sql(
      long,
      "SELECT (SELECT count(*) FROM sgv_reporting.hcc_participant), (SELECT count(*) FROM sgv_reporting.hcc_opportunities), (SELECT list(DISTINCT source ORDER BY source) FROM sgv_reporting.hcc_opportunities)",
    )) as [[bigint, bigint, string[]]];
    expect(Number(hp)).toBeGreaterThan(1000);
    expect(Number(opp)).toBeGreaterThan(100);
    expect(kinds).toEqual(["prior_year", "suspect"]);
  });
});

describe("DuckDB warehouse bad input", () => {
  let n = 0;
  async function warehouse(ddl: string): Promise<string> {
    const path = join(dir, `bad-${n++}.duckdb`);
    await sql(path, `CREATE SCHEMA sgv_reporting; ${ddl}`);
    return path;
  }
  const P = "CREATE TABLE sgv_reporting.participants AS SELECT * FROM (VALUES";
  const D = "CREATE TABLE sgv_reporting.participant_diagnosis_codes AS SELECT * FROM (VALUES";

  it("counts orphan and null-code dx rows, and gives a member without dx rows an empty list", async () => {
    const path =
      await warehouse(`${P} ('A', DATE '1950-01-01', 'F'), ('B', DATE '1951-01-01', 'M'), ('C', NULL, 'M')) t(participant_id, birth_date, sex);
      ${D} ('B', 'I10'), ('X', 'E119'), ('A', 'E119'), (NULL, 'I10'), ('A', NULL), ('B', 'N186'), ('Y', 'Z00')) t(participant_id, diagnosis_code);`);
    const src = new DuckDBWarehouseSource({ path });
    const got = codesById(await readAll(src));
    expect(got).toEqual(
      new Map([
        ["A", ["E119"]],
        ["B", ["I10", "N186"]],
        ["C", []],
      ]),
    );
    expect(src.stats()).toEqual({
      membersRead: 3,
      dxRowsRead: 3,
      orphanDxRows: 3,
      duplicateParticipants: 0,
      nullDxRows: 1,
      nullDxCodes: 1,
    });
  });

  it("partitions by id ranges cover every member once: integer ids, quotes, more partitions than members", async () => {
    const ints =
      await warehouse(`CREATE TABLE sgv_reporting.participants AS SELECT i AS participant_id, CASE WHEN i % 2 = 0 THEN 'F' ELSE 'M' END AS sex FROM range(1, 301) t(i);
      CREATE TABLE sgv_reporting.participant_diagnosis_codes AS SELECT (i % 320) + 1 AS participant_id, CASE WHEN i % 3 = 0 THEN 'E119' ELSE 'I10' END AS diagnosis_code FROM range(0, 2000) t(i);`);
    const quoted = await warehouse(`${P} ('O''Brien', 'F'), ('a', 'M'), ('Z', 'M')) t(participant_id, sex);
      ${D} ('O''Brien', 'I10'), ('Z', 'E119'), ('a', 'N186'), ('q', 'Z00')) t(participant_id, diagnosis_code);`);
    for (const [path, n] of [
      [ints, 7],
      [quoted, 5],
    ] as const) {
      const one = new DuckDBWarehouseSource({ path });
      const a = codesById(await readAll(one));
      const parted = new DuckDBWarehouseSource({ path, partitions: n });
      const b = codesById(await readAll(parted, 16));
      expect([...b.keys()].sort()).toEqual([...a.keys()].sort());
      for (const [id, codes] of a) expect([...(b.get(id) ?? [])].sort()).toEqual([...codes].sort());
      expect(parted.stats()).toEqual(one.stats());
    }
  });

  it("reads the same members in partitions (bounded memory), orphans counted across them", async () => {
    // ids in order (partition bounds fetched by position), in reverse and behind a view (bounds
    // from a sample)
    for (const [rows, view] of [
      ["('A', 'F'), ('B', 'M'), ('C', 'M'), ('D', 'F')", false],
      ["('D', 'F'), ('C', 'M'), ('B', 'M'), ('A', 'F')", false],
      ["('A', 'F'), ('B', 'M'), ('C', 'M'), ('D', 'F')", true],
    ] as const) {
      const path = await warehouse(`${P} ${rows}) t(participant_id, sex);
        ${D} ('B', 'I10'), ('X', 'E119'), ('A', 'E119'), ('D', 'N186'), ('B', 'N186'), ('Y', 'Z00')) t(participant_id, diagnosis_code);
        ${view ? "ALTER TABLE sgv_reporting.participants RENAME TO p_base; CREATE VIEW sgv_reporting.participants AS SELECT * FROM sgv_reporting.p_base;" : ""}`);
      const one = new DuckDBWarehouseSource({ path });
      const a = codesById(await readAll(one));
      expect([...a.keys()].sort()).toEqual(["A", "B", "C", "D"]);
      const four = new DuckDBWarehouseSource({ path, partitions: 4, memoryLimit: "256MB" });
      expect(codesById(await readAll(four, 1))).toEqual(a);
      expect(four.stats()).toEqual(one.stats());
      expect(four.stats()).toMatchObject({ membersRead: 4, dxRowsRead: 4, orphanDxRows: 2 });
    }
  });

  it("fails on a duplicate participant id, naming table, both rows and the column (no ids)", async () => {
    const path = await warehouse(
      `${P} ('A', 'F'), ('B', 'M'), ('A', 'M')) t(participant_id, sex); ${D} ('A', 'I10')) t(participant_id, diagnosis_code);`,
    );
    await expect(readAll(new DuckDBWarehouseSource({ path }))).rejects.toThrow(
      /sgv_reporting\.participants: row 3: column participant_id: duplicate of row 1/,
    );
  });

  it("finds a duplicate id next to its twin in a table in id order, at vector and row-group boundaries", async () => {
    // ids in ascending order are proven distinct by one streaming pass (lag over the scan); a
    // repeated id must stop that proof wherever it falls, here where DuckDB's vectors (2,048 rows)
    // and row groups (122,880 rows) meet, and then be named as the hash check names it
    for (const [at, what] of [
      [2049, "vector"],
      [122881, "row group"],
      [2, "first rows"],
    ] as const) {
      const path = await warehouse(`CREATE TABLE sgv_reporting.participants AS
          SELECT printf('M%09d', CASE WHEN i = ${at} THEN i - 1 ELSE i END) AS participant_id, 'F' AS sex FROM range(1, 250001) r(i) ORDER BY i;
        ${D} ('M000000001', 'I10')) t(participant_id, diagnosis_code);`);
      await expect(readAll(new DuckDBWarehouseSource({ path })), what).rejects.toThrow(
        new RegExp(`participants: row ${at}: column participant_id: duplicate of row ${at - 1} \\(1 duplicate rows\\)`),
      );
    }
    // the same table without the repeat, in id order and in reverse: no error either way
    for (const order of ["i", "i DESC"]) {
      const path = await warehouse(`CREATE TABLE sgv_reporting.participants AS
          SELECT printf('M%09d', i) AS participant_id, 'F' AS sex FROM range(1, 250001) r(i) ORDER BY ${order};
        ${D} ('M000000001', 'I10')) t(participant_id, diagnosis_code);`);
      const src = new DuckDBWarehouseSource({ path });
      const batches = await readAll(src, 100000);
      expect(batches.reduce((a, b) => a + b.numRows, 0)).toBe(250000);
      expect(src.stats().duplicateParticipants).toBe(0);
    }
  });

  it("fails on a null participant id with its row", async () => {
    const path = await warehouse(
      `${P} ('A', 'F'), (NULL, 'M')) t(participant_id, sex); ${D} ('A', 'I10')) t(participant_id, diagnosis_code);`,
    );
    await expect(readAll(new DuckDBWarehouseSource({ path }))).rejects.toThrow(
      /participants: row 2: column participant_id: null/,
    );
  });

  it("reads views as tables (a user's views; hcc ingest's views over Parquet), errors naming the row in the view", async () => {
    // the rows in base tables under other names, the relations the scorer reads as views over them
    const views = (p: string, d: string): Promise<string> =>
      warehouse(`${P} ${p}) t(participant_id, sex); ${D} ${d}) t(participant_id, diagnosis_code);
        ALTER TABLE sgv_reporting.participants RENAME TO p_base; ALTER TABLE sgv_reporting.participant_diagnosis_codes RENAME TO d_base;
        CREATE VIEW sgv_reporting.participants AS SELECT * FROM sgv_reporting.p_base;
        CREATE VIEW sgv_reporting.participant_diagnosis_codes AS SELECT * FROM sgv_reporting.d_base;`);
    const ok = await views(`('A', 'F'), ('B', 'M')`, `('B', 'I10'), ('A', 'E119'), ('X', 'Z00')`);
    const src = new DuckDBWarehouseSource({ path: ok });
    expect(codesById(await readAll(src))).toEqual(
      new Map([
        ["A", ["E119"]],
        ["B", ["I10"]],
      ]),
    );
    expect(src.stats()).toMatchObject({ membersRead: 2, dxRowsRead: 2, orphanDxRows: 1 });
    await expect(
      readAll(new DuckDBWarehouseSource({ path: await views(`('A', 'F'), (NULL, 'M')`, `('A', 'I10')`) })),
    ).rejects.toThrow(/participants: row 2: column participant_id: null/);
    await expect(
      readAll(new DuckDBWarehouseSource({ path: await views(`('A', 'F'), ('B', 'M'), ('A', 'M')`, `('A', 'I10')`) })),
    ).rejects.toThrow(/participants: row 3: column participant_id: duplicate of row 1/);
    await expect(
      readAll(new DuckDBWarehouseSource({ path: await views(`('A', 'F')`, `('A', 'I10'), ('A', 'E11' || chr(31) || '9')`) })),
    ).rejects.toThrow(
      /participant_diagnosis_codes: row 2: column diagnosis_code: contains the control character U\+001F \(1 rows\)/,
    );
  });

  it("passes VARCHAR value columns through as text (the encoder validates them, one validation for every path)", async () => {
    const wh = await warehouse(
      `${P} ('A', '1950-01-31', 'yes'), ('B', '31/01/1950', 'maybe')) t(participant_id, birth_date, lti); ${D} ('A', 'I10')) t(participant_id, diagnosis_code);`,
    );
    const [b] = await readAll(new DuckDBWarehouseSource({ path: wh }));
    expect(b?.getChild("birth_date")?.toArray()).toEqual(["1950-01-31", "31/01/1950"]);
    expect(b?.getChild("lti")?.toArray()).toEqual(["yes", "maybe"]);
    const typed = await warehouse(
      `${P} ('A', DATE '1950-01-31')) t(participant_id, birth_date); ${D} ('A', 'I10')) t(participant_id, diagnosis_code);`,
    );
    const [c] = await readAll(new DuckDBWarehouseSource({ path: typed }));
    expect(c?.getChild("birth_date")?.get(0)).toBe(Date.UTC(1950, 0, 31));
  });

  it("fails on a wrong column type naming table and column; casts integer codes to text", async () => {
    const bad = await warehouse(`${P} ('A', 1.5)) t(participant_id, lti); ${D} ('A', 'I10')) t(participant_id, diagnosis_code);`);
    await expect(readAll(new DuckDBWarehouseSource({ path: bad }))).rejects.toThrow(
      /participants: column lti has type DECIMAL\(2,1\); expected BOOLEAN/,
    );
    const dx = await warehouse(`${P} ('A', 1)) t(participant_id, orec); ${D} ('A', 42)) t(participant_id, diagnosis_code);`);
    await expect(readAll(new DuckDBWarehouseSource({ path: dx }))).rejects.toThrow(
      /participant_diagnosis_codes: column diagnosis_code has type INTEGER; expected VARCHAR/,
    );
    const ok = await warehouse(`${P} ('A', 1)) t(participant_id, orec); ${D} ('A', 'I10')) t(participant_id, diagnosis_code);`);
    const [b] = await readAll(new DuckDBWarehouseSource({ path: ok }));
    expect(b?.getChild("orec")?.get(0)).toBe("1");
  });

  it("fails on missing tables, columns and files with the name", async () => {
    const noDx = await warehouse(`${P} ('A', 'F')) t(participant_id, sex);`);
    await expect(readAll(new DuckDBWarehouseSource({ path: noDx }))).rejects.toThrow(
      /table sgv_reporting\.participant_diagnosis_codes not found/,
    );
    const none = await warehouse("");
    await expect(readAll(new DuckDBWarehouseSource({ path: none }))).rejects.toThrow(
      /table sgv_reporting\.participants not found/,
    );
    const noId = await warehouse(`${P} ('A', 'F')) t(member, sex);`);
    await expect(readAll(new DuckDBWarehouseSource({ path: noId }))).rejects.toThrow(/column participant_id missing/);
    await expect(readAll(new DuckDBWarehouseSource({ path: join(dir, "absent.duckdb") }))).rejects.toThrow(
      /warehouse file not found/,
    );
  });

  it("rejects identifiers that are not plain names before any SQL", async () => {
    await expect(openSource("duckdb:x.duckdb", { schema: "a; DROP TABLE t" })).rejects.toThrow(/not a valid identifier/);
    await expect(openSink("duckdb:x.duckdb", { schema: "1abc" })).rejects.toThrow(/not a valid identifier/);
  });
});

describe.each(["parquet", "table"] as const)("DuckDB warehouse sink, results storage %s", (storage) => {
  const path = join(dir, `results-${storage}.duckdb`);
  const ids = ["A", "B", "C"];
  const runDirs = (): string[] => {
    const root = resultsRoot(path, "sgv_reporting");
    return existsSync(root) ? readdirSync(root) : [];
  };

  async function writeRun(runId: string, score: number, factors = true): Promise<void> {
    const sink = new DuckDBWarehouseSink({ path, flushRows: 2, storage });
    await sink.begin({ runId, paymentYear: 2026 });
    await sink.write("risk_scores", scoresBatch(ids.slice(0, 2), score));
    await sink.write("risk_scores", scoresBatch(ids.slice(2), score + 0.5));
    if (factors) await sink.write("risk_score_factors", scoresBatch(ids, score));
    await sink.commit(baseRun(runId));
  }

  it("round-trips result batches column by column and appends score_runs", async () => {
    await writeRun("run1", 1);
    await writeRun("run2", 2);
    const rows = await sql(
      path,
      "SELECT participant_id, payment_year, risk_score, v28_hccs, error FROM sgv_reporting.risk_scores ORDER BY participant_id",
    );
    expect(rows.map((r) => r[0])).toEqual(ids);
    expect(rows.map((r) => r[1])).toEqual([2026, 2026, 2026]);
    expect(rows.map((r) => r[2])).toEqual([2, 2.001, 2.5]);
    expect(rows.map((r) => r[3])).toEqual([[], ["HCC38", "HCC226"], []]);
    expect(rows.map((r) => r[4])).toEqual([null, "age: neither age nor birth_date given", null]);
    const runs = await sql(path, "SELECT run_id, members_in, status FROM sgv_reporting.score_runs ORDER BY run_id");
    expect(runs).toEqual([
      ["run1", 3n, "succeeded"],
      ["run2", 3n, "succeeded"],
    ]);
    const left = (await sql(path, "SELECT count(*) FROM information_schema.tables WHERE table_name LIKE 'hcc_staging_%'")) as [
      [bigint],
    ][];
    expect(left[0]?.[0]).toBe(0n);
    // parquet: the published run's parts back views; table: nothing left beside the warehouse
    const kinds = await sql(
      path,
      "SELECT table_name, table_type FROM information_schema.tables WHERE table_schema = 'sgv_reporting' ORDER BY 1",
    );
    const kind = storage === "parquet" ? "VIEW" : "BASE TABLE";
    expect(kinds).toEqual([
      ["risk_score_factors", kind],
      ["risk_scores", kind],
      ["score_runs", "BASE TABLE"],
    ]);
    expect(runDirs()).toEqual(storage === "parquet" ? ["run2"] : []);
  });

  it("switching storage replaces a view with a table and back", async () => {
    const other = storage === "parquet" ? "table" : "parquet";
    const sink = new DuckDBWarehouseSink({ path, storage: other });
    await sink.begin({ runId: "switch", paymentYear: 2026 });
    await sink.write("risk_scores", scoresBatch(ids, 5));
    await sink.commit(baseRun("switch"));
    expect((await sql(path, "SELECT min(risk_score) FROM sgv_reporting.risk_scores"))[0]).toEqual([5]);
    await writeRun("run2b", 2);
    expect((await sql(path, "SELECT min(risk_score), count(*) FROM sgv_reporting.risk_scores"))[0]).toEqual([2, 3n]);
    expect(runDirs()).toEqual(storage === "parquet" ? ["run2b"] : []);
  });

  it("reads members from and writes results to the same warehouse file in one process", async () => {
    const wh = join(dir, `both-${storage}.duckdb`);
    await generateWarehouse({ members: 500, seed: 2, out: wh, paymentYear: 2026, layout: "long", dataDir });
    const src = new DuckDBWarehouseSource({ path: wh });
    const sink = new DuckDBWarehouseSink({ path: wh, flushRows: 100, storage });
    await sink.begin({ runId: "same-file", paymentYear: 2026 });
    let n = 0;
    for await (const b of src.read({ batchSize: 128 })) {
      const ids: string[] = [];
      for (let i = 0; i < b.numRows; i++) ids.push(String(b.getChild("participant_id")?.get(i)));
      n += ids.length;
      await sink.write("risk_scores", scoresBatch(ids, 1));
    }
    await src.close();
    await sink.commit({ ...baseRun("same-file"), members_in: n, rows_out: n });
    const [[count]] = (await sql(wh, "SELECT count(*) FROM sgv_reporting.risk_scores")) as [[bigint]];
    expect(Number(count)).toBe(500);
  });

  it("a write that throws mid-run, then abort, leaves the previous results intact", async () => {
    const sink = new DuckDBWarehouseSink({ path, flushRows: 2, storage });
    await sink.begin({ runId: "run3", paymentYear: 2026 });
    await sink.write("risk_scores", scoresBatch(ids, 9));
    const bad = new RecordBatch(
      new Schema([new Field("participant_id", new Int32())]),
      makeData({
        type: new Struct([new Field("participant_id", new Int32())]),
        length: 3,
        nullCount: 0,
        children: [col([1, 2, 3], new Int32())],
      }),
    );
    await expect(sink.write("risk_scores", bad).then(() => sink.write("risk_scores", bad))).rejects.toThrow();
    await sink.abort(new Error("boom"));
    const rows = await sql(path, "SELECT min(risk_score), count(*) FROM sgv_reporting.risk_scores");
    expect(rows[0]).toEqual([2, 3n]);
    const runs = await sql(path, "SELECT count(*) FROM sgv_reporting.score_runs");
    expect(runs[0]).toEqual([4n]); // run1, run2, switch, run2b
  });

  it("a writer killed with SIGKILL before commit leaves the previous results intact; the next run cleans up", async () => {
    const dist = new URL("../../dist/io/duckdb-sink.js", import.meta.url).pathname;
    if (!existsSync(dist)) throw new Error("build first: npx tsc -p tsconfig.build.json");
    const script = `
      import { DuckDBWarehouseSink } from ${JSON.stringify(dist)};
      import { Field, Float64, RecordBatch, Schema, Struct, Utf8, makeData, vectorFromArray } from "apache-arrow";
      const f = [new Field("participant_id", new Utf8()), new Field("risk_score", new Float64())];
      const ids = Array.from({ length: 5000 }, (_, i) => "K" + i);
      const b = new RecordBatch(new Schema(f), makeData({ type: new Struct(f), length: ids.length, nullCount: 0,
        children: [vectorFromArray(ids, new Utf8()).data[0], vectorFromArray(ids.map(() => 7), new Float64()).data[0]] }));
      const sink = new DuckDBWarehouseSink({ path: ${JSON.stringify(path)}, flushRows: 1000, storage: ${JSON.stringify(storage)} });
      await sink.begin({ runId: "killed", paymentYear: 2026 });
      for (let i = 0; i < 4; i++) await sink.write("risk_scores", b);
      process.stdout.write("staged\\n");
      setInterval(() => {}, 1000);
    `;
    const child = spawn(process.execPath, ["--input-type=module", "-e", script], {
      cwd: new URL("../..", import.meta.url).pathname,
      stdio: ["ignore", "pipe", "inherit"],
    });
    await new Promise<void>((resolve, reject) => {
      child.stdout.on("data", (d: Buffer) => d.toString().includes("staged") && resolve());
      child.on("exit", (code) => reject(new Error(`child exited ${String(code)}`)));
    });
    child.kill("SIGKILL");
    await new Promise((r) => child.on("exit", r));
    const rows = await sql(path, "SELECT min(risk_score), count(*) FROM sgv_reporting.risk_scores");
    expect(rows[0]).toEqual([2, 3n]);
    expect(runDirs()).toContain("killed"); // the killed run's staged parts, until the next run
    await writeRun("run4", 4);
    const left = await sql(path, "SELECT count(*) FROM information_schema.tables WHERE table_name LIKE 'hcc_staging_%'");
    expect(left[0]).toEqual([0n]);
    expect(runDirs()).toEqual(storage === "parquet" ? ["run4"] : []);
    expect((await sql(path, "SELECT min(risk_score) FROM sgv_reporting.risk_scores"))[0]).toEqual([4]);
  });
});
