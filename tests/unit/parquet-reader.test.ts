// io/parquet-reader.ts against parquet-wasm (the reader it stands in for) on files DuckDB writes
// the way exportParts does: every row group of every column gives the same values and nulls;
// files it does not decode (compressed, other types) give null, so the caller falls back.
import { describe, expect, it } from "vitest";
import { mkdtempSync, openAsBlob, readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DuckDBInstance } from "@duckdb/node-api";
import { DataType, tableFromIPC, type RecordBatch } from "apache-arrow";
import * as pw from "parquet-wasm";
import { openPartFile, readPartRowGroup } from "../../src/io/parquet-reader.js";
import { readRowGroup } from "../../src/workers/member-parts.js";

const ENUMS = new Set(["sex", "orec", "code"]);

/** Writes `select` with COPY (the export's options unless `options` says otherwise); the files written. */
async function copy(select: string, options = "COMPRESSION uncompressed, ROW_GROUP_SIZE 2048"): Promise<string[]> {
  const dir = mkdtempSync(join(tmpdir(), "hcc-pq-read-"));
  const inst = await DuckDBInstance.create(":memory:");
  const c = await inst.connect();
  try {
    await c.run(`COPY (${select}) TO '${dir}/part' (FORMAT parquet, ${options}, FILE_SIZE_BYTES 300000)`);
  } finally {
    c.closeSync();
    inst.closeSync();
  }
  return readdirSync(join(dir, "part")).map((f) => join(dir, "part", f));
}

async function wasmBatches(file: string): Promise<RecordBatch[]> {
  const f = await pw.ParquetFile.fromFile(await openAsBlob(file));
  const n = f.metadata().numRowGroups();
  const out: RecordBatch[] = [];
  for (let g = 0; g < n; g++)
    out.push(...tableFromIPC((await f.read({ rowGroups: [g], batchSize: 1 << 30 })).intoIPCStream()).batches);
  return out;
}

/** Every row group of every file read both ways: same names, values and nulls; how many were compared. */
async function compare(files: string[]): Promise<{ groups: number; dictionaries: number }> {
  let groups = 0;
  let dictionaries = 0;
  for (const file of files) {
    const pf = openPartFile(file);
    expect(pf, file).not.toBeNull();
    const theirs = await wasmBatches(file);
    expect(pf!.rowGroups.length).toBe(theirs.length);
    for (let g = 0; g < theirs.length; g++) {
      const ours = readPartRowGroup(pf!, g, ENUMS);
      expect(ours, `${file} row group ${g}`).not.toBeNull();
      const t = theirs[g]!;
      expect(ours!.schema.fields.map((f) => f.name)).toEqual(t.schema.fields.map((f) => f.name));
      expect(ours!.numRows).toBe(t.numRows);
      ours!.schema.fields.forEach((f, c) => {
        const a = ours!.getChildAt(c)!;
        const b = t.getChildAt(c)!;
        if (DataType.isDictionary(f.type)) dictionaries++;
        else expect(String(f.type)).toBe(String(t.schema.fields[c]!.type));
        expect({ column: f.name, nulls: a.nullCount }).toEqual({ column: f.name, nulls: b.nullCount });
        const values = (v: typeof a): unknown[] => Array.from({ length: v.length }, (_, i) => v.get(i) as unknown);
        expect({ column: f.name, values: values(a) }).toEqual({ column: f.name, values: values(b) });
      });
      groups++;
    }
  }
  return { groups, dictionaries };
}

