// DuckDB result chunks → Arrow buffers, without a JS string per value (docs/warehouse.md).
// @duckdb/node-api 1.4 does not expose DuckDB's Arrow export (the C API's arrow functions are not
// bound), but its bindings hand out each vector's raw memory: VARCHAR as 16-byte duckdb_string_t
// (length, then ≤12 bytes inline or a prefix and a pointer), LIST as (offset, length) u64 pairs,
// DATE/INTEGER as i32, BOOLEAN as u8, validity as a little-endian u64 bitmap (bit-compatible with
// Arrow's). We copy those bytes into growable Arrow buffers; a string longer than 12 bytes costs
// one native call. Joined code lists (string_agg(code, chr(31))) are split into List<Utf8>.
import duckdb from "@duckdb/node-bindings";
import {
  Bool,
  DateDay,
  Field,
  Int32,
  List,
  RecordBatch,
  Schema,
  Struct,
  Utf8,
  makeData,
  type Data,
  type DataType,
} from "apache-arrow";
import { GrowableBytes } from "./bytes.js";
import { CODE_SEPARATOR } from "./joined-codes.js";

export type ColumnKind = "utf8" | "date" | "int32" | "bool" | "joined" | "list";

class Ints {
  buf: Int32Array;
  len = 0;
  constructor(cap = 4096) {
    this.buf = new Int32Array(cap);
  }
  push(v: number): void {
    if (this.len === this.buf.length) {
      const next = new Int32Array(this.buf.length * 2);
      next.set(this.buf);
      this.buf = next;
    }
    this.buf[this.len++] = v;
  }
}

/** Validity bitmap builder (Arrow layout: bit i of byte i>>3, LSB first). */
class Validity {
  bits = new Uint8Array(512);
  nulls = 0;
  set(i: number, valid: boolean): void {
    if (i >> 3 >= this.bits.length) {
      const next = new Uint8Array(this.bits.length * 2);
      next.set(this.bits);
      this.bits = next;
    }
    if (valid) this.bits[i >> 3]! |= 1 << (i & 7);
    else this.nulls++;
  }
}

/** An Arrow column being filled from DuckDB vectors. */
export class ColumnBuilder {
  rows = 0;
  private readonly valid = new Validity();
  private readonly ints = new Ints();
  private readonly offsets = new Ints(); // utf8 offsets, or list offsets for "joined"
  private readonly codeOffsets = new Ints(); // "joined": child utf8 offsets
  private readonly bytes = new GrowableBytes();
  constructor(
    readonly name: string,
    readonly kind: ColumnKind,
  ) {
    this.offsets.push(0);
    this.codeOffsets.push(0);
  }

  /** Append the first `n` rows of a raw DuckDB vector. */
  appendVector(vec: duckdb.Vector, n: number): void {
    const validity = duckdb.vector_get_validity(vec, Math.ceil(n / 64) * 8) as Uint8Array | null;
    const ok = (i: number): boolean => !validity || validity.length === 0 || ((validity[i >> 3] ?? 0) & (1 << (i & 7))) !== 0;
    if (this.kind === "utf8" || this.kind === "joined") return this.appendStrings(vec, n, ok);
    if (this.kind === "list") return this.appendList(vec, n, ok);
    const width = this.kind === "bool" ? 1 : 4;
    const raw = duckdb.vector_get_data(vec, n * width);
    const view = width === 4 ? new Int32Array(raw.buffer, raw.byteOffset, n) : raw;
    for (let i = 0; i < n; i++) {
      const v = ok(i);
      this.valid.set(this.rows + i, v);
      this.ints.push(v ? (view[i] ?? 0) : 0);
    }
    this.rows += n;
  }

  private appendStrings(vec: duckdb.Vector, n: number, ok: (i: number) => boolean): void {
    const raw = duckdb.vector_get_data(vec, n * 16);
    const lens = new Uint32Array(raw.buffer, raw.byteOffset, n * 4);
    const b = this.bytes;
    const joined = this.kind === "joined";
    for (let i = 0; i < n; i++) {
      const v = ok(i);
      this.valid.set(this.rows + i, v);
      if (!v) {
        this.offsets.push(joined ? this.codeOffsets.len - 1 : b.len);
        continue;
      }
      const len = lens[i * 4] ?? 0;
      let src = raw;
      let at = i * 16 + 4; // inline: bytes follow the length
      if (len > 12) {
        src = duckdb.get_data_from_pointer(raw.buffer as ArrayBuffer, raw.byteOffset + i * 16 + 8, len);
        at = 0;
      }
      b.reserve(len);
      const out = b.buf;
      let w = b.len;
      if (!joined) {
        for (let k = 0; k < len; k++) out[w++] = src[at + k] ?? 0;
        b.len = w;
        this.offsets.push(w);
        continue;
      }
      // one member's codes joined by U+001F: split into list items
      for (let k = 0; k < len; k++) {
        const c = src[at + k] ?? 0;
        if (c === CODE_SEPARATOR) this.codeOffsets.push(w);
        else out[w++] = c;
      }
      b.len = w;
      this.codeOffsets.push(w);
      this.offsets.push(this.codeOffsets.len - 1);
    }
    this.rows += n;
  }

