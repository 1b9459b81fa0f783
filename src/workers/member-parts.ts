// Member batches from the Parquet parts a warehouse source exported (io/duckdb-warehouse.ts
// exportParts): a worker reads one row group — with io/parquet-reader.ts, which decodes what
// DuckDB's uncompressed COPY writes straight into Arrow data, else with parquet-wasm — and turns
// the joined code column (string_agg(code, chr(31)) per member, as DuckDB grouped it) into the
// List<Utf8> the engine takes. No JS string per code: bytes are copied, separators become list offsets.
import { openAsBlob } from "node:fs";
import { Field, List, RecordBatch, Schema, Struct, Utf8, makeData, tableFromIPC, type Data } from "apache-arrow";
import type * as PW from "parquet-wasm";
import { separatorInCode } from "../io/joined-codes.js";
import { splitJoinedBytes } from "../io/parquet-writer.js";
import { parquetWasm } from "../io/parquet.js";
import { openPartFile, readPartRowGroup, type PartFile } from "../io/parquet-reader.js";
import { DICTIONARY_FIELDS } from "../engine/arrow-encode.js";

// one open ParquetFile per part file (a worker reads many row groups of the same few files); the
// cache lives as long as the worker, and the pool lives for one run
const open = new Map<string, Promise<PW.ParquetFile>>();

// each part's footer as parquet-reader.ts reads it, or null when that reader cannot (parquet-wasm then)
const footers = new Map<string, PartFile | null>();

/** Row group `rowGroup` of `file` as Arrow record batches. */
export async function readRowGroup(file: string, rowGroup: number): Promise<RecordBatch[]> {
  let pf = footers.get(file);
  if (pf === undefined) {
    pf = openPartFile(file);
    footers.set(file, pf);
  }
  const rb = pf ? readPartRowGroup(pf, rowGroup, DICTIONARY_FIELDS) : null;
  if (rb) return [rb];
  let f = open.get(file);
  if (!f) {
    f = openAsBlob(file).then((b) => parquetWasm().ParquetFile.fromFile(b));
    open.set(file, f);
  }
  const t = await (await f).read({ rowGroups: [rowGroup], batchSize: 1 << 30 }); // one batch per row group
  return tableFromIPC(t.intoIPCStream()).batches;
}

/**
 * The batch with `diagnosis_codes` (Utf8, codes joined by U+001F) split into List<Utf8> and the
 * count column `n` dropped; the item count must equal the sum of `n` (else a code contained U+001F).
 */
export function splitJoinedCodes(rb: RecordBatch, label: string): RecordBatch {
  const idx = rb.schema.fields.findIndex((f) => f.name === "diagnosis_codes");
  const nIdx = rb.schema.fields.findIndex((f) => f.name === "n");
  const joined = rb.data.children[idx];
  const nData = rb.data.children[nIdx];
  if (!joined || !nData || joined.offset !== 0 || nData.offset !== 0)
    throw new Error("member part: diagnosis_codes and n expected");
  const rows = rb.numRows;
  const offs = joined.valueOffsets as Int32Array;
  const bytes = joined.values as Uint8Array;
  const valid = joined.nullCount > 0 ? joined.nullBitmap : null;
  const nv = nData.values as Int32Array;
  const nValid = nData.nullCount > 0 ? nData.nullBitmap : null;
  let expected = 0;
  for (let i = 0; i < rows; i++) if (!nValid || ((nValid[i >> 3] ?? 0) & (1 << (i & 7))) !== 0) expected += nv[i] ?? 0;
  // sized by the counts: were a code to contain U+001F, the split counts more items than that but
  // writes no offset past the end, and the count check below fails the batch
  const codeOffsets = new Int32Array(expected + 1);
  const listOffsets = new Int32Array(rows + 1);
  const [items, w] = splitJoinedBytes(offs, bytes, valid, rows, codeOffsets, listOffsets);
  if (items !== expected) throw separatorInCode(label);
  const child = makeData({
    type: new Utf8(),
    length: items,
    nullCount: 0,
    valueOffsets: codeOffsets.subarray(0, items + 1),
    data: bytes.subarray(0, w),
  });
  const listType = new List(new Field("item", new Utf8(), true));
  const list = makeData({
    type: listType,
    length: rows,
    nullCount: joined.nullCount,
    ...(valid ? { nullBitmap: valid } : {}),
    valueOffsets: listOffsets,
    child,
  });
  const fields: Field[] = [];
  const children: Data[] = [];
  rb.schema.fields.forEach((f, i) => {
    if (i === nIdx) return;
    const d = i === idx ? list : rb.data.children[i];
    if (!d) return;
    fields.push(i === idx ? new Field("diagnosis_codes", listType, true) : f);
    children.push(d);
  });
  return new RecordBatch(new Schema(fields), makeData({ type: new Struct(fields), length: rows, nullCount: 0, children }));
}
