// Result batches as NDJSON or CSV bytes: the one text encoder for every text output (member-record
// files, directory sinks). Column-wise over the Arrow buffers straight into a byte buffer: Utf8
// values are copied (escaped) byte for byte, dictionaries encoded once, so no JS string is made
// per cell except a number's digits. Lists become JSON arrays (NDJSON) or `;`-joined cells (CSV);
// nulls are JSON null / empty cells; dates ISO.
import { DataType, type Data, type RecordBatch, type Vector } from "apache-arrow";

import type { TextFormat, TextOptions } from "./record-format.js";
export { OUTPUT_RECORD, type TextFormat, type TextOptions } from "./record-format.js";

const encoder = new TextEncoder();
const HEX = "0123456789abcdef";

/** Bytes every row may write without asking for room (keys, numbers, constants; never a value's text). */
const ROW_RESERVE = 1 << 14;

/**
 * A growable byte buffer. Writers of fixed-size pieces (numbers, keys, null) write without a
 * check: room(ROW_RESERVE) is asked once per row, and every variable-size writer asks for its own
 * bytes plus the reserve, so the rest of the row still fits.
 */
class Bytes {
  buf: Uint8Array;
  n = 0;
  constructor(capacity = 1 << 16) {
    this.buf = new Uint8Array(capacity);
  }
  /** Over an existing buffer (its bytes are overwritten). */
  static over(buffer: ArrayBuffer): Bytes {
    const b = new Bytes(0);
    b.buf = new Uint8Array(buffer);
    return b;
  }
  room(k: number): void {
    if (this.n + k <= this.buf.length) return;
    const grown = new Uint8Array(Math.max(this.buf.length * 2, this.n + k));
    grown.set(this.buf.subarray(0, this.n));
    this.buf = grown;
  }
  byte(b: number): void {
    this.buf[this.n++] = b;
  }
  /** A whole constant array (one memcpy, no view object). */
  bytes(src: Uint8Array): void {
    this.buf.set(src, this.n);
    this.n += src.length;
  }
  /** ASCII text (digits). */
  ascii(s: string): void {
    const b = this.buf;
    let n = this.n;
    for (let i = 0; i < s.length; i++) b[n++] = s.charCodeAt(i);
    this.n = n;
  }
  /** A non-negative integer's digits. */
  uint(v: number): void {
    if (v < 10) {
      this.buf[this.n++] = 0x30 + v;
      return;
    }
    let digits = 1;
    for (let p = 10; p <= v; p *= 10) digits++;
    const b = this.buf;
    let at = this.n + digits;
    this.n = at;
    do {
      const q = Math.floor(v / 10);
      b[--at] = 0x30 + (v - q * 10);
      v = q;
    } while (v > 0);
  }
  /**
   * A finite number as JavaScript prints it (String(v)): written directly when it is an integer
   * or has at most three decimals (the rounded scores), else through String().
   */
  number(v: number): void {
    const a = Math.abs(v);
    if (a < 1e9) {
      const k = Math.round(a * 1000);
      if (k / 1000 === a && a !== 0) {
        if (v < 0) this.buf[this.n++] = 0x2d;
        const whole = Math.floor(k / 1000);
        let frac = k - whole * 1000;
        this.uint(whole);
        if (frac !== 0) {
          this.buf[this.n++] = 0x2e;
          let width = 3;
          while (frac % 10 === 0) {
            frac /= 10;
            width--;
          }
          const b = this.buf;
          for (let i = width - 1; i >= 0; i--) {
            b[this.n + i] = 0x30 + (frac % 10);
            frac = Math.floor(frac / 10);
          }
          this.n += width;
        }
        return;
      }
      if (a === 0) {
        this.buf[this.n++] = 0x30; // 0 and -0 both print "0"
        return;
      }
    }
    this.ascii(String(v));
  }
  raw(src: Uint8Array, s: number, e: number): void {
    this.room(e - s + ROW_RESERVE);
    const b = this.buf;
    let n = this.n;
    for (let i = s; i < e; i++) b[n++] = src[i]!;
    this.n = n;
  }
  /** UTF-8 bytes as a JSON string (quotes, backslashes and control characters escaped). */
  json(src: Uint8Array, s: number, e: number): void {
    this.room((e - s) * 6 + 2 + ROW_RESERVE);
    const b = this.buf;
    let n = this.n;
    b[n++] = 0x22;
    for (let i = s; i < e; i++) {
      const c = src[i]!;
      if (c === 0x22 || c === 0x5c) {
        b[n++] = 0x5c;
        b[n++] = c;
      } else if (c < 0x20) {
        b[n++] = 0x5c;
        b[n++] = 0x75;
        b[n++] = 0x30;
        b[n++] = 0x30;
        b[n++] = HEX.charCodeAt(c >> 4);
        b[n++] = HEX.charCodeAt(c & 15);
      } else b[n++] = c;
    }
    b[n++] = 0x22;
    this.n = n;
  }
  /** UTF-8 bytes as a CSV field (quoted when it holds a comma, quote or line break). */
  csv(src: Uint8Array, s: number, e: number): void {
    let quote = false;
    for (let i = s; i < e && !quote; i++) {
      const c = src[i];
      quote = c === 0x2c || c === 0x22 || c === 0x0a || c === 0x0d;
    }
    if (!quote) return this.raw(src, s, e);
    this.room((e - s) * 2 + 2 + ROW_RESERVE);
    const b = this.buf;
    b[this.n++] = 0x22;
    for (let i = s; i < e; i++) {
      const c = src[i] ?? 0;
      if (c === 0x22) b[this.n++] = 0x22;
      b[this.n++] = c;
    }
    b[this.n++] = 0x22;
  }
  out(): Uint8Array {
    return this.buf.subarray(0, this.n);
  }
}

