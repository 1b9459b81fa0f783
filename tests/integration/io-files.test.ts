// File sources and sinks on real files in a temp dir: a Parquet directory (long layout) and a
// grouped Parquet file read through DuckDB, Arrow IPC, CSV and NDJSON members; bad input named
// by file, row and column; directory sinks round-trip column by column and stay intact on abort.
import { describe, expect, it, beforeAll } from "vitest";
import { mkdtempSync, readFileSync, writeFileSync, existsSync, readdirSync } from "node:fs";
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
  Table,
  Utf8,
  makeData,
  tableFromIPC,
  tableToIPC,
  vectorFromArray,
  type Data,
  type DataType,
} from "apache-arrow";
import { openSink, openSource } from "../../src/io/open.js";
import { readParquetBatches } from "../../src/io/parquet.js";
import { generateWarehouse } from "../../src/cli/generate.js";
import type { MemberSource, ScoreRunRow } from "../../src/io/types.js";

const dir = mkdtempSync(join(tmpdir(), "hcc-io-files-"));
const dataDir = new URL("../../data", import.meta.url).pathname;
const col = <T extends DataType>(values: unknown[], type: T): Data => vectorFromArray(values, type).data[0] as Data;

async function readAll(src: MemberSource): Promise<RecordBatch[]> {
  const out: RecordBatch[] = [];
  for await (const b of src.read({ batchSize: 500 })) out.push(b);
  await src.close();
  return out;
}

function codesById(batches: RecordBatch[]): Map<string, string[]> {
  const m = new Map<string, string[]>();
  for (const b of batches) {
    for (let i = 0; i < b.numRows; i++) {
      const v = b.getChild("diagnosis_codes")?.get(i) as { toArray(): string[] } | null;
      m.set(String(b.getChild("participant_id")?.get(i)), v ? [...v.toArray()].sort() : []);
    }
  }
  return m;
}

function batchOf(cols: [string, Data][]): RecordBatch {
  const fields = cols.map(([n, d]) => new Field(n, d.type, true));
  return new RecordBatch(
    new Schema(fields),
    makeData({ type: new Struct(fields), length: cols[0]?.[1].length ?? 0, nullCount: 0, children: cols.map(([, d]) => d) }),
  );
}

const run: ScoreRunRow = {
  run_id: "r1",
  started_at: "2026-01-01T00:00:00.000Z",
  finished_at: "2026-01-01T00:01:00.000Z",
  engine_version: "0.1.0",
  payment_year: 2026,
  models: "V28",
  data_version: "t",
  data_manifest_sha256: "t",
  source: "test",
  members_in: 2,
  rows_out: 2,
  members_errored: 0,
  orphan_dx_rows: 0,
  null_dx_codes: 0,
  status: "succeeded",
  error: null,
};

describe("Parquet sources", () => {
  const long = join(dir, "cohort");
  const grouped = join(dir, "grouped");
  beforeAll(async () => {
    await generateWarehouse({ members: 2000, seed: 5, out: long, paymentYear: 2026, layout: "long", dataDir });
    await generateWarehouse({ members: 2000, seed: 5, out: grouped, paymentYear: 2026, layout: "grouped", dataDir });
  });

  it("reads a directory (long layout) and a grouped file to the same members", async () => {
    const a = await openSource(long);
    const fromDir = codesById(await readAll(a));
    expect(a.stats()).toMatchObject({ membersRead: 2000, orphanDxRows: 0, duplicateParticipants: 0 });
    const b = await openSource(join(grouped, "participants.parquet"));
    const fromFile = codesById(await readAll(b));
    expect(fromFile).toEqual(fromDir);
    expect(b.stats().dxRowsRead).toBe(a.stats().dxRowsRead);
    expect(existsSync(join(long, "hcc_participant.parquet"))).toBe(true);
  });

  it("names the file, row and column of a duplicate id in a Parquet file", async () => {
    const f = join(dir, "dupes.parquet");
    const db = await DuckDBInstance.create(":memory:");
    const c = await db.connect();
    await c.run(
      `COPY (SELECT * FROM (VALUES ('A', ['I10']), ('B', []), ('A', ['E119'])) t(participant_id, diagnosis_codes)) TO '${f}' (FORMAT parquet)`,
    );
    c.closeSync();
    db.closeSync();
    await expect(readAll(await openSource(f))).rejects.toThrow(
      new RegExp(`${f}: row 3: column participant_id: duplicate of row 1`),
    );
  });
});

