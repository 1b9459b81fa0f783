// A Parquet writer for the pipeline's result batches, written for speed: Arrow buffers go to
// Parquet pages nearly as they are (PLAIN values, RLE/bit-packed levels, Arrow dictionaries as
// Parquet dictionary pages; doubles and ints with few distinct values, as rounded scores, through
// a dictionary built in Wasm), uncompressed, one row group per record batch, one data page per
// column chunk, no statistics. It covers the Arrow types result batches use — Int32, Int64,
// Float64, Bool, Utf8, DateDay, Dictionary<Int, Utf8>, List<Utf8> and List<Dictionary<Int, Utf8>> — and says no (fastParquetSupports)
// for anything else, where callers use parquet-wasm (io/parquet.ts). Format: the Apache Parquet
// specification (parquet.thrift, Thrift compact protocol); docs/adr/0002-result-storage.md says why.
import { closeSync, openSync, readFileSync, writeFileSync, writeSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { UnavailableError } from "../errors.js";
import { GrowableBytes } from "./bytes.js";
import { CODE_SEPARATOR } from "./joined-codes.js";
import {
  DataType,
  DateUnit,
  Precision,
  makeData,
  makeVector,
  Utf8,
  type Data,
  type Dictionary,
  type Field,
  type Int32,
  type RecordBatch,
  type Schema,
} from "apache-arrow";
import {
  CT_DATE,
  CT_LIST,
  CT_UTF8,
  E_PLAIN,
  E_RLE,
  E_RLE_DICTIONARY,
  OPTIONAL,
  PAGE_DATA,
  PAGE_DICTIONARY,
  REPEATED,
  REQUIRED,
  T_BOOLEAN,
  T_BYTE_ARRAY,
  T_DOUBLE,
  T_INT32,
  T_INT64,
} from "./parquet-format.js";

// ---- Thrift compact protocol types ------------------------------------------------------------
const C_TRUE = 1;
const C_FALSE = 2;
const C_I32 = 5;
const C_I64 = 6;
const C_BINARY = 8;
const C_LIST = 9;
const C_STRUCT = 12;

const UTF8 = new TextEncoder();

/** A growable little-endian byte buffer. */
class Out extends GrowableBytes {
  private view: DataView;
  constructor(cap = 1 << 16) {
    super(cap);
    this.view = new DataView(this.buf.buffer);
  }
  protected override grew(): void {
    this.view = new DataView(this.buf.buffer);
  }
  u8(v: number): void {
    this.reserve(1);
    this.buf[this.len++] = v;
  }
  u32(v: number): void {
    this.reserve(4);
    this.view.setUint32(this.len, v, true);
    this.len += 4;
  }
  setU32(at: number, v: number): void {
    this.view.setUint32(at, v, true);
  }
  bytes(src: Uint8Array, from = 0, to = src.length): void {
    const n = to - from;
    this.reserve(n);
    this.buf.set(src.subarray(from, to), this.len);
    this.len += n;
  }
  /** Unsigned LEB128 (numbers up to 2^53). */
  varint(v: number): void {
    this.reserve(10);
    while (v >= 0x80) {
      this.buf[this.len++] = v % 0x80 | 0x80;
      v = Math.floor(v / 0x80);
    }
    this.buf[this.len++] = v;
  }
  result(): Uint8Array {
    return this.buf.subarray(0, this.len);
  }
}

/** Thrift compact protocol writer (only what Parquet metadata needs; non-negative integers). */
class Thrift {
  private last = 0;
  private readonly stack: number[] = [];
  constructor(readonly out: Out) {}
  private header(id: number, type: number): void {
    const d = id - this.last;
    if (d > 0 && d <= 15) this.out.u8((d << 4) | type);
    else {
      this.out.u8(type);
      this.out.varint(id * 2); // zigzag i16
    }
    this.last = id;
  }
  int(id: number, v: number, type = C_I32): void {
    if (v < 0 || !Number.isSafeInteger(v)) throw new RangeError(`parquet metadata: field ${id} = ${v}`);
    this.header(id, type);
    this.out.varint(v * 2); // zigzag
  }
  i64(id: number, v: number): void {
    this.int(id, v, C_I64);
  }
  bool(id: number, v: boolean): void {
    this.header(id, v ? C_TRUE : C_FALSE);
  }
  str(id: number, s: string): void {
    const b = UTF8.encode(s);
    this.header(id, C_BINARY);
    this.out.varint(b.length);
    this.out.bytes(b);
  }
  list(id: number, elemType: number, size: number): void {
    this.header(id, C_LIST);
    if (size < 15) this.out.u8((size << 4) | elemType);
    else {
      this.out.u8(0xf0 | elemType);
      this.out.varint(size);
    }
  }
  listI32(id: number, values: readonly number[]): void {
    this.list(id, C_I32, values.length);
    for (const v of values) this.out.varint(v * 2);
  }
  listStr(id: number, values: readonly string[]): void {
    this.list(id, C_BINARY, values.length);
    for (const s of values) {
      const b = UTF8.encode(s);
      this.out.varint(b.length);
      this.out.bytes(b);
    }
  }
  /** A struct as a field (id given) or as a list element (id null). */
  begin(id: number | null): void {
    if (id !== null) this.header(id, C_STRUCT);
    this.stack.push(this.last);
    this.last = 0;
  }
  end(): void {
    this.out.u8(0);
    this.last = this.stack.pop() ?? 0;
  }
}

// ---- levels and bit packing -------------------------------------------------------------------

function bitWidth(max: number): number {
  let w = 0;
  while (max >> w > 0) w++;
  return w;
}

// ---- the inner loops in Wasm ----------------------------------------------------------------
// The RLE / bit-packed hybrid runs, a list column's levels, PLAIN strings and the non-null values
// of a nullable column are encoded by a small Wasm module
// of their own (assembly/parquet/index.ts, build/parquet.wasm): 3–4× the JavaScript loops they
// replaced, copies in and out included (bench/README.md "Session 13"). Its memory is laid out
// from offset 0 for each call (calls never overlap: one thread, synchronous).

interface Packer {
  memory: { readonly buffer: ArrayBuffer; grow(pages: number): number };
  hybrid(src: number, n: number, width: number, dst: number): number;
  listLevels(
    offsets: number,
    n: number,
    listValid: number,
    itemValid: number,
    base: number,
    maxDef: number,
    defWidth: number,
    scratch: number,
    dst: number,
  ): number;
  lastLevelCount(): number;
  plainStrings(offsets: number, n: number, bytes: number, valid: number, validFrom: number, dst: number): number;
  gather(src: number, n: number, size: number, valid: number, validFrom: number, dst: number): number;
  dictionary(
    src: number,
    n: number,
    size: number,
    maxDict: number,
    table: number,
    tableBits: number,
    keys: number,
    dict: number,
  ): number;
  splitJoined(
    offsets: number,
    rows: number,
    bytes: number,
    valid: number,
    sep: number,
    codeOffsets: number,
    cap: number,
    listOffsets: number,
  ): number;
  splitBytes(): number;
  stringDictionary(
    offsets: number,
    n: number,
    bytes: number,
    valid: number,
    table: number,
    tableBits: number,
    keys: number,
    firstRow: number,
  ): number;
}

let packer: Packer | null = null;

function wasm(): Packer {
  if (!packer) {
    const file = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "build", "parquet.wasm");
    let bytes: Buffer;
    try {
      bytes = readFileSync(file);
    } catch (e) {
      throw new UnavailableError(`${file}: Parquet encoder not built; run 'npm run build'`, e);
    }
    packer = new WebAssembly.Instance(new WebAssembly.Module(bytes), {}).exports as unknown as Packer;
  }
  return packer;
}

