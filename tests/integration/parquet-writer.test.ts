// The fast Parquet writer against two independent readers: DuckDB (which loads the pipeline's
// result parts) and parquet-wasm (arrow-rs). Every supported Arrow type with nulls, empty and null
// lists, null list items, dictionaries and several row groups; then real result batches of the
// engine, which must read back identical to the same batches written by parquet-wasm.
import { describe, expect, it } from "vitest";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  Bool,
  DataType,
  DateDay,
  Dictionary,
  Field,
  Float32,
  Float64,
  Int32,
  Int64,
  List,
  RecordBatch,
  Schema,
  Struct,
  Table,
  Utf8,
  makeData,
  tableFromIPC,
  vectorFromArray,
  type Data,
} from "apache-arrow";
import * as pw from "parquet-wasm";
import { DuckDBInstance } from "@duckdb/node-api";
import { fastParquet, fastParquetSupports, writeFastParquet } from "../../src/io/parquet-writer.js";
import { encodeParquet } from "../../src/io/parquet.js";
import { openSource } from "../../src/io/open.js";
import { generateWarehouse } from "../../src/cli/generate.js";
import { loadEngine } from "../../src/load.js";
import { keyedLists, textLists } from "../support/arrow-lists.js";

const dir = mkdtempSync(join(tmpdir(), "hcc-pq-"));

async function duckRows(sql: string): Promise<Record<string, unknown>[]> {
  const db = await DuckDBInstance.create(":memory:");
  const c = await db.connect();
  try {
    return (await c.runAndReadAll(sql)).getRowObjectsJson() as Record<string, unknown>[];
  } finally {
    c.closeSync();
    db.closeSync();
  }
}

function batchOf(cols: [Field, Data][]): RecordBatch {
  const fields = cols.map(([f]) => f);
  const length = cols[0]?.[1].length ?? 0;
  return new RecordBatch(
    new Schema(fields),
    makeData({ type: new Struct(fields), length, nullCount: 0, children: cols.map(([, d]) => d) }),
  );
}

function sample(seed: number, n: number): RecordBatch {
  const rnd = (i: number, k: number): number => ((i * 2654435761 + seed * 97 + k * 40503) >>> 0) % 1000;
  const words = ["E119", "I509", "", "Ünïcode ✓", "C3490", "a-much-longer-code-than-twelve-bytes"];
  const str = (i: number, k: number): string | null => (rnd(i, k) < 150 ? null : (words[rnd(i, k) % words.length] ?? ""));
  const ints = Array.from({ length: n }, (_, i) => (rnd(i, 1) < 100 ? null : rnd(i, 2) - 500));
  const lists = Array.from({ length: n }, (_, i) => {
    const r = rnd(i, 3);
    if (r < 80) return null;
    if (r < 200) return [];
    return Array.from({ length: 1 + (r % 7) }, (_, j) => str(i * 31 + j, 4));
  });
  const dictValues = ["V28", "ESRD24", "RX08"];
  const dictIdx = Int32Array.from({ length: n }, (_, i) => rnd(i, 5) % 3);
  const dictValid = new Uint8Array((n + 7) >> 3);
  let dictNulls = 0;
  for (let i = 0; i < n; i++) {
    if (rnd(i, 6) < 100) dictNulls++;
    else dictValid[i >> 3]! |= 1 << (i & 7);
  }
  const dictType = new Dictionary(new Utf8(), new Int32(), 900);
  const dict = makeData({
    type: dictType,
    length: n,
    nullCount: dictNulls,
    nullBitmap: dictValid,
    data: dictIdx,
    dictionary: vectorFromArray(dictValues, new Utf8()),
  });
  const listType = new List(new Field("item", new Utf8(), true));
  // the same lists with their items as keys into a dictionary (as a worker's risk_scores HCC lists)
  const codes = textLists(lists);
  const codesDict = keyedLists(lists, words, 901);
  return batchOf([
    [
      new Field("id", new Utf8(), false),
      vectorFromArray(
        Array.from({ length: n }, (_, i) => `M${seed}-${i}`),
        new Utf8(),
      ).data[0]!,
    ],
    [
      new Field("s", new Utf8(), true),
      vectorFromArray(
        Array.from({ length: n }, (_, i) => str(i, 7)),
        new Utf8(),
      ).data[0]!,
    ],
    [new Field("i32", new Int32(), true), vectorFromArray(ints, new Int32()).data[0]!],
    [
      new Field("i64", new Int64(), false),
      vectorFromArray(
        Array.from({ length: n }, (_, i) => BigInt(rnd(i, 8)) * 1000003n),
        new Int64(),
      ).data[0]!,
    ],
    [
      new Field("f64", new Float64(), true),
      vectorFromArray(
        ints.map((v) => (v === null ? null : v / 7)),
        new Float64(),
      ).data[0]!,
    ],
    [
      new Field("b", new Bool(), true),
      vectorFromArray(
        Array.from({ length: n }, (_, i) => (rnd(i, 9) < 100 ? null : rnd(i, 10) % 2 === 0)),
        new Bool(),
      ).data[0]!,
    ],
    [
      new Field("d", new DateDay(), true),
      vectorFromArray(
        Array.from({ length: n }, (_, i) =>
          rnd(i, 11) < 100 ? null : new Date(Date.UTC(1940 + (rnd(i, 12) % 80), 0, 1 + (i % 28))),
        ),
        new DateDay(),
      ).data[0]!,
    ],
    [new Field("model", dictType, true), dict],
    [new Field("codes", listType, true), codes],
    [new Field("codes_dict", codesDict.type, true), codesDict],
    // one value in every row of a batch (as payment_year): written as a one-entry dictionary
    [new Field("py", new Int32(), false), vectorFromArray(new Array<number>(n).fill(2024 + seed), new Int32()).data[0]!],
    [
      new Field("as_of", new DateDay(), true),
      vectorFromArray(new Array<Date>(n).fill(new Date(Date.UTC(2025, seed, 1))), new DateDay()).data[0]!,
    ],
    // few distinct values (as rounded scores), nulls and a negative zero: a dictionary of doubles
    [
      new Field("score", new Float64(), true),
      vectorFromArray(
        Array.from({ length: n }, (_, i) => (rnd(i, 13) < 100 ? null : i % 97 === 0 ? -0 : (rnd(i, 14) % 50) / 8)),
        new Float64(),
      ).data[0]!,
    ],
  ]);
}