  private appendList(vec: duckdb.Vector, n: number, ok: (i: number) => boolean): void {
    const entries = duckdb.vector_get_data(vec, n * 16);
    const e32 = new Uint32Array(entries.buffer, entries.byteOffset, n * 4); // (offset, length) u64 pairs, < 2^32
    const child = duckdb.list_vector_get_child(vec);
    const size = duckdb.list_vector_get_size(vec);
    const raw = duckdb.vector_get_data(child, size * 16);
    const lens = new Uint32Array(raw.buffer, raw.byteOffset, size * 4);
    const cv = duckdb.vector_get_validity(child, Math.ceil(size / 64) * 8) as Uint8Array | null;
    const b = this.bytes;
    for (let i = 0; i < n; i++) {
      const v = ok(i);
      this.valid.set(this.rows + i, v);
      if (v) {
        const start = e32[i * 4] ?? 0;
        const end = start + (e32[i * 4 + 2] ?? 0);
        for (let j = start; j < end; j++) {
          if (cv && cv.length > 0 && ((cv[j >> 3] ?? 0) & (1 << (j & 7))) === 0) {
            this.nullItems++;
            continue;
          }
          const len = lens[j * 4] ?? 0;
          let src = raw;
          let at = j * 16 + 4;
          if (len > 12) {
            src = duckdb.get_data_from_pointer(raw.buffer as ArrayBuffer, raw.byteOffset + j * 16 + 8, len);
            at = 0;
          }
          b.reserve(len);
          const out = b.buf;
          for (let k = 0; k < len; k++) out[b.len++] = src[at + k] ?? 0;
          this.codeOffsets.push(b.len);
        }
      }
      this.offsets.push(this.codeOffsets.len - 1);
    }
    this.rows += n;
  }

  /** Null list items skipped ("list"). */
  nullItems = 0;

  /** List items appended so far ("joined"). */
  get itemCount(): number {
    return this.codeOffsets.len - 1;
  }

  type(): DataType {
    switch (this.kind) {
      case "utf8":
        return new Utf8();
      case "date":
        return new DateDay();
      case "int32":
        return new Int32();
      case "bool":
        return new Bool();
      case "joined":
      case "list":
        return new List(new Field("item", new Utf8(), true));
    }
  }

  /** The column as Arrow Data (copies into right-sized buffers); the builder is spent. */
  finish(): Data {
    const length = this.rows;
    const nullCount = this.valid.nulls;
    const nullBitmap = nullCount > 0 ? this.valid.bits.slice(0, Math.ceil(length / 8)) : undefined;
    const base = { length, nullCount, ...(nullBitmap ? { nullBitmap } : {}) };
    switch (this.kind) {
      case "utf8":
        return makeData({
          type: new Utf8(),
          ...base,
          valueOffsets: this.offsets.buf.slice(0, length + 1),
          data: this.bytes.buf.slice(0, this.bytes.len),
        });
      case "date":
        return makeData({ type: new DateDay(), ...base, data: this.ints.buf.slice(0, length) });
      case "int32":
        return makeData({ type: new Int32(), ...base, data: this.ints.buf.slice(0, length) });
      case "bool": {
        const bits = new Uint8Array(Math.ceil(length / 8));
        for (let i = 0; i < length; i++) if (this.ints.buf[i]) bits[i >> 3]! |= 1 << (i & 7);
        return makeData({ type: new Bool(), ...base, data: bits });
      }
      case "joined":
      case "list": {
        const items = this.codeOffsets.len - 1;
        const child = makeData({
          type: new Utf8(),
          length: items,
          nullCount: 0,
          valueOffsets: this.codeOffsets.buf.slice(0, items + 1),
          data: this.bytes.buf.slice(0, this.bytes.len),
        });
        return makeData({ type: this.type() as List<Utf8>, ...base, valueOffsets: this.offsets.buf.slice(0, length + 1), child });
      }
    }
  }
}

/** A record batch from finished builders (all of one length). */
export function buildBatch(cols: readonly ColumnBuilder[]): RecordBatch {
  const fields = cols.map((c) => new Field(c.name, c.type(), c.name !== "participant_id"));
  const children = cols.map((c) => c.finish());
  const length = cols[0]?.rows ?? 0;
  const data = makeData({ type: new Struct(fields), length, nullCount: 0, children });
  return new RecordBatch(new Schema(fields), data);
}
