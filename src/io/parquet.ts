// Parquet member files (grouped layout: one row per member, diagnosis_codes list<utf8>) and
// Parquet encoding for result sinks, through parquet-wasm. Files are read lazily by row group
// from a Blob backed by the file (fs.openAsBlob), so a large file never sits in memory whole.
import { openAsBlob, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { Table, tableFromIPC, tableToIPC, type RecordBatch, type Schema } from "apache-arrow";
import type * as PW from "parquet-wasm";
import { DataError } from "../errors.js";
import { fastParquet, fastParquetSupports, writeFastParquet } from "./parquet-writer.js";

/** Parquet page compression of result parts (bench/README.md "Result-part Parquet writers"). */
export type PartCompression = "none" | "snappy" | "lz4_raw" | "zstd";

let loaded: typeof PW | null = null;
/**
 * parquet-wasm, loaded the first time something needs it (its Node build is CommonJS, so this is
 * synchronous): compiling its 5 MB module took each scoring worker ≈ 65 ms of CPU at the start
 * of every run, and a worker that writes its parts with the fast writer and reads DuckDB's
 * export with io/parquet-reader.ts never calls it.
 */
export function parquetWasm(): typeof PW {
  return (loaded ??= createRequire(import.meta.url)("parquet-wasm") as typeof PW);
}

function codec(c: PartCompression): PW.Compression {
  const C = parquetWasm().Compression;
  return { none: C.UNCOMPRESSED, snappy: C.SNAPPY, lz4_raw: C.LZ4_RAW, zstd: C.ZSTD }[c];
}

/**
 * Parquet bytes of the given batches (one schema). Dictionary encoding is off: it costs ~5× the
 * write time in parquet-wasm (1.7 s vs 0.3 s per 1M result rows), and these files are staging
 * that DuckDB reads once (final Parquet outputs are rewritten by DuckDB with zstd).
 */
export function encodeParquet(batches: readonly RecordBatch[], compression: PartCompression = "snappy"): Uint8Array {
  const ipc = tableToIPC(new Table(batches as RecordBatch[]), "stream");
  // built per call: writeParquet takes ownership of the properties
  const pw = parquetWasm();
  const props = new pw.WriterPropertiesBuilder()
    .setCompression(codec(compression))
    .setDictionaryEnabled(false)
    .setMaxRowGroupSize(128 * 1024)
    .build();
  return pw.writeParquet(pw.Table.fromIPCStream(ipc), props);
}

/**
 * Parquet bytes of a staged result part: uncompressed, the fast writer (io/parquet-writer.ts) for
 * the types result batches use, parquet-wasm for anything else; compressed, parquet-wasm.
 */
export function encodePart(batches: readonly RecordBatch[], compression: PartCompression = "none"): Uint8Array {
  const first = batches[0];
  if (compression === "none" && first && fastParquetSupports(first.schema)) return fastParquet(batches);
  return encodeParquet(batches, compression);
}

/** encodePart's bytes written to `file` (the fast writer's from a buffer it reuses). */
export function writePartFile(file: string, batches: readonly RecordBatch[], compression: PartCompression = "none"): void {
  const first = batches[0];
  if (compression === "none" && first && fastParquetSupports(first.schema)) writeFastParquet(file, batches);
  else writeFileSync(file, encodeParquet(batches, compression));
}

/** One string per schema (field names and Arrow types, in order), to check that parts agree. */
export function schemaSignature(schema: Schema): string {
  return schema.fields.map((f) => `${f.name}:${String(f.type)}`).join(",");
}

/** Record batches of a Parquet file, one row group at a time. */
export async function* readParquetBatches(path: string): AsyncGenerator<RecordBatch> {
  let file: PW.ParquetFile;
  try {
    file = await parquetWasm().ParquetFile.fromFile(await openAsBlob(path));
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