type Writer = (out: Bytes, row: number) => void;

function validity(data: Data): (i: number) => boolean {
  if (data.nullCount === 0 || !data.nullBitmap) return () => true;
  const bm = data.nullBitmap;
  const off = data.offset;
  return (i) => (((bm[(off + i) >> 3] ?? 0) >> ((off + i) & 7)) & 1) === 1;
}

type EntryForm = "csv" | "json" | "raw";
// by dictionary: the result batches' label dictionaries are built once per engine
const entryCache: Record<EntryForm, WeakMap<Vector, Uint8Array[]>> = {
  csv: new WeakMap(),
  json: new WeakMap(),
  raw: new WeakMap(),
};

/** Bytes of every dictionary entry as a CSV cell, a JSON string or as they are; once per dictionary. */
function dictionaryEntries(data: Data, form: EntryForm): Uint8Array[] {
  const dict = data.dictionary;
  if (!dict) return [];
  let entries = entryCache[form].get(dict);
  if (!entries) {
    entries = Array.from({ length: dict.length }, (_, k) => {
      const v = dict.get(k) as unknown;
      const bytes = encoder.encode(v === null || v === undefined ? "" : String(v as string));
      if (form === "raw") return bytes;
      const b = new Bytes();
      if (form === "csv") b.csv(bytes, 0, bytes.length);
      else b.json(bytes, 0, bytes.length);
      return b.out().slice();
    });
    entryCache[form].set(dict, entries);
  }
  return entries;
}