/** The packer's memory with at least `bytes` (grown when short). */
function packerMemory(bytes: number): Uint8Array {
  const m = wasm().memory;
  const have = m.buffer.byteLength;
  if (have < bytes) m.grow(Math.ceil((bytes - have) / 65536));
  return new Uint8Array(m.buffer);
}

const align8 = (n: number): number => (n + 7) & ~7;

/**
 * A Utf8 column (offset 0, one chunk) as Dictionary<Utf8, Int32>: keys in order of first
 * appearance, computed in this module's Wasm (assembly/parquet stringDictionary); the dictionary's
 * bytes are copied from each distinct value's first row. The fast writer then writes it as a
 * dictionary page and bit-packed keys: a column of a few thousand distinct codes in 65,536 rows
 * takes 1–2 bytes a row instead of its text.
 */
export function utf8Dictionary(d: Data<Utf8>, type: Dictionary<Utf8, Int32>): Data<Dictionary<Utf8, Int32>> {
  if (d.offset !== 0) throw new TypeError("utf8Dictionary: a sliced column");
  const n = d.length;
  const offs = d.valueOffsets;
  const bytes = d.values;
  const first = offs[0] ?? 0;
  const last = offs[n] ?? 0;
  const valid = d.nullCount > 0 ? d.nullBitmap : null;
  const tableBits = Math.max(4, bitWidth(Math.max(1, 2 * n - 1)));
  // in Wasm: offsets, bytes, bitmap, the table, the keys, the first rows
  const bytesAt = align8((n + 1) * 4);
  const validAt = align8(bytesAt + (last - first));
  const tableAt = align8(validAt + (valid ? (n + 7) >> 3 : 0));
  const keysAt = tableAt + (1 << tableBits) * 4;
  const firstAt = keysAt + n * 4;
  const mem = packerMemory(firstAt + n * 4);
  new Int32Array(mem.buffer, 0, n + 1).set(offs.subarray(0, n + 1));
  mem.set(bytes.subarray(first, last), bytesAt);
  if (valid) mem.set(valid.subarray(0, (n + 7) >> 3), validAt);
  const count = wasm().stringDictionary(0, n, bytesAt, valid ? validAt : 0, tableAt, tableBits, keysAt, firstAt);
  const keys = new Int32Array(n);
  keys.set(new Int32Array(mem.buffer, keysAt, n));
  const rows = new Int32Array(mem.buffer, firstAt, count);
  const dOffs = new Int32Array(count + 1);
  let total = 0;
  for (let k = 0; k < count; k++) {
    const r = rows[k]!;
    total += offs[r + 1]! - offs[r]!;
    dOffs[k + 1] = total;
  }
  const dBytes = new Uint8Array(total);
  for (let k = 0; k < count; k++) {
    const r = rows[k]!;
    dBytes.set(bytes.subarray(offs[r], offs[r + 1]), dOffs[k]);
  }
  const dict = makeData({ type: new Utf8(), length: count, nullCount: 0, valueOffsets: dOffs, data: dBytes });
  return makeData({
    type,
    length: n,
    nullCount: d.nullCount,
    nullBitmap: valid,
    data: keys,
    dictionary: makeVector(dict),
  });
}

