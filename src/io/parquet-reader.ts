// A reader for the member parts a DuckDB warehouse exports (duckdb-warehouse.ts exportParts: COPY
// … (FORMAT parquet, COMPRESSION uncompressed)), one row group at a time into Arrow data: flat
// schemas of BOOLEAN, INT32 (plain or DATE) and BYTE_ARRAY (UTF8) columns, REQUIRED or OPTIONAL,
// each column chunk uncompressed, an optional dictionary page and one (v1) data page in PLAIN or
// dictionary encoding. Anything else — compression, other types or encodings, nested columns,
// chunks of several data pages, DATA_PAGE_V2 — makes `openPartFile` (or `readPartRowGroup`) answer
// null and the caller reads the file with parquet-wasm, as before. Per row group of 16,384
// members this takes a fraction of parquet-wasm's read, its Arrow IPC stream and the stream's
// parse (bench/README.md#pipeline-session-21; parquet-wasm stays the reader of every other file).
// The format: parquet.thrift (Thrift compact protocol) and the Parquet encodings specification.
import { closeSync, fstatSync, openSync, readSync } from "node:fs";
import {
  Bool,
  DateDay,
  Dictionary,
  Field,
  Int32,
  RecordBatch,
  Schema,
  Struct,
  Utf8,
  makeData,
  makeVector,
  type Data,
  type DataType,
} from "apache-arrow";
import {
  CT_DATE,
  CT_INT_32,
  CT_UTF8,
  E_PLAIN,
  E_PLAIN_DICTIONARY,
  E_RLE,
  E_RLE_DICTIONARY,
  OPTIONAL,
  PAGE_DATA,
  PAGE_DICTIONARY,
  REPEATED,
  T_BOOLEAN,
  T_BYTE_ARRAY,
  T_INT32,
} from "./parquet-format.js";

/** Larger row groups (an export's are a few MB) are left to parquet-wasm, which reads them by column. */
const MAX_ROW_GROUP_BYTES = 1 << 30;

/** A value the reader cannot decode: the caller falls back to parquet-wasm. */
class Unsupported extends Error {}

/** Thrift compact protocol, read side: the structs Parquet's footer and page headers use. */
class ThriftReader {
  constructor(
    readonly b: Uint8Array,
    public p: number,
  ) {}
  byte(): number {
    if (this.p >= this.b.length) throw new Unsupported("metadata ends early");
    return this.b[this.p++]!;
  }
  varint(): number {
    let r = 0;
    let mul = 1;
    for (;;) {
      const c = this.byte();
      r += (c & 0x7f) * mul;
      if ((c & 0x80) === 0) return r;
      mul *= 128;
      if (mul > 2 ** 63) throw new Unsupported("varint too long");
    }
  }
  zigzag(): number {
    const v = this.varint();
    return v % 2 === 0 ? v / 2 : -(v + 1) / 2;
  }
  binary(): Uint8Array {
    const n = this.varint();
    if (this.p + n > this.b.length) throw new Unsupported("metadata ends early");
    const v = this.b.subarray(this.p, this.p + n);
    this.p += n;
    return v;
  }
  /** Fields of a struct: `on(id, type)` reads the ones it knows (returns true) and the rest are skipped. */
  struct(on: (id: number, type: number) => boolean): void {
    let last = 0;
    for (;;) {
      const h = this.byte();
      if (h === 0) return;
      const type = h & 0x0f;
      const delta = h >> 4;
      const id = delta === 0 ? this.zigzag() : last + delta;
      last = id;
      if (!on(id, type)) this.skip(type);
    }
  }
  /** A list header: its element type and size (the elements follow). */
  list(): { type: number; size: number } {
    const h = this.byte();
    const size = h >> 4 === 15 ? this.varint() : h >> 4;
    return { type: h & 0x0f, size };
  }
  /** The value of a field of compact type `type` (booleans live in the field header). */
  int(type: number): number {
    if (type === 1) return 1;
    if (type === 2) return 0;
    if (type === 3) return (this.byte() << 24) >> 24;
    return this.zigzag();
  }
  skip(type: number): void {
    switch (type) {
      case 1:
      case 2:
        return;
      case 3:
        this.p++;
        return;
      case 4:
      case 5:
      case 6:
        this.varint();
        return;
      case 7:
        this.p += 8;
        return;
      case 8:
        this.binary();
        return;
      case 9:
      case 10: {
        const { type: t, size } = this.list();
        for (let i = 0; i < size; i++) this.skipElement(t);
        return;
      }
      case 11: {
        const size = this.varint();
        if (size === 0) return;
        const kv = this.byte();
        for (let i = 0; i < size; i++) {
          this.skipElement(kv >> 4);
          this.skipElement(kv & 0x0f);
        }
        return;
      }
      case 12:
        this.struct(() => false);
        return;
      default:
        throw new Unsupported(`thrift type ${type}`);
    }
  }
  /** An element of a list or map (booleans take a byte there). */
  private skipElement(type: number): void {
    if (type === 1 || type === 2) this.p++;
    else this.skip(type);
  }
}