/** How to write one column (one Data chunk) of a row. */
function columnWriter(vec: Vector, csv: boolean): Writer {
  const NULL = encoder.encode(csv ? "" : "null");
  const data = vec.data[0] as Data | undefined;
  if (!data || vec.data.length !== 1 || data.nullCount === data.length) return (o) => o.bytes(NULL);
  const valid = validity(data);
  const t = data.type;
  if (DataType.isUtf8(t)) {
    const offs = data.valueOffsets as Int32Array;
    const bytes = data.values as Uint8Array;
    return (o, i) => {
      if (!valid(i)) o.bytes(NULL);
      else if (csv) o.csv(bytes, offs[i]!, offs[i + 1]!);
      else o.json(bytes, offs[i]!, offs[i + 1]!);
    };
  }
  if (DataType.isDictionary(t)) {
    const entries = dictionaryEntries(data, csv ? "csv" : "json");
    const keys = data.values as Int32Array;
    return (o, i) => {
      const e = valid(i) ? entries[keys[i]!] : undefined;
      if (e) {
        o.room(e.length + ROW_RESERVE);
        o.bytes(e);
      } else o.bytes(NULL);
    };
  }
  if (DataType.isFloat(t) || (DataType.isInt(t) && t.bitWidth <= 32)) {
    const vals = data.values as Float64Array | Int32Array;
    return (o, i) => {
      const v = vals[i]!;
      if (valid(i) && Number.isFinite(v)) o.number(v);
      else o.bytes(NULL);
    };
  }
  if (DataType.isBool(t)) {
    const bits = data.values as Uint8Array;
    const off = data.offset;
    const TRUE = encoder.encode("true");
    const FALSE = encoder.encode("false");
    return (o, i) => o.bytes(!valid(i) ? NULL : (((bits[(off + i) >> 3] ?? 0) >> ((off + i) & 7)) & 1) === 1 ? TRUE : FALSE);
  }
  if (DataType.isList(t)) {
    const child = data.children[0];
    if (child && DataType.isDictionary(child.type) && child.dictionary && DataType.isUtf8(child.dictionary.type)) {
      // items as keys into a dictionary of text (the HCC lists of a worker's risk_scores batch)
      const offs = data.valueOffsets as Int32Array;
      const keys = child.values as Int32Array;
      const itemValid = validity(child);
      const entries = dictionaryEntries(child, csv ? "raw" : "json");
      const EMPTY = encoder.encode(csv ? "" : '""');
      const item = (k: number): Uint8Array => (itemValid(k) ? (entries[keys[k]!] ?? EMPTY) : EMPTY);
      if (!csv) {
        return (o, i) => {
          if (!valid(i)) return o.bytes(NULL);
          o.byte(0x5b);
          for (let k = offs[i]!; k < offs[i + 1]!; k++) {
            const e = item(k);
            o.room(e.length + 1 + ROW_RESERVE);
            if (k > offs[i]!) o.byte(0x2c);
            o.bytes(e);
          }
          o.byte(0x5d);
        };
      }
      const cell = new Bytes();
      return (o, i) => {
        if (!valid(i)) return;
        cell.n = 0;
        for (let k = offs[i]!; k < offs[i + 1]!; k++) {
          const e = item(k);
          cell.room(e.length + 1);
          if (k > offs[i]!) cell.byte(0x3b);
          cell.bytes(e);
        }
        o.csv(cell.buf, 0, cell.n);
      };
    }
    if (child && DataType.isUtf8(child.type)) {
      const offs = data.valueOffsets as Int32Array;
      const coffs = child.valueOffsets as Int32Array;
      const bytes = child.values as Uint8Array;
      if (!csv) {
        return (o, i) => {
          if (!valid(i)) return o.bytes(NULL);
          o.room(2 + ROW_RESERVE);
          o.byte(0x5b);
          for (let k = offs[i]!; k < offs[i + 1]!; k++) {
            if (k > offs[i]!) o.byte(0x2c);
            o.json(bytes, coffs[k]!, coffs[k + 1]!);
          }
          o.byte(0x5d);
        };
      }
      const cell = new Bytes();
      return (o, i) => {
        if (!valid(i)) return;
        cell.n = 0;
        for (let k = offs[i]!; k < offs[i + 1]!; k++) {
          if (k > offs[i]!) {
            cell.room(1);
            cell.byte(0x3b);
          }
          cell.raw(bytes, coffs[k]!, coffs[k + 1]!);
        }
        o.csv(cell.buf, 0, cell.n);
      };
    }
  }
  // anything else (Int64, dates, timestamps): through its JS value
  return (o, row) => {
    const v: unknown = vec.get(row);
    let s: string | null;
    if (v === null || v === undefined) s = null;
    else if (typeof v === "bigint" || typeof v === "number" || typeof v === "boolean") s = String(v);
    else if (v instanceof Date) s = v.toISOString().slice(0, 10);
    else s = typeof v === "string" ? v : JSON.stringify(v);
    if (s === null) return o.bytes(NULL);
    const bytes = encoder.encode(s);
    if (csv) o.csv(bytes, 0, bytes.length);
    else if (typeof v === "string" || v instanceof Date) o.json(bytes, 0, bytes.length);
    else o.raw(bytes, 0, bytes.length);
  };
}