/**
 * Splits `rows` strings of codes joined by CODE_SEPARATOR (`offs` into `bytes`; `valid`: their validity
 * bitmap, from bit 0, or null) in this module's Wasm (assembly/parquet splitJoined): the
 * separators are removed from `bytes` in place, `codeOffsets` (length cap + 1) gets the item
 * offsets and `listOffsets` (rows + 1) each row's item count so far. Returns [items, bytes left];
 * items > cap means some string held more codes than counted (nothing past cap is written).
 * For the scoring worker's member parts (src/workers/member-parts.ts).
 */
export function splitJoinedBytes(
  offs: Int32Array,
  bytes: Uint8Array,
  valid: Uint8Array | null,
  rows: number,
  codeOffsets: Int32Array,
  listOffsets: Int32Array,
): [number, number] {
  const cap = codeOffsets.length - 1;
  const end = offs[rows] ?? 0;
  const validAt = align8((rows + 1) * 4);
  const validBytes = valid ? (rows + 7) >> 3 : 0;
  const bytesAt = align8(validAt + validBytes);
  const codeAt = align8(bytesAt + end);
  const listAt = align8(codeAt + (cap + 1) * 4);
  const mem = packerMemory(listAt + (rows + 1) * 4);
  new Int32Array(mem.buffer, 0, rows + 1).set(offs.subarray(0, rows + 1));
  if (valid) mem.set(valid.subarray(0, validBytes), validAt);
  mem.set(bytes.subarray(0, end), bytesAt);
  const x = wasm();
  const items = x.splitJoined(0, rows, bytesAt, valid ? validAt : 0, CODE_SEPARATOR, codeAt, cap, listAt);
  const w = x.splitBytes();
  bytes.set(mem.subarray(bytesAt, bytesAt + w), 0);
  codeOffsets.set(new Int32Array(mem.buffer, codeAt, Math.min(items, cap) + 1)); // the offsets written
  listOffsets.set(new Int32Array(mem.buffer, listAt, rows + 1));
  return [items, w];
}

/**
 * RLE / bit-packed hybrid encoding of `n` values: one RLE run when all values are equal,
 * otherwise one bit-packed run (the last group of 8 zero-padded).
 */
function hybrid(out: Out, values: Int32Array, n: number, width: number): void {
  if (n === 0) return;
  if (width > 24) throw new RangeError(`fast Parquet: bit width ${width} not supported`);
  const dst = align8(n * 4);
  const mem = packerMemory(dst + n * 4 + 16); // a run is at most 5 + ⌈n/8⌉·width bytes
  new Int32Array(mem.buffer, 0, n).set(values.subarray(0, n));
  const k = wasm().hybrid(0, n, width, dst);
  out.bytes(mem, dst, dst + k);
}

/** Definition levels of a flat optional column: the Arrow validity bitmap is the bit-packed run. */
function flatLevels(out: Out, bitmap: Uint8Array | null, n: number): void {
  const at = out.len;
  out.u32(0);
  if (!bitmap) {
    out.varint(n * 2); // RLE run of 1s
    out.u8(1);
  } else {
    const groups = (n + 7) >> 3;
    out.varint(groups * 2 + 1);
    out.bytes(bitmap, 0, groups);
  }
  out.setU32(at, out.len - at - 4);
}

const isValid = (bitmap: Uint8Array | null | undefined, i: number): boolean =>
  !bitmap || ((bitmap[i >> 3] ?? 0) & (1 << (i & 7))) !== 0;

// ---- columns ----------------------------------------------------------------------------------

type Kind = "int32" | "int64" | "double" | "bool" | "utf8" | "date" | "dict" | "list";

const isUtf8Dictionary = (type: DataType): boolean =>
  DataType.isDictionary(type) && DataType.isUtf8(type.dictionary) && type.indices.bitWidth <= 32;

function kindOf(type: DataType): Kind | null {
  if (DataType.isInt(type)) {
    if (type.isSigned && type.bitWidth === 32) return "int32";
    if (type.isSigned && type.bitWidth === 64) return "int64";
    return null;
  }
  if (DataType.isFloat(type)) return type.precision === Precision.DOUBLE ? "double" : null;
  if (DataType.isBool(type)) return "bool";
  if (DataType.isUtf8(type)) return "utf8";
  if (DataType.isDate(type)) return type.unit === DateUnit.DAY ? "date" : null;
  if (DataType.isDictionary(type)) return isUtf8Dictionary(type) ? "dict" : null;
  if (DataType.isList(type)) {
    const child = type.children[0]?.type as DataType | undefined;
    // items as text, or as dictionary keys over text (written as a dictionary-encoded column)
    if (child && DataType.isDictionary(child)) return isUtf8Dictionary(child) ? "list" : null;
    return child && DataType.isUtf8(child) ? "list" : null;
  }
  return null;
}