describe("the reader of exported member parts", () => {
  it("reads what parquet-wasm reads: text in dictionary and plain pages, dates, integers, booleans, nulls everywhere", async () => {
    const files = await copy(`
      SELECT 'M' || lpad(CAST(i AS VARCHAR), 9, '0') AS participant_id,
             CASE WHEN i % 17 = 0 THEN NULL ELSE DATE '1930-01-01' + CAST(i % 20000 AS INTEGER) END AS birth_date,
             CASE WHEN i % 3 = 0 THEN 'F' WHEN i % 3 = 1 THEN 'M' END AS sex,
             CASE WHEN i % 11 = 0 THEN NULL ELSE CAST(i % 4 AS VARCHAR) END AS orec,
             -- dictionary-encoded text that is not asked for as a Dictionary column
             CASE WHEN i % 7 = 0 THEN NULL WHEN i % 2 = 0 THEN 'mapd' ELSE 'pdp-only' END AS rx_plan,
             CAST(i % 3 AS INTEGER) AS segment,
             i % 2 = 0 AS medicaid,
             CASE WHEN i % 5 = 0 THEN NULL ELSE i % 7 = 0 END AS lti,
             CASE WHEN i % 13 = 0 THEN NULL ELSE CAST(i % 1000 AS INTEGER) END AS graft_months,
             -- joined codes: long and short, empty, non-ASCII, absent
             CASE WHEN i % 19 = 0 THEN NULL WHEN i % 23 = 0 THEN ''
                  ELSE repeat('E1122' || chr(31) || 'I509' || chr(31), CAST(i % 9 AS INTEGER)) || 'Ü' || CAST(i AS VARCHAR) END AS diagnosis_codes,
             CAST(i % 9 AS INTEGER) AS n,
             -- a column whose dictionary DuckDB gives up on within a row group
             CASE WHEN i < 3000 THEN 'A' ELSE md5(CAST(i AS VARCHAR)) END AS code
      FROM range(20000) t(i)`);
    expect(files.length).toBeGreaterThan(1);
    const { groups, dictionaries } = await compare(files);
    expect(groups).toBeGreaterThanOrEqual(10);
    expect(dictionaries).toBeGreaterThan(0); // sex and orec came as Dictionary<Utf8> columns
  });

  it("reads columns of many pages (values of 100 kB) and of no values at all", async () => {
    const files = await copy(
      `SELECT CAST(i AS VARCHAR) AS participant_id, repeat(chr(65 + CAST(i % 26 AS INTEGER)), 100000) AS diagnosis_codes,
              NULL::VARCHAR AS sex, NULL::INTEGER AS n FROM range(60) t(i)`,
      "COMPRESSION uncompressed, ROW_GROUP_SIZE 2048",
    );
    expect((await compare(files)).groups).toBeGreaterThan(0);
  });

  it("gives null for what it does not decode, so parquet-wasm reads it instead", async () => {
    const zstd = await copy(
      "SELECT 'x' || CAST(i AS VARCHAR) AS participant_id FROM range(5000) t(i)",
      "COMPRESSION zstd, ROW_GROUP_SIZE 2048",
    );
    expect(openPartFile(zstd[0]!)).toBeNull();
    // the worker's reader of exported parts then reads it with parquet-wasm
    const [viaWorker] = await readRowGroup(zstd[0]!, 1);
    const [direct] = (await wasmBatches(zstd[0]!)).slice(1);
    expect(viaWorker!.numRows).toBeGreaterThan(0);
    expect(viaWorker!.toArray().map((r) => r.toJSON())).toEqual(direct!.toArray().map((r) => r.toJSON()));
    const doubles = await copy("SELECT CAST(i AS DOUBLE) AS score FROM range(100) t(i)");
    expect(openPartFile(doubles[0]!)).toBeNull();
    const bigints = await copy("SELECT CAST(i AS BIGINT) AS n FROM range(100) t(i)");
    expect(openPartFile(bigints[0]!)).toBeNull();
    const lists = await copy("SELECT [CAST(i AS VARCHAR)] AS codes FROM range(100) t(i)");
    expect(openPartFile(lists[0]!)).toBeNull();
    // PARQUET_VERSION V2 (DuckDB still writes v1 data pages): dictionary-encoded text and PLAIN
    // booleans are read; DELTA_* pages (v2's text and integers) are not
    const v2 = "COMPRESSION uncompressed, ROW_GROUP_SIZE 2048, PARQUET_VERSION V2";
    const readable = await copy(
      "SELECT CASE WHEN i % 5 = 0 THEN NULL ELSE CAST(i % 3 AS VARCHAR) END AS sex, CASE WHEN i % 7 = 0 THEN NULL ELSE i % 2 = 0 END AS b FROM range(5000) t(i)",
      v2,
    );
    expect((await compare(readable)).groups).toBeGreaterThan(1);
    for (const select of [
      "SELECT 'M' || CAST(i AS VARCHAR) AS participant_id FROM range(5000) t(i)",
      "SELECT CAST(i AS INTEGER) AS n FROM range(5000) t(i)",
    ]) {
      const [file] = await copy(select, v2);
      expect(readPartRowGroup(openPartFile(file!)!, 0)).toBeNull();
    }
  });
});