/** Bytes per row of the last batch encoded in each format (this thread). */
const bytesPerRow: Record<TextFormat, number> = { ndjson: 0, csv: 0 };

/**
 * One batch as text bytes (NDJSON lines, or CSV rows after an optional header). A row is a fixed
 * sequence of constant pieces (separators, keys, the cells of columns null in every row, merged)
 * and column writers, prepared once per batch.
 */
export function encodeText(batch: RecordBatch, format: TextFormat, opts: TextOptions = {}): Uint8Array {
  const csv = format === "csv";
  const drop = new Set(opts.drop ?? []);
  const names: string[] = [];
  const consts: Uint8Array[] = [];
  const writers: Writer[] = [];
  let pending = new Bytes(); // the constant piece being built
  pending.room(16);
  if (!csv) pending.byte(0x7b);
  let k = 0;
  batch.schema.fields.forEach((f, col) => {
    if (drop.has(f.name)) return;
    const name = opts.rename?.[f.name] ?? f.name;
    names.push(name);
    const label = encoder.encode(name);
    if (k++ > 0) {
      pending.room(1);
      pending.byte(0x2c);
    }
    if (!csv) {
      pending.json(label, 0, label.length);
      pending.room(1);
      pending.byte(0x3a);
    }
    const vec = batch.getChildAt(col) as Vector;
    // a column null in every row (a model no member of the batch used): part of the constant
    if (vec.nullCount === vec.length && batch.numRows > 0) {
      if (!csv) pending.raw(NULL_JSON, 0, NULL_JSON.length);
      return;
    }
    consts.push(pending.out().slice());
    writers.push(columnWriter(vec, csv));
    pending = new Bytes();
  });
  pending.room(2);
  if (!csv) pending.byte(0x7d);
  pending.byte(0x0a);
  const last = pending.out().slice();
  // sized from the previous batch of this format (bytes per row, with a margin) so the buffer is
  // allocated once instead of doubling up to its size
  const perRow = bytesPerRow[format];
  const want = perRow > 0 ? Math.ceil(batch.numRows * perRow * 1.05) + ROW_RESERVE : 1 << 16;
  const into = opts.recycle?.into;
  const out = into && into.byteLength >= want ? Bytes.over(into) : new Bytes(opts.recycle ? Math.ceil(want * 1.25) : want);
  if (csv && opts.header) {
    names.forEach((name, i) => {
      const label = encoder.encode(name);
      out.room(1);
      if (i > 0) out.byte(0x2c);
      out.csv(label, 0, label.length);
    });
    out.room(1);
    out.byte(0x0a);
  }
  writeRows(out, consts, writers, last, batch.numRows);
  if (batch.numRows > 0) bytesPerRow[format] = out.n / batch.numRows;
  return out.out();
}

/**
 * The row loop, in a function of its own: V8 optimizes it in the middle of a worker's first
 * batches (on-stack replacement), and when the loop was part of encodeText the code after it,
 * which had not run yet, threw that optimized code away on exit (3–5 recompilations a run).
 */
function writeRows(out: Bytes, consts: Uint8Array[], writers: Writer[], last: Uint8Array, rows: number): void {
  const w = writers.length;
  for (let i = 0; i < rows; i++) {
    out.room(ROW_RESERVE);
    for (let c = 0; c < w; c++) {
      const piece = consts[c]!;
      if (piece.length > 0) {
        out.room(piece.length + ROW_RESERVE);
        out.bytes(piece);
      }
      writers[c]!(out, i);
    }
    out.room(last.length + ROW_RESERVE);
    out.bytes(last);
  }
}

const NULL_JSON = encoder.encode("null");