/** Whether fastParquet can write batches of this schema. */
export function fastParquetSupports(schema: Schema): boolean {
  return schema.fields.every((f) => kindOf(f.type as DataType) !== null);
}

interface Leaf {
  field: Field;
  kind: Kind;
  physical: number;
  path: string[];
  maxDef: number;
  maxRep: number;
}

function leaves(schema: Schema): Leaf[] {
  return schema.fields.map((field) => {
    const kind = kindOf(field.type as DataType);
    if (!kind) throw new TypeError(`fast Parquet: column ${field.name} has unsupported type ${String(field.type)}`);
    const opt = field.nullable ? 1 : 0;
    if (kind === "list") {
      const item = (field.type as DataType).children[0];
      return {
        field,
        kind,
        physical: T_BYTE_ARRAY,
        path: [field.name, "list", item?.name ?? "item"],
        maxDef: opt + 1 + (item?.nullable === false ? 0 : 1),
        maxRep: 1,
      };
    }
    const physical =
      kind === "int32" || kind === "date"
        ? T_INT32
        : kind === "int64"
          ? T_INT64
          : kind === "double"
            ? T_DOUBLE
            : kind === "bool"
              ? T_BOOLEAN
              : T_BYTE_ARRAY;
    return { field, kind, physical, path: [field.name], maxDef: opt, maxRep: 0 };
  });
}

function schemaElements(t: Thrift, ls: readonly Leaf[]): void {
  t.list(2, C_STRUCT, 1 + ls.reduce((a, l) => a + (l.kind === "list" ? 3 : 1), 0));
  t.begin(null);
  t.str(4, "schema");
  t.int(5, ls.length);
  t.end();
  for (const leaf of ls) {
    const rep = leaf.field.nullable ? OPTIONAL : REQUIRED;
    if (leaf.kind === "list") {
      const item = (leaf.field.type as DataType).children[0];
      t.begin(null);
      t.int(3, rep);
      t.str(4, leaf.field.name);
      t.int(5, 1);
      t.int(6, CT_LIST);
      t.end();
      t.begin(null);
      t.int(3, REPEATED);
      t.str(4, "list");
      t.int(5, 1);
      t.end();
      t.begin(null);
      t.int(1, T_BYTE_ARRAY);
      t.int(3, item?.nullable === false ? REQUIRED : OPTIONAL);
      t.str(4, item?.name ?? "item");
      t.int(6, CT_UTF8);
      t.end();
      continue;
    }
    t.begin(null);
    t.int(1, leaf.physical);
    t.int(3, rep);
    t.str(4, leaf.field.name);
    if (leaf.kind === "utf8" || leaf.kind === "dict") t.int(6, CT_UTF8);
    if (leaf.kind === "date") t.int(6, CT_DATE);
    t.end();
  }
}

interface Chunk {
  leaf: Leaf;
  numValues: number;
  dataOffset: number;
  dictOffset: number | null;
  size: number;
}

function pageHeader(out: Out, type: number, size: number, numValues: number, encoding: number): void {
  const t = new Thrift(out);
  t.begin(null);
  t.int(1, type);
  t.int(2, size);
  t.int(3, size);
  if (type === PAGE_DICTIONARY) {
    t.begin(7);
    t.int(1, numValues);
    t.int(2, encoding);
    t.end();
  } else {
    t.begin(5);
    t.int(1, numValues);
    t.int(2, encoding);
    t.int(3, E_RLE);
    t.int(4, E_RLE);
    t.end();
  }
  t.end();
}

/** PLAIN BYTE_ARRAY values of rows [from, to) of a Utf8 Data, skipping nulls when a bitmap is given. */
function plainStrings(out: Out, d: Data, from: number, to: number, bitmap: Uint8Array | null): void {
  const n = to - from;
  if (n <= 0) return;
  const offs = d.valueOffsets as Int32Array;
  const bytes = d.values as Uint8Array;
  const o = d.offset;
  const first = offs[o + from] ?? 0;
  const last = offs[o + to] ?? 0;
  // in Wasm: the offsets, the bytes they delimit, the bitmap's bytes for these rows, then the values
  const bytesAt = align8((n + 1) * 4);
  const validAt = align8(bytesAt + (last - first));
  const validFrom = (o + from) & 7;
  const validBytes = bitmap ? (validFrom + n + 7) >> 3 : 0;
  const dst = align8(validAt + validBytes);
  const mem = packerMemory(dst + n * 4 + (last - first));
  new Int32Array(mem.buffer, 0, n + 1).set(offs.subarray(o + from, o + to + 1));
  mem.set(bytes.subarray(first, last), bytesAt);
  if (bitmap) mem.set(bitmap.subarray((o + from) >> 3, ((o + from) >> 3) + validBytes), validAt);
  const k = wasm().plainStrings(0, n, bytesAt, bitmap ? validAt : 0, validFrom, dst);
  out.bytes(mem, dst, dst + k);
}

