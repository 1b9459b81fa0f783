// Result batches as NDJSON or CSV bytes: the one text encoder for every text output (member-record
// files, directory sinks). Column-wise over the Arrow buffers straight into a byte buffer: Utf8
// values are copied (escaped) byte for byte, dictionaries encoded once, so no JS string is made
// per cell except a number's digits. Lists become JSON arrays (NDJSON) or `;`-joined cells (CSV);
// nulls are JSON null / empty cells; dates ISO.
import { DataType, type Data, type RecordBatch, type Vector } from "apache-arrow";

export type TextFormat = "ndjson" | "csv";

export interface TextOptions {
  /** Output column name per input name (e.g. participant_id → member_id). */
  rename?: Readonly<Record<string, string>>;
  /** Input columns left out (e.g. run_id). */
  drop?: readonly string[];
  /** CSV: write the header line first. */
  header?: boolean;
}

const encoder = new TextEncoder();
const HEX = "0123456789abcdef";

/** A growable byte buffer. */
class Bytes {
  buf = new Uint8Array(1 << 16);
  n = 0;
  private room(k: number): void {
    if (this.n + k <= this.buf.length) return;
    const grown = new Uint8Array(Math.max(this.buf.length * 2, this.n + k));
    grown.set(this.buf.subarray(0, this.n));
    this.buf = grown;
  }
  byte(b: number): void {
    this.room(1);
    this.buf[this.n++] = b;
  }
  /** ASCII text (digits, keys, constants). */
  ascii(s: string): void {
    this.room(s.length);
    for (let i = 0; i < s.length; i++) this.buf[this.n++] = s.charCodeAt(i);
  }
  raw(src: Uint8Array, s: number, e: number): void {
    this.room(e - s);
    if (e - s > 64) {
      this.buf.set(src.subarray(s, e), this.n);
      this.n += e - s;
      return;
    }
    const b = this.buf;
    for (let i = s; i < e; i++) b[this.n++] = src[i] ?? 0; // short copies: no view object per cell
  }
  /** UTF-8 bytes as a JSON string (quotes, backslashes and control characters escaped). */
  json(src: Uint8Array, s: number, e: number): void {
    this.room((e - s) * 6 + 2);
    const b = this.buf;
    b[this.n++] = 0x22;
    for (let i = s; i < e; i++) {
      const c = src[i] ?? 0;
      if (c === 0x22 || c === 0x5c) {
        b[this.n++] = 0x5c;
        b[this.n++] = c;
      } else if (c < 0x20) {
        b[this.n++] = 0x5c;
        b[this.n++] = 0x75;
        b[this.n++] = 0x30;
        b[this.n++] = 0x30;
        b[this.n++] = HEX.charCodeAt(c >> 4);
        b[this.n++] = HEX.charCodeAt(c & 15);
      } else b[this.n++] = c;
    }
    b[this.n++] = 0x22;
  }
  /** UTF-8 bytes as a CSV field (quoted when it holds a comma, quote or line break). */
  csv(src: Uint8Array, s: number, e: number): void {
    let quote = false;
    for (let i = s; i < e && !quote; i++) {
      const c = src[i];
      quote = c === 0x2c || c === 0x22 || c === 0x0a || c === 0x0d;
    }
    if (!quote) return this.raw(src, s, e);
    this.room((e - s) * 2 + 2);
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

/** Encoded bytes of every dictionary entry, once per batch. */
function dictionaryEntries(data: Data, csv: boolean): Uint8Array[] {
  const dict = data.dictionary;
  if (!dict) return [];
  return Array.from({ length: dict.length }, (_, k) => {
    const v = dict.get(k) as unknown;
    const b = new Bytes();
    const bytes = encoder.encode(v === null || v === undefined ? "" : String(v as string));
    if (csv) b.csv(bytes, 0, bytes.length);
    else b.json(bytes, 0, bytes.length);
    return b.out().slice();
  });
}

/** How to write one column (one Data chunk) of a row. */
function columnWriter(vec: Vector, csv: boolean): Writer {
  const NULL = csv ? "" : "null";
  const data = vec.data[0] as Data | undefined;
  if (!data || vec.data.length !== 1 || data.nullCount === data.length) return (o) => o.ascii(NULL);
  const valid = validity(data);
  const t = data.type;
  if (DataType.isUtf8(t)) {
    const offs = data.valueOffsets as Int32Array;
    const bytes = data.values as Uint8Array;
    return (o, i) => {
      if (!valid(i)) o.ascii(NULL);
      else if (csv) o.csv(bytes, offs[i] ?? 0, offs[i + 1] ?? 0);
      else o.json(bytes, offs[i] ?? 0, offs[i + 1] ?? 0);
    };
  }
  if (DataType.isDictionary(t)) {
    const entries = dictionaryEntries(data, csv);
    const keys = data.values as Int32Array;
    return (o, i) => {
      const e = valid(i) ? entries[keys[i] ?? 0] : undefined;
      if (e) o.raw(e, 0, e.length);
      else o.ascii(NULL);
    };
  }
  if (DataType.isFloat(t) || (DataType.isInt(t) && t.bitWidth <= 32)) {
    const vals = data.values as Float64Array | Int32Array;
    return (o, i) => {
      const v = vals[i] ?? NaN;
      o.ascii(valid(i) && Number.isFinite(v) ? String(v) : NULL);
    };
  }
  if (DataType.isBool(t)) {
    const bits = data.values as Uint8Array;
    const off = data.offset;
    return (o, i) => o.ascii(!valid(i) ? NULL : (((bits[(off + i) >> 3] ?? 0) >> ((off + i) & 7)) & 1) === 1 ? "true" : "false");
  }
  if (DataType.isList(t)) {
    const child = data.children[0];
    if (child && DataType.isUtf8(child.type)) {
      const offs = data.valueOffsets as Int32Array;
      const coffs = child.valueOffsets as Int32Array;
      const bytes = child.values as Uint8Array;
      if (!csv) {
        return (o, i) => {
          if (!valid(i)) return o.ascii(NULL);
          o.byte(0x5b);
          for (let k = offs[i] ?? 0; k < (offs[i + 1] ?? 0); k++) {
            if (k > (offs[i] ?? 0)) o.byte(0x2c);
            o.json(bytes, coffs[k] ?? 0, coffs[k + 1] ?? 0);
          }
          o.byte(0x5d);
        };
      }
      const cell = new Bytes();
      return (o, i) => {
        if (!valid(i)) return;
        cell.n = 0;
        for (let k = offs[i] ?? 0; k < (offs[i + 1] ?? 0); k++) {
          if (k > (offs[i] ?? 0)) cell.byte(0x3b);
          cell.raw(bytes, coffs[k] ?? 0, coffs[k + 1] ?? 0);
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
    if (s === null) return o.ascii(NULL);
    const bytes = encoder.encode(s);
    if (csv) o.csv(bytes, 0, bytes.length);
    else if (typeof v === "string" || v instanceof Date) o.json(bytes, 0, bytes.length);
    else o.raw(bytes, 0, bytes.length);
  };
}

/** One batch as text bytes (NDJSON lines, or CSV rows after an optional header). */
export function encodeText(batch: RecordBatch, format: TextFormat, opts: TextOptions = {}): Uint8Array {
  const csv = format === "csv";
  const drop = new Set(opts.drop ?? []);
  const cols = batch.schema.fields
    .map((f, k) => [f.name, k] as const)
    .filter(([name]) => !drop.has(name))
    .map(([name, k]) => {
      const label = encoder.encode(opts.rename?.[name] ?? name);
      const key = new Bytes();
      if (csv) key.csv(label, 0, label.length);
      else {
        key.json(label, 0, label.length);
        key.byte(0x3a);
      }
      const vec = batch.getChildAt(k) as Vector;
      // a column null in every row (a model no member of the batch used): one constant cell
      const allNull = vec.nullCount === vec.length && batch.numRows > 0;
      if (allNull && !csv) key.ascii("null");
      return { key: key.out().slice(), write: allNull ? null : columnWriter(vec, csv) };
    });
  const out = new Bytes();
  if (csv && opts.header) {
    cols.forEach((c, k) => {
      if (k > 0) out.byte(0x2c);
      out.raw(c.key, 0, c.key.length);
    });
    out.byte(0x0a);
  }
  for (let i = 0; i < batch.numRows; i++) {
    if (!csv) out.byte(0x7b);
    for (let k = 0; k < cols.length; k++) {
      const c = cols[k] as (typeof cols)[number];
      if (k > 0) out.byte(0x2c);
      if (!csv) out.raw(c.key, 0, c.key.length);
      c.write?.(out, i);
    }
    if (!csv) out.byte(0x7d);
    out.byte(0x0a);
  }
  return out.out();
}

/** Options that turn a risk_scores batch into the README's output records. */
export const OUTPUT_RECORD: TextOptions = { rename: { participant_id: "member_id" }, drop: ["run_id"] };