interface Column {
  name: string;
  physical: number;
  optional: boolean;
  arrow: DataType;
}

interface Chunk {
  start: number;
  size: number;
  values: number;
}

export interface PartFile {
  file: string;
  columns: Column[];
  rowGroups: { rows: number; chunks: Chunk[] }[];
}

/** The footer of `file`, or null when its schema or storage is not one this reader decodes. */
export function openPartFile(file: string): PartFile | null {
  const fd = openSync(file, "r");
  try {
    const size = fstatSync(fd).size;
    if (size < 12) return null;
    const tail = Buffer.alloc(8);
    readSync(fd, tail, 0, 8, size - 8);
    if (tail.toString("latin1", 4) !== "PAR1") return null;
    const metaLen = tail.readUInt32LE(0);
    if (metaLen + 8 > size) return null;
    const meta = Buffer.alloc(metaLen);
    readSync(fd, meta, 0, metaLen, size - 8 - metaLen);
    return footer(file, meta);
  } catch (e) {
    if (e instanceof Unsupported) return null;
    throw e;
  } finally {
    closeSync(fd);
  }
}

function footer(file: string, meta: Uint8Array): PartFile | null {
  const t = new ThriftReader(meta, 0);
  const schema: { name: string; type: number; repetition: number; children: number; converted: number; logical: number }[] = [];
  const rowGroups: PartFile["rowGroups"] = [];
  t.struct((id, type) => {
    if (id === 2 && type === 9) {
      const { size } = t.list();
      for (let i = 0; i < size; i++) {
        const e = { name: "", type: -1, repetition: 0, children: 0, converted: -1, logical: -1 };
        t.struct((fid, ft) => {
          if (fid === 1) e.type = t.int(ft);
          else if (fid === 3) e.repetition = t.int(ft);
          else if (fid === 4) e.name = Buffer.from(t.binary()).toString("utf8");
          else if (fid === 5) e.children = t.int(ft);
          else if (fid === 6) e.converted = t.int(ft);
          else if (fid === 10 && ft === 12) {
            // LogicalType is a union: the id of its one field says which
            t.struct((lid, lt) => {
              e.logical = lid;
              t.skip(lt);
              return true;
            });
          } else return false;
          return true;
        });
        schema.push(e);
      }
      return true;
    }
    if (id === 4 && type === 9) {
      const { size } = t.list();
      for (let i = 0; i < size; i++) {
        const g = { rows: 0, chunks: [] as Chunk[] };
        t.struct((fid, ft) => {
          if (fid === 3) g.rows = t.int(ft);
          else if (fid === 1 && ft === 9) {
            const { size: n } = t.list();
            for (let k = 0; k < n; k++) g.chunks.push(chunkOf(t));
          } else return false;
          return true;
        });
        rowGroups.push(g);
      }
      return true;
    }
    return false;
  });
  const [root, ...leaves] = schema;
  if (!root || root.children !== leaves.length) return null; // nested columns
  const columns: Column[] = [];
  for (const e of leaves) {
    if (e.children !== 0 || e.repetition === REPEATED) return null;
    const arrow = arrowType(e);
    if (!arrow) return null;
    columns.push({ name: e.name, physical: e.type, optional: e.repetition === OPTIONAL, arrow });
  }
  if (rowGroups.some((g) => g.chunks.length !== columns.length)) return null;
  return { file, columns, rowGroups };
}