// page bodies are built in these (reused; a worker writes one file at a time), then copied after their header
const pageScratch = new Out(1 << 20);
const dictScratch = new Out(1 << 12);

/** Appends one column chunk (dictionary page if any, then one data page); returns its metadata. */
function writeChunk(out: Out, leaf: Leaf, d: Data, n: number): Chunk {
  const start = out.len;
  const bitmap = leaf.field.nullable && d.nullCount > 0 ? (d.nullBitmap ?? null) : null;
  if (d.offset !== 0 || (d.children[0]?.offset ?? 0) !== 0) {
    throw new TypeError(`fast Parquet: column ${leaf.field.name} is a slice (offset ${d.offset}); write whole batches`);
  }
  let dictOffset: number | null = null;
  const page = pageScratch;
  page.len = 0;
  let numValues = n;
  let encoding = E_PLAIN;
  if (leaf.kind === "list") {
    const child = d.children[0];
    let width = 0; // items as text
    if (child?.dictionary) {
      const dict = textDictionary(out, leaf, child);
      dictOffset = dict.offset;
      width = dict.width;
      encoding = E_RLE_DICTIONARY;
    }
    numValues = listPage(page, leaf, d, n, width);
  } else {
    if (leaf.maxDef > 0) flatLevels(page, bitmap, n);
    if (leaf.kind === "dict") {
      const dict = textDictionary(out, leaf, d);
      dictOffset = dict.offset;
      // the keys of the non-null rows (without nulls: the keys themselves, not a copy)
      dictionaryKeys(page, d.values as Int32Array, 0, n, bitmap, dict.width);
      encoding = E_RLE_DICTIONARY;
    } else if ((leaf.kind === "int32" || leaf.kind === "date") && n > 0 && !bitmap && constantI32(d.values as Int32Array, n)) {
      // one value in every row (payment_year of factor and gap rows): a one-entry dictionary
      // page and one RLE run instead of 4 bytes a row
      const v = d.values as Int32Array;
      dictOffset = dictionaryPage(out, 1, (p) => p.bytes(new Uint8Array(v.buffer, v.byteOffset, 4)));
      page.u8(1); // bit width of the keys
      page.varint(n * 2); // an RLE run of n keys 0
      page.u8(0);
      encoding = E_RLE_DICTIONARY;
    } else if ((leaf.kind === "double" || leaf.kind === "int32") && n >= DICT_MIN_ROWS) {
      dictOffset = fixedDictionary(out, page, d, n, bitmap);
      if (dictOffset !== null) encoding = E_RLE_DICTIONARY;
    } else plainValues(page, leaf.kind, d, n, bitmap);
  }
  const dataOffset = out.len;
  pageHeader(out, PAGE_DATA, page.len, numValues, encoding);
  out.bytes(page.result());
  return { leaf, numValues, dataOffset, dictOffset, size: out.len - start };
}

/** The dictionary page of a Dictionary<Utf8> Data (a column, or a list's items): its offset and the keys' bit width. */
function textDictionary(out: Out, leaf: Leaf, d: Data): { offset: number; width: number } {
  const dict = d.dictionary?.data[0];
  if (!dict || (d.dictionary?.data.length ?? 0) !== 1)
    throw new TypeError(`fast Parquet: ${leaf.field.name}: dictionary of one chunk expected`);
  const offset = dictionaryPage(out, dict.length, (p) => plainStrings(p, dict as Data, 0, dict.length, null));
  return { offset, width: Math.max(1, bitWidth(Math.max(0, dict.length - 1))) };
}

/** Appends a dictionary page of `count` PLAIN values (written by `fill`); returns its offset. */
function dictionaryPage(out: Out, count: number, fill: (page: Out) => void): number {
  const dictPage = dictScratch;
  dictPage.len = 0;
  fill(dictPage);
  const at = out.len;
  pageHeader(out, PAGE_DICTIONARY, dictPage.len, count, E_PLAIN);
  out.bytes(dictPage.result());
  return at;
}

/** Whether the first n values are all the same. */
function constantI32(v: Int32Array, n: number): boolean {
  const first = v[0];
  for (let i = 1; i < n; i++) if (v[i] !== first) return false;
  return true;
}

/** PLAIN values of a flat column (offset 0, checked by writeChunk), nulls skipped. */
// one function per kind: optimized for the first kind it met, a shared one was thrown away at
// the next (13 deoptimizations a 1M run)
function plainValues(page: Out, kind: Kind, d: Data, n: number, bitmap: Uint8Array | null): void {
  if (kind === "utf8") return plainStrings(page, d, 0, n, bitmap);
  if (kind === "bool") return plainBools(page, d.values as Uint8Array, n, bitmap);
  return plainFixed(page, d, n, bitmap);
}

function plainBools(page: Out, vals: Uint8Array, n: number, bitmap: Uint8Array | null): void {
  const bits = new Uint8Array(n);
  const k = nonNullBits(vals, n, bitmap, bits);
  const bytes = new Uint8Array((k + 7) >> 3);
  packBits(bits, k, bytes);
  page.bytes(bytes);
}

