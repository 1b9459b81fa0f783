// Parquet member files (grouped layout: one row per member, diagnosis_codes list<utf8>) and
// Parquet encoding for result sinks, through parquet-wasm. Files are read lazily by row group
// from a Blob backed by the file (fs.openAsBlob), so a large file never sits in memory whole.
import { openAsBlob } from "node:fs";
import { Table, tableFromIPC, tableToIPC, type RecordBatch, type Schema } from "apache-arrow";
import * as pw from "parquet-wasm";
import { DataError } from "../errors.js";
import { fastParquet, fastParquetSupports } from "./parquet-writer.js";

/**
 * Parquet bytes of the given batches (one schema). Dictionary encoding is off: it costs ~5× the
 * write time in parquet-wasm (1.7 s vs 0.3 s per 1M result rows), and these files are staging
 * that DuckDB reads once (final Parquet outputs are rewritten by DuckDB with zstd).
 */
export function encodeParquet(batches: readonly RecordBatch[], compression: "none" | "snappy" = "snappy"): Uint8Array {
  const ipc = tableToIPC(new Table(batches as RecordBatch[]), "stream");
  const props = new pw.WriterPropertiesBuilder()
    .setCompression(compression === "none" ? pw.Compression.UNCOMPRESSED : pw.Compression.SNAPPY)
    .setDictionaryEnabled(false)
    .setMaxRowGroupSize(128 * 1024)
    .build();
  return pw.writeParquet(pw.Table.fromIPCStream(ipc), props);
}

/**
 * Parquet bytes of a staged result part: the fast writer (io/parquet-writer.ts) for the types
 * result batches use, parquet-wasm (uncompressed) for anything else.
 */
export function encodePart(batches: readonly RecordBatch[]): Uint8Array {
  const first = batches[0];
  return first && fastParquetSupports(first.schema) ? fastParquet(batches) : encodeParquet(batches, "none");
}

/** One string per schema (field names and Arrow types, in order), to check that parts agree. */
export function schemaSignature(schema: Schema): string {
  return schema.fields.map((f) => `${f.name}:${String(f.type)}`).join(",");
}

/** Record batches of a Parquet file, one row group at a time. */
export async function* readParquetBatches(path: string): AsyncGenerator<RecordBatch> {
  let file: pw.ParquetFile;
  try {
    file = await pw.ParquetFile.fromFile(await openAsBlob(path));
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") throw new DataError(`${path}: file not found`, { file: path }, e);
    throw new DataError(`${path}: not a readable Parquet file (${(e as Error).message})`, { file: path }, e);
  }
  try {
    const groups = file.metadata().numRowGroups();
    for (let g = 0; g < groups; g++) {
      const t = await file.read({ rowGroups: [g] });
      for (const b of tableFromIPC(t.intoIPCStream()).batches) yield b;
    }
  } finally {
    file.free();
  }
}