/** The Arrow type parquet-wasm gives the column, for the ones this reader decodes. */
function arrowType(e: { type: number; converted: number; logical: number }): DataType | null {
  // LogicalType union ids: 1 STRING, 6 DATE, 10 INTEGER
  if (e.type === T_BOOLEAN && e.converted === -1 && e.logical === -1) return new Bool();
  if (e.type === T_BYTE_ARRAY && (e.converted === CT_UTF8 || e.logical === 1)) return new Utf8();
  if (e.type === T_INT32 && (e.converted === CT_DATE || e.logical === 6)) return new DateDay();
  if (e.type === T_INT32 && (e.converted === -1 || e.converted === CT_INT_32) && (e.logical === -1 || e.logical === 10))
    return new Int32();
  return null;
}

function chunkOf(t: ThriftReader): Chunk {
  let start = -1;
  let dict = -1;
  let size = -1;
  let values = -1;
  let codec = -1;
  t.struct((id, type) => {
    if (id !== 3 || type !== 12) return false;
    t.struct((fid, ft) => {
      if (fid === 4) codec = t.int(ft);
      else if (fid === 5) values = t.int(ft);
      else if (fid === 7) size = t.int(ft);
      else if (fid === 9) start = t.int(ft);
      else if (fid === 11) dict = t.int(ft);
      else return false;
      return true;
    });
    return true;
  });
  if (codec !== 0) throw new Unsupported(`codec ${codec}`);
  if (start < 0 || size < 0 || values < 0) throw new Unsupported("column chunk without its offsets");
  // the dictionary page, when there is one, comes before the first data page
  return { start: dict >= 0 && dict < start ? dict : start, size, values };
}

/**
 * Row group `index` of a part as one record batch (the schema parquet-wasm gives, fields nullable),
 * or null when a page is one this reader does not decode. A text column named in `asDictionary`
 * whose pages are all dictionary-encoded comes as Dictionary<Utf8, Int32> (the Parquet dictionary
 * and the pages' indices as they are) instead of Utf8: for columns of a few distinct codes whose
 * reader takes either, no string is copied per row.
 */
export function readPartRowGroup(pf: PartFile, index: number, asDictionary?: ReadonlySet<string>): RecordBatch | null {
  const g = pf.rowGroups[index];
  if (!g) throw new RangeError(`${pf.file}: no row group ${index}`);
  const first = Math.min(...g.chunks.map((c) => c.start));
  const last = Math.max(...g.chunks.map((c) => c.start + c.size));
  if (!(first >= 0 && last - first <= MAX_ROW_GROUP_BYTES)) return null; // not a row group of an export part
  const buf = Buffer.allocUnsafe(last - first);
  // a plain Uint8Array view: its subarray() is cheaper than a Buffer's
  const bytes = new Uint8Array(buf.buffer, buf.byteOffset, buf.length);
  const fd = openSync(pf.file, "r");
  try {
    let got = 0;
    while (got < bytes.length) {
      const n = readSync(fd, buf, got, buf.length - got, first + got);
      if (n === 0) return null;
      got += n;
    }
  } finally {
    closeSync(fd);
  }
  try {
    const children = pf.columns.map((col, i) =>
      decodeChunk(col, bytes, g.chunks[i]!, first, g.rows, asDictionary?.has(col.name) ?? false),
    );
    const fields = pf.columns.map((c, i) => new Field(c.name, children[i]!.type, true));
    return new RecordBatch(new Schema(fields), makeData({ type: new Struct(fields), length: g.rows, nullCount: 0, children }));
  } catch (e) {
    if (e instanceof Unsupported) return null;
    throw e;
  }
}

/**
 * The values of one column chunk as Arrow data of `rows` rows. The chunk must be what DuckDB writes
 * for a row group of member parts: an optional dictionary page, then one data page holding every
 * row (DuckDB starts another page only past 100 MB); more pages go to parquet-wasm.
 */