// each loop in a function of its own: optimized while the first batch ran, the code after it
// had never run and was thrown away at its first call (ten deoptimizations a 1M run)

/** The non-null values' bits, one per byte; returns how many. */
function nonNullBits(vals: Uint8Array, n: number, bitmap: Uint8Array | null, bits: Uint8Array): number {
  let k = 0;
  for (let i = 0; i < n; i++) if (!bitmap || isValid(bitmap, i)) bits[k++] = isValid(vals, i) ? 1 : 0;
  return k;
}

function packBits(bits: Uint8Array, k: number, bytes: Uint8Array): void {
  for (let i = 0; i < k; i++) if (bits[i]) bytes[i >> 3]! |= 1 << (i & 7);
}

function plainFixed(page: Out, d: Data, n: number, bitmap: Uint8Array | null): void {
  const src = d.values as Int32Array | Float64Array | BigInt64Array;
  const width = src.BYTES_PER_ELEMENT;
  const raw = new Uint8Array(src.buffer, src.byteOffset, n * width);
  if (!bitmap) {
    page.bytes(raw);
    return;
  }
  const { mem, at, kept } = nonNullInPacker(raw, n, width, bitmap, 0);
  page.bytes(mem, at, at + kept * width);
}

/**
 * The non-null values of a fixed-width column chunk (`raw`, n values of `width` bytes) in the
 * packer's memory, gathered in Wasm when there are nulls: at `at`, `kept` of them; `reserve`
 * bytes from `free` on (8-aligned) are the caller's.
 */
function nonNullInPacker(
  raw: Uint8Array,
  n: number,
  width: number,
  bitmap: Uint8Array | null,
  reserve: number,
): { mem: Uint8Array; at: number; kept: number; free: number } {
  const validAt = align8(n * width);
  const valuesAt = align8(validAt + ((n + 7) >> 3));
  const free = align8(valuesAt + n * width);
  const mem = packerMemory(free + reserve);
  mem.set(raw, 0);
  if (!bitmap) return { mem, at: 0, kept: n, free };
  mem.set(bitmap.subarray(0, (n + 7) >> 3), validAt);
  return { mem, at: valuesAt, kept: wasm().gather(0, n, width, validAt, 0, valuesAt) / width, free };
}

/** Numbers are dictionary-encoded in row groups of at least this many rows... */
const DICT_MIN_ROWS = 64;
/** ...when they have at most this many distinct values (and at most a quarter of the rows). */
const DICT_MAX = 1 << 12;

/**
 * A DOUBLE or INT32 column chunk's values dictionary-encoded (Wasm `dictionary`, values compared
 * bit for bit): the dictionary page appended to `out` (its offset returned) and the non-null
 * rows' keys to `page`. Rounded scores (a few thousand distinct values in 16,384 members),
 * coefficients and HCC numbers take 1–2 bytes a value instead of 8 or 4, so the parts a run
 * writes are about a third smaller. With too many distinct values the values go PLAIN and null
 * is returned.
 */
function fixedDictionary(out: Out, page: Out, d: Data, n: number, bitmap: Uint8Array | null): number | null {
  const src = d.values as Int32Array | Float64Array;
  const width = src.BYTES_PER_ELEMENT;
  const raw = new Uint8Array(src.buffer, src.byteOffset, n * width);
  const maxDict = Math.max(1, Math.min(DICT_MAX, n >> 2));
  const tableBits = Math.max(4, bitWidth(maxDict * 2 - 1));
  const tableBytes = (1 << tableBits) * 4;
  // after the values: the hash table, the keys, the dictionary, the keys' bit-packed run
  const reserve = tableBytes + n * 4 + align8(maxDict * width) + 8 + n * 4 + 16;
  const { mem, at, kept, free } = nonNullInPacker(raw, n, width, bitmap, reserve);
  const keysAt = free + tableBytes;
  const dictAt = keysAt + n * 4;
  const runAt = align8(dictAt + maxDict * width);
  const x = wasm();
  const count = kept > 0 ? x.dictionary(at, kept, width, maxDict, free, tableBits, keysAt, dictAt) : -1;
  if (count < 0) {
    page.bytes(mem, at, at + kept * width);
    return null;
  }
  const offset = dictionaryPage(out, count, (p) => p.bytes(mem, dictAt, dictAt + count * width));
  const keyWidth = Math.max(1, bitWidth(count - 1));
  page.u8(keyWidth);
  const k = x.hybrid(keysAt, kept, keyWidth, runAt);
  page.bytes(mem, runAt, runAt + k);
  return offset;
}

/** Whether every null list of the n has no items (as the lists the engine builds): their items are then all written. */
function nullListsEmpty(offs: Int32Array, n: number, listBitmap: Uint8Array): boolean {
  for (let i = 0; i < n; i++) if (!isValid(listBitmap, i) && offs[i] !== offs[i + 1]) return false;
  return true;
}