/** Rows as comparable JSON: dates as ISO days, bigints as strings, lists as arrays. */
function arrowRows(batches: RecordBatch[]): string[] {
  return (new Table(batches).toArray() as { toJSON(): Record<string, unknown> }[]).map((r) => {
    const j = r.toJSON();
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(j)) {
      if (v && typeof v === "object" && "toArray" in v) out[k] = [...(v as { toArray(): unknown[] }).toArray()];
      else if (typeof v === "bigint") out[k] = v.toString();
      else if ((k === "d" || k === "as_of") && typeof v === "number") out[k] = new Date(v).toISOString().slice(0, 10);
      else out[k] = v;
    }
    return JSON.stringify(out);
  });
}

describe("fast Parquet writer", () => {
  const batches = [sample(1, 1000), sample(2, 37), sample(3, 4096)];

  it("supports the result types and refuses others", () => {
    expect(fastParquetSupports(batches[0]!.schema)).toBe(true);
    expect(fastParquetSupports(new Schema([new Field("x", new Float32())]))).toBe(false);
    const nested = new List(new Field("item", new List(new Field("item", new Utf8())), true));
    expect(fastParquetSupports(new Schema([new Field("x", nested)]))).toBe(false);
  });

  it("DuckDB and parquet-wasm read back every value, null, empty list and row group", async () => {
    const file = join(dir, "sample.parquet");
    writeFileSync(file, fastParquet(batches));
    const expected = arrowRows(batches);
    // parquet-wasm (arrow-rs)
    const viaRs = tableFromIPC(pw.readParquet(readFileSync(file)).intoIPCStream());
    expect(viaRs.numRows).toBe(5133);
    expect(arrowRows(viaRs.batches)).toEqual(expected);
    // DuckDB
    const rows = await duckRows(
      `SELECT id, s, i32, CAST(i64 AS VARCHAR) AS i64, f64, b, CAST(d AS VARCHAR) AS d, model, codes, codes_dict, py, CAST(as_of AS VARCHAR) AS as_of, score FROM read_parquet('${file}')`,
    );
    expect(rows.map((r) => JSON.stringify(r))).toEqual(expected);
    // negative zero kept bit for bit through the dictionary
    const zeros = await duckRows(`SELECT count(*) FILTER (score = 0 AND sign(1 / score) < 0) AS n FROM read_parquet('${file}')`);
    expect(Number(zeros[0]?.["n"])).toBeGreaterThan(0);
    // numbers: a dictionary when they have few distinct values (at most a quarter of a row group's
    // rows), PLAIN when they have many (~900 distinct i32 in 1000 rows) or the row group is tiny
    const enc = await duckRows(
      `SELECT row_group_id AS g, path_in_schema AS c, encodings AS e FROM parquet_metadata('${file}') WHERE path_in_schema IN ('i32', 'f64', 'score') ORDER BY 1, 2`,
    );
    const dictEnc = "PLAIN, RLE, RLE_DICTIONARY";
    expect(enc.map((r) => `${String(r["g"])} ${String(r["c"])} ${r["e"] === dictEnc ? "dict" : "plain"}`)).toEqual([
      "0 f64 plain",
      "0 i32 plain",
      "0 score dict",
      "1 f64 plain",
      "1 i32 plain",
      "1 score plain",
      "2 f64 dict",
      "2 i32 dict",
      "2 score dict",
    ]);
    const meta = await duckRows(`SELECT count(DISTINCT row_group_id) AS n FROM parquet_metadata('${file}')`);
    expect(meta[0]?.["n"]).toBe("3");
    const py = await duckRows(
      `SELECT DISTINCT encodings FROM parquet_metadata('${file}') WHERE path_in_schema IN ('py', 'as_of')`,
    );
    expect(py.map((r) => r["encodings"])).toEqual(["PLAIN, RLE, RLE_DICTIONARY"]);
    const dictList = await duckRows(
      `SELECT DISTINCT encodings FROM parquet_metadata('${file}') WHERE path_in_schema = 'codes_dict, list, item'`,
    );
    expect(dictList.map((r) => r["encodings"])).toEqual(["PLAIN, RLE, RLE_DICTIONARY"]);
  });

  it("engine result batches read back in DuckDB exactly as parquet-wasm's encoding of them", async () => {
    const wh = join(dir, "w.duckdb");
    await generateWarehouse({ members: 3000, seed: 11, out: wh, paymentYear: 2026, layout: "long" });
    const src = await openSource(wh);
    const engine = loadEngine({ paymentYear: 2026 });
    const scores: RecordBatch[] = [];
    const factors: RecordBatch[] = [];
    const factorsDictIds: RecordBatch[] = [];
    const scoresDictHccs: RecordBatch[] = [];
    for await (const b of src.read({ batchSize: 1000 })) {
      const r = engine.scoreArrowBatch(b, "run-1", { factors: true });
      scores.push(r.scores);
      if (r.factors) factors.push(r.factors);
      // as a worker writing its own parts builds them: participant_id a dictionary over the batch's ids
      // and the HCC lists' items as keys into each model's HCC names
      const d = engine.scoreArrowBatch(b, "run-1", { factors: true, idsAsDictionary: true, hccsAsDictionary: true });
      if (d.factors) factorsDictIds.push(d.factors);
      scoresDictHccs.push(d.scores);
    }
    await src.close();
    expect(DataType.isDictionary(factorsDictIds[0]!.schema.fields[0]!.type)).toBe(true);
    const v28Hccs = scoresDictHccs[0]!.schema.fields.find((f) => f.name === "v28_hccs")!;
    expect(DataType.isDictionary((v28Hccs.type as DataType).children[0]!.type)).toBe(true);
    for (const [name, bs, ref] of [
      ["scores", scores, scores],
      ["factors", factors, factors],
      // the dictionary-keyed ids read back as the same text, row for row
      ["factors-dict-ids", factorsDictIds, factors],
      // the dictionary-keyed HCC lists read back as the same lists of text
      ["scores-dict-hccs", scoresDictHccs, scores],
    ] as const) {
      expect(fastParquetSupports(bs[0]!.schema)).toBe(true);
      const a = join(dir, `${name}-fast.parquet`);
      const b = join(dir, `${name}-pw.parquet`);
      if (name === "factors-dict-ids") {
        // the reused file buffer: a larger part first, then the one compared
        writeFastParquet(a, factors);
        writeFastParquet(a, bs.slice(0, 1));
        expect(Number((await duckRows(`SELECT count(*) AS n FROM read_parquet('${a}')`))[0]?.["n"])).toBe(bs[0]!.numRows);
        writeFastParquet(a, bs);
      } else writeFileSync(a, fastParquet(bs));
      writeFileSync(b, encodeParquet(ref, "none"));
      const diff = await duckRows(
        `SELECT (SELECT count(*) FROM read_parquet('${a}')) AS n,
                (SELECT count(*) FROM (SELECT * FROM read_parquet('${a}') EXCEPT ALL SELECT * FROM read_parquet('${b}'))) AS only_fast,
                (SELECT count(*) FROM (SELECT * FROM read_parquet('${b}') EXCEPT ALL SELECT * FROM read_parquet('${a}'))) AS only_pw`,
      );
      expect(Number(diff[0]?.["n"])).toBe(bs.reduce((n, x) => n + x.numRows, 0));
      expect(Number(diff[0]?.["n"])).toBe(ref.reduce((n, x) => n + x.numRows, 0));
      expect(diff[0]?.["only_fast"]).toBe("0");
      expect(diff[0]?.["only_pw"]).toBe("0");
      const types = await duckRows(`SELECT column_name, column_type FROM (DESCRIBE SELECT * FROM read_parquet('${a}'))`);
      const typesPw = await duckRows(`SELECT column_name, column_type FROM (DESCRIBE SELECT * FROM read_parquet('${b}'))`);
      expect(types).toEqual(typesPw);
    }
  });
});

process.on("exit", () => rmSync(dir, { recursive: true, force: true }));