function decodeChunk(col: Column, file: Uint8Array, chunk: Chunk, base: number, rows: number, asDictionary: boolean): Data {
  if (chunk.values !== rows) throw new Unsupported("values other than rows");
  let p = chunk.start - base;
  const end = p + chunk.size;
  const page = (): { h: PageHeader; body: number } => {
    if (p >= end) throw new Unsupported("column chunk ends early");
    const t = new ThriftReader(file, p);
    const h = pageHeader(t);
    p = t.p + h.size;
    if (p > end) throw new Unsupported("page past its chunk");
    return { h, body: t.p };
  };
  let { h, body } = page();
  let dict: Output | null = null;
  if (h.type === PAGE_DICTIONARY) {
    if (h.encoding !== E_PLAIN && h.encoding !== E_PLAIN_DICTIONARY) throw new Unsupported("dictionary encoding");
    dict = new Output(col.physical, h.values, null);
    dict.plain(file, body, p, h.values);
    ({ h, body } = page());
  }
  // DuckDB writes v1 data pages (also with PARQUET_VERSION V2); DATA_PAGE_V2 goes to parquet-wasm
  if (h.type !== PAGE_DATA) throw new Unsupported(`page type ${h.type}`);
  if (h.values !== rows || p !== end) throw new Unsupported("a column chunk of several data pages");
  const valid = new Uint8Array((rows + 7) >> 3);
  // definition levels of the rows when some are null (null: every row holds a value)
  let levels: Uint8Array | null = null;
  let at = body;
  // definition levels: which rows hold a value (flat columns: level 0 or 1)
  let present = rows;
  if (col.optional) {
    const lv = new Uint8Array(rows);
    // v1: the levels' byte length, then the levels as an RLE / bit-packed hybrid of width 1
    if (h.defEncoding !== E_RLE) throw new Unsupported("definition level encoding");
    const len = file[at]! | (file[at + 1]! << 8) | (file[at + 2]! << 16) | (file[at + 3]! << 24);
    at += 4;
    const lend = at + len;
    if (lend > p) throw new Unsupported("levels past their page");
    hybrid(file, at, lend, 1, lv, rows);
    at = lend;
    present = 0;
    for (let i = 0; i < rows; i++) present += lv[i]!;
    if (present < rows) {
      for (let i = 0; i < rows; i++) if (lv[i] === 1) valid[i >> 3]! |= 1 << (i & 7);
      levels = lv;
    } else valid.fill(0xff);
  } else valid.fill(0xff);
  const nulls = rows - present;
  if (h.encoding === E_RLE_DICTIONARY || h.encoding === E_PLAIN_DICTIONARY) {
    if (!dict) throw new Unsupported("dictionary page missing");
    const idx = new Int32Array(present);
    hybrid(file, at + 1, p, file[at]!, idx, present);
    const size = dict.size();
    for (let k = 0; k < present; k++) if (idx[k]! >>> 0 >= size) throw new Unsupported("dictionary index");
    if (asDictionary && col.physical === T_BYTE_ARRAY) {
      // the indices by row (0 where null) and the dictionary as they are
      let keys = idx;
      if (present < rows) {
        keys = new Int32Array(rows);
        for (let i = 0, k = 0; i < rows; i++) if (levels![i] === 1) keys[i] = idx[k++]!;
      }
      const values = makeVector(dict.data(new Utf8(), dict.size()) as Data<Utf8>);
      const type = new Dictionary(new Utf8(), new Int32());
      return makeData({
        type,
        length: rows,
        nullCount: nulls,
        nullBitmap: nulls > 0 ? valid : null,
        data: keys,
        dictionary: values,
      });
    }
    const out = new Output(col.physical, rows, levels);
    out.fromDictionary(dict, idx, rows);
    return out.data(col.arrow, rows, nulls, valid);
  }
  // (v2 pages' DELTA_* and RLE booleans among the encodings that go to parquet-wasm)
  if (h.encoding !== E_PLAIN) throw new Unsupported(`encoding ${h.encoding}`);
  const out = new Output(col.physical, rows, levels);
  out.plain(file, at, p, rows);
  return out.data(col.arrow, rows, nulls, valid);
}

interface PageHeader {
  type: number;
  size: number;
  values: number;
  encoding: number;
  defEncoding: number;
}