/** The keys of rows [from, to) of a dictionary column's keys, nulls skipped: one bit-packed run of `width` bits. */
function dictionaryKeys(page: Out, keys: Int32Array, from: number, to: number, bitmap: Uint8Array | null, width: number): void {
  page.u8(width);
  if (!bitmap) return hybrid(page, keys.subarray(from, to), to - from, width);
  // in Wasm: the keys and the bitmap's bytes for these rows, the non-null keys gathered, their run
  const n = to - from;
  const validAt = align8(n * 4);
  const validFrom = from & 7;
  const validBytes = (validFrom + n + 7) >> 3;
  const keptAt = align8(validAt + validBytes);
  const dst = keptAt + n * 4;
  const mem = packerMemory(dst + n * 4 + 16);
  new Int32Array(mem.buffer, 0, n).set(keys.subarray(from, to));
  mem.set(bitmap.subarray(from >> 3, (from >> 3) + validBytes), validAt);
  const x = wasm();
  const kept = x.gather(0, n, 4, validAt, validFrom, keptAt) / 4;
  const k = x.hybrid(keptAt, kept, width, dst);
  page.bytes(mem, dst, dst + k);
}

/**
 * Rep/def levels and values of a List<Utf8> column, or of a List<Dictionary<Utf8>> column whose
 * keys are written `dictWidth` bits each after the levels (its dictionary page comes first:
 * writeChunk; 0 = items as text); offset 0, checked by writeChunk. Returns the level count.
 */
function listPage(page: Out, leaf: Leaf, d: Data, n: number, dictWidth: number): number {
  const offs = d.valueOffsets as Int32Array;
  const child = d.children[0];
  if (!child) throw new TypeError(`fast Parquet: ${leaf.field.name}: list without child data`);
  const listBitmap = leaf.field.nullable && d.nullCount > 0 ? (d.nullBitmap ?? null) : null;
  const itemNullable = leaf.maxDef - (leaf.field.nullable ? 1 : 0) === 2;
  const itemBitmap = itemNullable && child.nullCount > 0 ? (child.nullBitmap ?? null) : null;
  const base = leaf.field.nullable ? 1 : 0; // def level of an empty list
  const firstItem = offs[0] ?? 0;
  const lastItem = offs[n] ?? 0;
  // the levels, in Wasm: offsets, the bitmaps, rep and def scratch, then the two level runs
  const cap = n + (lastItem - firstItem);
  const listAt = align8((n + 1) * 4);
  const itemAt = align8(listAt + ((n + 7) >> 3));
  const scratch = align8(itemAt + ((lastItem + 7) >> 3));
  const dst = scratch + cap * 8;
  const mem = packerMemory(dst + 2 * cap + 64);
  new Int32Array(mem.buffer, 0, n + 1).set(offs.subarray(0, n + 1));
  if (listBitmap) mem.set(listBitmap.subarray(0, (n + 7) >> 3), listAt);
  if (itemBitmap) mem.set(itemBitmap.subarray(0, (lastItem + 7) >> 3), itemAt);
  const x = wasm();
  const k = x.listLevels(
    0,
    n,
    listBitmap ? listAt : 0,
    itemBitmap ? itemAt : 0,
    base,
    leaf.maxDef,
    bitWidth(leaf.maxDef),
    scratch,
    dst,
  );
  page.bytes(mem, dst, dst + k);
  const e = x.lastLevelCount();
  if (dictWidth > 0) {
    // the keys of the items of non-null lists, in order: one run (a null list has no items)
    const keys = child.values as Int32Array;
    if (!listBitmap || nullListsEmpty(offs, n, listBitmap))
      dictionaryKeys(page, keys, firstItem, lastItem, itemBitmap, dictWidth);
    else {
      const kept = new Int32Array(lastItem - firstItem);
      let k = 0;
      for (let i = 0; i < n; i++) {
        if (!isValid(listBitmap, i)) continue;
        for (let j = offs[i] ?? 0, t = offs[i + 1] ?? 0; j < t; j++)
          if (!itemBitmap || isValid(itemBitmap, j)) kept[k++] = keys[j] ?? 0;
      }
      dictionaryKeys(page, kept, 0, k, null, dictWidth);
    }
  } else if (!listBitmap || nullListsEmpty(offs, n, listBitmap)) plainStrings(page, child, firstItem, lastItem, itemBitmap);
  else
    for (let i = 0; i < n; i++) if (isValid(listBitmap, i)) plainStrings(page, child, offs[i] ?? 0, offs[i + 1] ?? 0, itemBitmap);
  return e;
}

function columnMeta(t: Thrift, c: Chunk): void {
  t.begin(3);
  t.int(1, c.leaf.physical);
  t.listI32(2, c.dictOffset !== null ? [E_PLAIN, E_RLE, E_RLE_DICTIONARY] : [E_PLAIN, E_RLE]);
  t.listStr(3, c.leaf.path);
  t.int(4, 0); // UNCOMPRESSED
  t.i64(5, c.numValues);
  t.i64(6, c.size);
  t.i64(7, c.size);
  t.i64(9, c.dataOffset);
  if (c.dictOffset !== null) t.i64(11, c.dictOffset);
  t.end();
}