describe("Arrow IPC, CSV and NDJSON sources", () => {
  it("passes Arrow IPC member batches through and counts codes", async () => {
    const list = new List(new Field("item", new Utf8(), true));
    const b = batchOf([
      ["participant_id", col(["A", "B"], new Utf8())],
      ["age", col([70, 81], new Int32())],
      ["diagnosis_codes", col([["I10", "E119"], []], list)],
    ]);
    const f = join(dir, "members.arrow");
    writeFileSync(f, tableToIPC(new Table([b]), "file"));
    const src = await openSource(f);
    expect(codesById(await readAll(src))).toEqual(
      new Map([
        ["A", ["E119", "I10"]],
        ["B", []],
      ]),
    );
    expect(src.stats()).toMatchObject({ membersRead: 2, dxRowsRead: 2 });
    const wrong = join(dir, "wrong.arrow");
    writeFileSync(wrong, tableToIPC(new Table([batchOf([["participant_id", col([1], new Int32())]])]), "file"));
    await expect(readAll(await openSource(wrong))).rejects.toThrow(
      /wrong\.arrow: column participant_id has type Int32; expected Utf8/,
    );
  });

  it("reads CSV (`;`-separated codes) and NDJSON to the same batches", async () => {
    const csv = join(dir, "m.csv");
    writeFileSync(csv, "member_id,birth_date,sex,lti,diagnosis_codes\nA,1950-02-01,F,true,I10;E11.9\nB,,M,,\n");
    const nd = join(dir, "m.ndjson");
    writeFileSync(
      nd,
      '{"member_id":"A","birth_date":"1950-02-01","sex":"F","lti":true,"diagnosis_codes":["I10","E11.9"]}\n{"member_id":"B","sex":"M"}\n',
    );
    const [a] = await readAll(await openSource(csv));
    const [b] = await readAll(await openSource(nd));
    for (const name of ["participant_id", "birth_date", "sex", "lti"]) {
      expect(a?.getChild(name)?.toArray()).toEqual(b?.getChild(name)?.toArray());
    }
    // values travel as the text given; the encoder parses and validates them (one validation)
    expect(a?.getChild("birth_date")?.get(0)).toBe("1950-02-01");
    expect(a?.getChild("lti")?.get(0)).toBe("true");
    expect(codesById([a!])).toEqual(codesById([b!]));
  });

  it("fails the file, naming file, line and column, for structural problems only; values are the encoder's", async () => {
    const f = (name: string, text: string): string => (writeFileSync(join(dir, name), text), join(dir, name));
    // a bad date or boolean is a value: read as text, an error row when scored
    const [v] = await readAll(
      await openSource(f("v.ndjson", '{"member_id":"A","sex":"F","birth_date":"1950-02-30","lti":"maybe"}\n')),
    );
    expect(v?.getChild("birth_date")?.get(0)).toBe("1950-02-30");
    await expect(readAll(await openSource(f("d.csv", "member_id,birth_date\nA,1950-02-01\n")))).rejects.toThrow(
      /d\.csv: line 1: header has no sex column: no member can be scored/,
    );
    await expect(readAll(await openSource(f("u.csv", "member_id,sex,age\nA,F,70\nB,F,70\nA,F,70\n")))).rejects.toThrow(
      /u\.csv: line 4: field member_id: duplicate of an earlier record/,
    );
    await expect(readAll(await openSource(f("h.csv", "member_id,sex,age,sex\nA,F,70,M\n")))).rejects.toThrow(
      /line 1: header column sex appears twice/,
    );
    await expect(readAll(await openSource(join(dir, "missing.csv")))).rejects.toThrow(/missing\.csv: file not found/);
  });
});

describe("directory sinks", () => {
  const scores = (v: number): RecordBatch =>
    batchOf([
      ["participant_id", col(["A", "B"], new Utf8())],
      ["risk_score", col([v, null], new Float64())],
      ["v28_hccs", col([["HCC38"], []], new List(new Field("item", new Utf8(), true)))],
      ["error", col([null, "age: neither age nor birth_date given"], new Utf8())],
    ]);

  for (const format of ["parquet", "arrow", "csv", "ndjson"] as const) {
    it(`${format}: round-trips column by column; an aborted run leaves the previous files`, async () => {
      const out = join(dir, `out-${format}`);
      const sink = await openSink(out, { format });
      await sink.begin({ runId: "r1", paymentYear: 2026 });
      await sink.write("risk_scores", scores(1.5));
      await sink.write("risk_score_factors", scores(0.25));
      await sink.commit(run);
      const read = async (table: string): Promise<Record<string, unknown>[]> => {
        const file = join(out, `${table}.${format}`);
        if (format === "csv") {
          const [head, ...lines] = readFileSync(file, "utf8").trim().split("\n");
          return lines.map((l) => Object.fromEntries(head!.split(",").map((h, i) => [h, l.split(",")[i] ?? ""])));
        }
        if (format === "ndjson")
          return readFileSync(file, "utf8")
            .trim()
            .split("\n")
            .map((l) => JSON.parse(l) as Record<string, unknown>);
        const batches: RecordBatch[] = [];
        if (format === "parquet") for await (const b of readParquetBatches(file)) batches.push(b);
        else batches.push(...tableFromIPC(readFileSync(file)).batches);
        return new Table(batches).toArray().map((r: { toJSON(): Record<string, unknown> }) => {
          const o = r.toJSON();
          for (const k of Object.keys(o)) if (o[k] && typeof o[k] === "object") o[k] = [...(o[k] as Iterable<unknown>)];
          return o;
        });
      };
      const rows = await read("risk_scores");
      expect(rows.map((r) => r["participant_id"])).toEqual(["A", "B"]);
      if (format === "csv") {
        expect(rows.map((r) => r["risk_score"])).toEqual(["1.5", ""]);
        expect(rows.map((r) => r["v28_hccs"])).toEqual(["HCC38", ""]);
      } else {
        expect(rows.map((r) => r["risk_score"])).toEqual([1.5, null]);
        expect(rows.map((r) => r["v28_hccs"])).toEqual([["HCC38"], []]);
        expect(rows.map((r) => r["error"])).toEqual([null, "age: neither age nor birth_date given"]);
      }
      expect((await read("score_runs"))[0]?.["run_id"]).toBe("r1");
      const before = readFileSync(join(out, `risk_scores.${format}`));
      const failed = await openSink(out, { format });
      await failed.begin({ runId: "r2", paymentYear: 2026 });
      await failed.write("risk_scores", scores(9));
      await failed.abort(new Error("boom"));
      expect(readFileSync(join(out, `risk_scores.${format}`))).toEqual(before);
      expect(readdirSync(out).filter((n) => n.startsWith("."))).toEqual([".hcc-runs"]); // published runs, no staging left
      expect(readdirSync(join(out, ".hcc-runs")).sort()).toEqual(["current", "r1"]);
    });
  }
});