/** A page header: PageHeader with its DataPageHeader (field 5) or DictionaryPageHeader (field 7). */
function pageHeader(t: ThriftReader): PageHeader {
  const h: PageHeader = { type: -1, size: -1, values: -1, encoding: -1, defEncoding: -1 };
  t.struct((id, type) => {
    if (id === 1) h.type = t.int(type);
    else if (id === 3) h.size = t.int(type);
    else if ((id === 5 || id === 7) && type === 12)
      t.struct((fid, ft) => {
        if (fid === 1) h.values = t.int(ft);
        else if (fid === 2) h.encoding = t.int(ft);
        else if (fid === 3 && id === 5) h.defEncoding = t.int(ft);
        else return false;
        return true;
      });
    else return false;
    return true;
  });
  if (h.size < 0 || h.values < 0) throw new Unsupported("page header");
  return h;
}

/** The RLE / bit-packed hybrid of `count` values of `width` bits in b[p, end) into `out`. */
function hybrid(b: Uint8Array, p: number, end: number, width: number, out: Uint8Array | Int32Array, count: number): void {
  if (width > 32) throw new Unsupported("bit width");
  const bytesPer = (width + 7) >> 3;
  let i = 0;
  while (i < count) {
    if (p >= end) throw new Unsupported("levels end early");
    // varint header
    let h = 0;
    let shift = 0;
    for (;;) {
      const c = b[p++]!;
      h += (c & 0x7f) * 2 ** shift;
      if ((c & 0x80) === 0) break;
      shift += 7;
    }
    if ((h & 1) === 0) {
      const run = Math.floor(h / 2);
      let v = 0;
      for (let k = 0; k < bytesPer; k++) v |= b[p + k]! << (8 * k);
      p += bytesPer;
      const stop = Math.min(count, i + run);
      out.fill(v, i, stop);
      i = stop;
    } else {
      // groups of 8 values, `width` bits each, least significant bit first
      const n = Math.floor(h / 2) * 8;
      if (p + (n / 8) * width > end) throw new Unsupported("levels end early");
      if (width <= 24) {
        const mask = (1 << width) - 1;
        let acc = 0;
        let bits = 0;
        for (let k = 0; k < n; k++) {
          while (bits < width) {
            acc |= b[p++]! << bits;
            bits += 8;
          }
          if (i < count) out[i++] = acc & mask;
          acc >>>= width;
          bits -= width;
        }
      } else {
        let acc = 0;
        let bits = 0;
        for (let k = 0; k < n; k++) {
          while (bits < width) {
            acc += b[p++]! * 2 ** bits;
            bits += 8;
          }
          if (i < count) out[i++] = acc % 2 ** width;
          acc = Math.floor(acc / 2 ** width);
          bits -= width;
        }
      }
    }
  }
}

/** The decoded values of one column: Utf8 offsets and bytes, Int32 values or Bool bits. */
class Output {
  offsets: Int32Array | null = null;
  bytes: Uint8Array | null = null;
  used = 0;
  ints: Int32Array | null = null;
  bits: Uint8Array | null = null;
  constructor(
    readonly physical: number,
    rows: number,
    /** Definition levels of the rows (null: every row has a value). */
    readonly levels: Uint8Array | null,
  ) {
    if (physical === T_BYTE_ARRAY) {
      this.offsets = new Int32Array(rows + 1);
      // sized by room() from the page: plain values are at most the page's bytes
      this.bytes = new Uint8Array(0);
    } else if (physical === T_INT32) this.ints = new Int32Array(rows);
    else if (physical === T_BOOLEAN) this.bits = new Uint8Array((rows + 7) >> 3);
    else throw new Unsupported(`type ${physical}`);
  }

  /** Values held (a dictionary's size). */
  size(): number {
    return this.physical === T_BYTE_ARRAY ? this.offsets!.length - 1 : this.physical === T_INT32 ? this.ints!.length : -1;
  }

  /** The byte buffer with room for `n` more bytes. */
  private room(n: number): Uint8Array {
    let b = this.bytes!;
    if (this.used + n > b.length) {
      const grown = new Uint8Array(Math.max(b.length * 2, this.used + n));
      grown.set(b.subarray(0, this.used));
      b = this.bytes = grown;
    }
    return b;
  }