/** Parquet bytes of record batches sharing one schema: one row group per non-empty batch. */
export function fastParquet(batches: readonly RecordBatch[]): Uint8Array {
  const out = new Out(1 << 20);
  encodeInto(out, batches);
  return out.result();
}

// one part at a time per thread: the file bytes are built in one buffer that stays allocated
const fileScratch = new Out(1 << 20);

/** Writes fastParquet(batches) to `file` from a buffer reused across calls (no allocation per part). */
export function writeFastParquet(file: string, batches: readonly RecordBatch[]): void {
  fileScratch.len = 0;
  encodeInto(fileScratch, batches);
  writeFileSync(file, fileScratch.result());
}

function encodeInto(out: Out, batches: readonly RecordBatch[]): void {
  const schema = batches[0]?.schema;
  if (!schema) throw new TypeError("fast Parquet: no batches");
  const ls = leaves(schema);
  out.bytes(MAGIC);
  const groups: RowGroup[] = [];
  for (const b of batches) if (b.numRows > 0) groups.push(rowGroup(out, ls, b));
  footer(out, ls, groups);
}

interface RowGroup {
  chunks: Chunk[];
  rows: number;
}

/** Appends one row group (a column chunk per leaf) of batch `b`; its chunks' offsets are positions in `out`. */
function rowGroup(out: Out, ls: readonly Leaf[], b: RecordBatch): RowGroup {
  const chunks = ls.map((leaf, i) => {
    const d = b.data.children[i];
    if (!d) throw new TypeError(`fast Parquet: column ${leaf.field.name} missing in a batch`);
    return writeChunk(out, leaf, d, b.numRows);
  });
  return { chunks, rows: b.numRows };
}

/** Appends the file metadata, its length and the closing magic. */
function footer(out: Out, ls: readonly Leaf[], groups: readonly RowGroup[]): void {
  const footerAt = out.len;
  const t = new Thrift(out);
  t.begin(null);
  t.int(1, 1);
  schemaElements(t, ls);
  t.i64(
    3,
    groups.reduce((a, g) => a + g.rows, 0),
  );
  t.list(4, C_STRUCT, groups.length);
  for (const g of groups) {
    t.begin(null);
    t.list(1, C_STRUCT, g.chunks.length);
    for (const c of g.chunks) {
      t.begin(null);
      t.i64(2, c.dictOffset ?? c.dataOffset);
      columnMeta(t, c);
      t.end();
    }
    t.i64(
      2,
      g.chunks.reduce((a, c) => a + c.size, 0),
    );
    t.i64(3, g.rows);
    t.end();
  }
  t.str(6, "hcc-wasm fast parquet writer");
  t.end();
  out.u32(out.len - footerAt);
  out.bytes(MAGIC);
}

/**
 * A Parquet file written one row group at a time (the fast writer's encoding): each add() appends
 * a batch's row group to the file, close() writes the footer. Only the footer's metadata stays in
 * memory, so a file of any size is written with one row group's buffer. Every batch must have the
 * schema of the first.
 */
export class FastParquetFile {
  private readonly fd: number;
  private readonly out = new Out(1 << 16);
  private pos = 0;
  private leaves: Leaf[] | null = null;
  private signature = "";
  private readonly groups: RowGroup[] = [];
  private closed = false;
  rows = 0;

  constructor(readonly path: string) {
    this.fd = openSync(path, "w");
    this.out.bytes(MAGIC);
    this.flush();
  }

  /** Appends `b` as one row group (nothing for an empty batch). */
  add(b: RecordBatch): void {
    if (this.closed) throw new TypeError(`fast Parquet: ${this.path} is closed`);
    const sig = b.schema.fields.map((f) => `${f.name}:${String(f.type)}:${f.nullable}`).join(",");
    if (!this.leaves) {
      this.leaves = leaves(b.schema);
      this.signature = sig;
    } else if (sig !== this.signature) throw new TypeError(`fast Parquet: ${this.path}: a batch with another schema`);
    if (b.numRows === 0) return;
    const g = rowGroup(this.out, this.leaves, b);
    // the chunks' offsets are positions in the buffer; in the file they start at pos
    for (const c of g.chunks) {
      c.dataOffset += this.pos;
      if (c.dictOffset !== null) c.dictOffset += this.pos;
    }
    this.groups.push(g);
    this.rows += b.numRows;
    this.flush();
  }

  /** Writes the footer and closes the file (a file without any batch gets `schema`'s columns and no rows). */
  close(schema?: Schema): void {
    if (this.closed) return;
    this.closed = true;
    try {
      const ls = this.leaves ?? (schema ? leaves(schema) : null);
      if (!ls) throw new TypeError(`fast Parquet: ${this.path}: no schema (no batch was added)`);
      footer(this.out, ls, this.groups);
      this.flush();
    } finally {
      closeSync(this.fd);
    }
  }

  private flush(): void {
    const bytes = this.out.result();
    let off = 0;
    while (off < bytes.length) off += writeSync(this.fd, bytes, off, bytes.length - off);
    this.pos += bytes.length;
    this.out.len = 0;
  }
}

const MAGIC = UTF8.encode("PAR1");