  /** PLAIN values for rows [0, n) from b[p, end) (absent rows take none). */
  plain(b: Uint8Array, p: number, end: number, n: number): void {
    const lv = this.levels;
    if (this.physical === T_BYTE_ARRAY) {
      const offs = this.offsets!;
      // the page's values are at most its bytes
      const dst = this.room(end - p);
      let w = this.used;
      for (let i = 0; i < n; i++) {
        if (lv === null || lv[i] === 1) {
          if (p + 4 > end) throw new Unsupported("values end early");
          const len = b[p]! | (b[p + 1]! << 8) | (b[p + 2]! << 16) | (b[p + 3]! << 24);
          p += 4;
          const stop = p + len;
          if (len < 0 || stop > end) throw new Unsupported("values end early");
          if (len > 24) {
            // a native copy beats the byte loop past a couple of dozen bytes (the joined codes)
            dst.set(b.subarray(p, stop), w);
            w += len;
            p = stop;
          } else while (p < stop) dst[w++] = b[p++]!;
        }
        offs[i + 1] = w;
      }
      this.used = w;
    } else if (this.physical === T_INT32) {
      const ints = this.ints!;
      for (let i = 0; i < n; i++) {
        if (lv !== null && lv[i] !== 1) continue;
        if (p + 4 > end) throw new Unsupported("values end early");
        ints[i] = b[p]! | (b[p + 1]! << 8) | (b[p + 2]! << 16) | (b[p + 3]! << 24);
        p += 4;
      }
    } else {
      // booleans: one bit each, least significant first
      const bits = this.bits!;
      let k = 0;
      for (let i = 0; i < n; i++) {
        if (lv !== null && lv[i] !== 1) continue;
        const byte = p + (k >> 3);
        if (byte >= end) throw new Unsupported("values end early");
        if ((b[byte]! >> (k & 7)) & 1) bits[i >> 3]! |= 1 << (i & 7);
        k++;
      }
    }
  }

  /** Rows [0, n) from dictionary indices (checked), one per present row. */
  fromDictionary(d: Output, idx: Int32Array, n: number): void {
    const lv = this.levels;
    let k = 0;
    if (this.physical === T_BYTE_ARRAY) {
      const offs = this.offsets!;
      const dOffs = d.offsets!;
      const src = d.bytes!;
      let longest = 0;
      for (let j = 0; j + 1 < dOffs.length; j++) longest = Math.max(longest, dOffs[j + 1]! - dOffs[j]!);
      const dst = this.room(longest * n);
      let w = this.used;
      for (let i = 0; i < n; i++) {
        if (lv === null || lv[i] === 1) {
          const j = idx[k++]!;
          for (let q = dOffs[j]!, e = dOffs[j + 1]!; q < e; q++) dst[w++] = src[q]!;
        }
        offs[i + 1] = w;
      }
      this.used = w;
    } else if (this.physical === T_INT32) {
      const ints = this.ints!;
      const dInts = d.ints!;
      for (let i = 0; i < n; i++) if (lv === null || lv[i] === 1) ints[i] = dInts[idx[k++]!]!;
    } else throw new Unsupported("dictionary of booleans");
  }

  data(type: DataType, rows: number, nulls = 0, valid: Uint8Array | null = null): Data {
    const nullBitmap = nulls > 0 ? valid : null;
    if (this.physical === T_BYTE_ARRAY)
      return makeData({
        type: type as Utf8,
        length: rows,
        nullCount: nulls,
        nullBitmap,
        valueOffsets: this.offsets!,
        data: this.bytes!.subarray(0, this.used),
      });
    if (this.physical === T_INT32)
      return type instanceof DateDay
        ? makeData({ type, length: rows, nullCount: nulls, nullBitmap, data: this.ints! })
        : makeData({ type: type as Int32, length: rows, nullCount: nulls, nullBitmap, data: this.ints! });
    return makeData({ type: type as Bool, length: rows, nullCount: nulls, nullBitmap, data: this.bits! });
  }
}
