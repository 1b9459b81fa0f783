// Encode an Arrow member batch (docs/pipeline.md "Member batches") into the kernel's input
// layout without a JS string per member or per code: Utf8 enum columns are parsed from their
// bytes through a small cache keyed by the bytes; the diagnosis List<Utf8> buffers are handed to
// the kernel as they are.
import { DataType, type Data, type RecordBatch, type Vector } from "apache-arrow";
import * as L from "./layout.js";
import type { EncodedBatch } from "./kernel.js";
import {
  AGE_RANGE,
  GRAFT_MONTHS_RANGE,
  checkWhole,
  parseBoolWord,
  parseDate,
  parseDual,
  parseEsrd,
  parseReason,
  parseRx,
  parseSex,
  wholeIn,
  type Parse,
} from "./values.js";

const textDecoder = new TextDecoder();

// Each reader below writes one input field of every member into the kernel's attribute rows
// (attrs[row * NIN + slot]), which start at the field's absent value (encodeArrowBatch fills them).

/** Parsed values of an optional Utf8 (or dictionary-of-Utf8) column; nulls stay absent. */
function readEnum(
  vec: Vector | null,
  out: Int32Array,
  slot: number,
  absent: number,
  parse: Parse,
  field: string,
  errors: (string | null)[],
): void {
  if (!vec) return;
  const cache = new Map<number, number | string>();
  const note = (i: number, r: number | string): void => {
    if (typeof r === "number") out[i * L.NIN + slot] = r;
    else addError(errors, i, field, r);
  };
  let row = 0;
  for (const data of vec.data as Data[]) {
    const bits = nullBits(data);
    const off = data.offset;
    if (DataType.isDictionary(data.type)) {
      const dict = data.dictionary;
      const parsed = dict
        ? Array.from({ length: dict.length }, (_, k) => {
            const v: unknown = dict.get(k);
            return typeof v !== "string" || v === "" ? absent : parse(v);
          })
        : [];
      const idx = data.values as ArrayLike<number>;
      for (let i = 0; i < data.length; i++, row++) {
        if (!validBit(bits, off, i)) continue;
        note(row, parsed[idx[i] ?? 0] ?? absent);
      }
      continue;
    }
    if (!DataType.isUtf8(data.type)) {
      // numbers or booleans stored where a code is expected: parse their text form
      for (let i = 0; i < data.length; i++, row++) {
        const v: unknown = vec.get(row);
        if (v === null || v === undefined) continue;
        note(row, parse(String(v as number)));
      }
      continue;
    }
    const offs = data.valueOffsets as Int32Array;
    const bytes = data.values as Uint8Array;
    // the previous row's value first: these columns repeat (most members share lti, snp, …)
    let lastKey = -1;
    let last: number | string = absent;
    for (let i = 0; i < data.length; i++, row++) {
      if (!validBit(bits, off, i)) continue;
      const s = offs[i] ?? 0;
      const e = offs[i + 1] ?? 0;
      const len = e - s;
      if (len === 0) continue;
      if (len <= 6) {
        // the length and up to six bytes as one number (a small integer up to three bytes)
        let key = len;
        for (let k = s; k < e; k++) key = key * 256 + (bytes[k] ?? 0);
        if (key !== lastKey) {
          let r = cache.get(key);
          if (r === undefined) {
            r = parse(textDecoder.decode(bytes.subarray(s, e)));
            cache.set(key, r);
          }
          lastKey = key;
          last = r;
        }
        if (typeof last === "number") out[row * L.NIN + slot] = last;
        else addError(errors, row, field, last);
      } else note(row, parse(textDecoder.decode(bytes.subarray(s, e))));
    }
  }
}

/**
 * The chunk's validity bitmap when it has nulls, else null (every row valid). Read once per chunk:
 * arrow-js's `nullCount` is a getter that also asks whether the type is a union, and asking it
 * per row was a fifth of the member encoding's time.
 */
function nullBits(data: Data): Uint8Array | null {
  return data.nullCount > 0 && data.nullBitmap ? data.nullBitmap : null;
}

/** Whether row i of a chunk with bitmap `bits` (null: no nulls) starting at bit `offset` is valid. */
function validBit(bits: Uint8Array | null, offset: number, i: number): boolean {
  if (bits === null) return true;
  const b = offset + i;
  return ((bits[b >> 3] ?? 0) & (1 << (b & 7))) !== 0;
}

/**
 * An integer column (any Int type, or text parsed as a whole number) with its range checked: a
 * value outside [lo, hi] or not a whole number is a value error for that member.
 */
function readInt(
  vec: Vector | null,
  out: Int32Array,
  slot: number,
  absent: number,
  [lo, hi]: readonly [number, number],
  field: string,
  errors: (string | null)[],
): void {
  if (vec && DataType.isUtf8(vec.type)) return readEnum(vec, out, slot, absent, wholeIn(lo, hi), field, errors);
  if (!vec) return;
  const note = (row: number, v: number): void => {
    const r = checkWhole(v, lo, hi);
    if (typeof r === "number") out[row * L.NIN + slot] = r;
    else addError(errors, row, field, r);
  };
  let row = 0;
  for (const data of vec.data as Data[]) {
    if (DataType.isInt(data.type) && data.type.bitWidth === 32) {
      const vals = data.values as Int32Array;
      const bits = nullBits(data);
      for (let i = 0; i < data.length; i++, row++) if (validBit(bits, data.offset, i)) note(row, vals[i] ?? absent);
      continue;
    }
    for (let i = 0; i < data.length; i++, row++) {
      const v: unknown = vec.get(row);
      if (typeof v === "number" && Number.isFinite(v)) note(row, Math.trunc(v));
      else if (typeof v === "bigint") note(row, Number(v));
    }
  }
}

function addError(errors: (string | null)[], row: number, field: string, what: string): void {
  errors[row] = errors[row] ? `${errors[row]}; ${field}: ${what}` : `${field}: ${what}`;
}

/** Date32/Date64/Timestamp → days since epoch, or text parsed as YYYY-MM-DD; absent = NO_DAYS. */
function readDays(vec: Vector | null, out: Int32Array, slot: number, errors: (string | null)[]): void {
  if (vec && DataType.isUtf8(vec.type)) return readTextDays(vec, out, slot, errors);
  if (!vec) return;
  const dayLike = DataType.isDate(vec.type) && (vec.type.unit as number) === 0; // DateUnit.DAY
  let row = 0;
  for (const data of vec.data as Data[]) {
    if (dayLike) {
      const vals = data.values as Int32Array;
      const bits = nullBits(data);
      for (let i = 0; i < data.length; i++, row++) if (validBit(bits, data.offset, i)) out[row * L.NIN + slot] = vals[i] ?? 0;
    } else {
      for (let i = 0; i < data.length; i++, row++) {
        const v: unknown = vec.get(row);
        const ms = v instanceof Date ? v.getTime() : typeof v === "number" ? v : typeof v === "bigint" ? Number(v) : NaN;
        if (Number.isFinite(ms)) out[row * L.NIN + slot] = Math.floor(ms / 86400000);
      }
    }
  }
}

const DAYS_IN_MONTH = [0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/**
 * Days since 1970-01-01 of the ten bytes YYYY-MM-DD at s (dashes already checked), or NO_DAYS when
 * they are not a calendar date of a year ≥ 100 — those go to parseDate, whose Date.UTC reading
 * would put years 0–99 in the 1900s and so rejects them (the old fast path accepted them there).
 * Arithmetic only: no Date object, array or closure per row.
 */
export function isoDays(b: Uint8Array, s: number): number {
  const y0 = b[s]! - 48;
  const y1 = b[s + 1]! - 48;
  const y2 = b[s + 2]! - 48;
  const y3 = b[s + 3]! - 48;
  const m0 = b[s + 5]! - 48;
  const m1 = b[s + 6]! - 48;
  const d0 = b[s + 8]! - 48;
  const d1 = b[s + 9]! - 48;
  // every digit 0..9 (a negative difference is a large unsigned number); each is checked on its
  // own: an OR of the digits is not their maximum (1 | 9 | 5 | 6 = 15), and took most real dates
  // off this path
  if (
    y0 >>> 0 > 9 ||
    y1 >>> 0 > 9 ||
    y2 >>> 0 > 9 ||
    y3 >>> 0 > 9 ||
    m0 >>> 0 > 9 ||
    m1 >>> 0 > 9 ||
    d0 >>> 0 > 9 ||
    d1 >>> 0 > 9
  )
    return -2147483648;
  const y = y0 * 1000 + y1 * 100 + y2 * 10 + y3;
  const m = m0 * 10 + m1;
  const d = d0 * 10 + d1;
  if (y < 100 || m < 1 || m > 12 || d < 1) return -2147483648;
  const leap = (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0;
  if (d > DAYS_IN_MONTH[m]! + (m === 2 && leap ? 1 : 0)) return -2147483648;
  // days from civil (proleptic Gregorian; H. Hinnant's algorithm): years start in March
  const yy = m <= 2 ? y - 1 : y;
  const era = Math.floor(yy / 400);
  const yoe = yy - era * 400;
  const doy = Math.floor((153 * (m > 2 ? m - 3 : m + 9) + 2) / 5) + d - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146097 + doe - 719468;
}

/** YYYY-MM-DD text → days; the common form is read from the bytes, anything else parsed as text. */
function readTextDays(vec: Vector, out: Int32Array, slot: number, errors: (string | null)[]): void {
  const slow: Parse = parseDate;
  let row = 0;
  for (const data of vec.data as Data[]) {
    const offs = data.valueOffsets as Int32Array;
    const b = data.values as Uint8Array;
    const nulls = nullBits(data);
    for (let i = 0; i < data.length; i++, row++) {
      if (!validBit(nulls, data.offset, i)) continue;
      const s = offs[i] ?? 0;
      const e = offs[i + 1] ?? 0;
      if (e === s) continue;
      if (e - s === 10 && b[s + 4] === 45 && b[s + 7] === 45) {
        const days = isoDays(b, s);
        if (days !== NO_DAYS) {
          out[row * L.NIN + slot] = days;
          continue;
        }
      }
      const r = slow(textDecoder.decode(b.subarray(s, e)));
      if (typeof r === "number") out[row * L.NIN + slot] = r;
      else addError(errors, row, "birth_date", r);
    }
  }
}

function readBool(
  vec: Vector | null,
  out: Int32Array,
  slot: number,
  absent: number,
  field: string,
  errors: (string | null)[],
): void {
  if (vec && DataType.isUtf8(vec.type)) return readEnum(vec, out, slot, absent, parseBoolWord, field, errors);
  if (!vec) return;
  let row = 0;
  for (const data of vec.data as Data[]) {
    if (DataType.isBool(data.type)) {
      // values is a bit map addressed from bit `offset` (arrow-js does not re-align sliced bits)
      const bits = data.values as Uint8Array;
      const off = data.offset;
      const nulls = nullBits(data);
      for (let i = 0; i < data.length; i++, row++) {
        if (!validBit(nulls, off, i)) continue;
        const b = off + i;
        out[row * L.NIN + slot] = ((bits[b >> 3] ?? 0) >> (b & 7)) & 1;
      }
      continue;
    }
    for (let i = 0; i < data.length; i++, row++) {
      const v: unknown = vec.get(row);
      if (v === true || v === 1) out[row * L.NIN + slot] = 1;
      else if (v === false || v === 0) out[row * L.NIN + slot] = 0;
    }
  }
}

function absentRows(n: number): Int32Array {
  const attrs = new Int32Array(n * L.NIN);
  if (n === 0) return attrs;
  attrs.set(ABSENT_ROW, 0);
  // the first row copied onto the next ones, doubling: log2(n) copies instead of n calls
  for (let done = L.NIN; done < attrs.length; done *= 2) attrs.copyWithin(done, 0, Math.min(done, attrs.length - done));
  return attrs;
}

/** A member with neither an age nor a birth date (nor an error in either) gets an error. */
function checkAgeGiven(attrs: Int32Array, n: number, errors: (string | null)[]): void {
  for (let i = 0; i < n; i++) {
    const o = i * L.NIN;
    if (attrs[o + L.IN_AGE]! < 0 && attrs[o + L.IN_DOB_DAYS] === NO_DAYS && !errors[i]?.match(/(^|; )(age|birth_date):/)) {
      addError(errors, i, "age", "neither age nor birth_date given");
    }
  }
}

function readField(vec: Vector | null, f: FieldColumn, attrs: Int32Array, errors: (string | null)[]): void {
  switch (f.kind) {
    case "enum":
      return readEnum(vec, attrs, f.slot, f.absent, f.parse!, f.name, errors);
    case "int":
      return readInt(vec, attrs, f.slot, f.absent, f.range!, f.name, errors);
    case "bool":
      return readBool(vec, attrs, f.slot, f.absent, f.name, errors);
    case "days":
      return readDays(vec, attrs, f.slot, errors);
  }
}

export interface ArrowEncoded {
  batch: EncodedBatch;
  /** Input value problems per member (null = none); the member gets an error row. */
  errors: (string | null)[];
}

const NO_DAYS = -2147483648;

/** One input field: its column, its slot in the kernel's attribute row, its value when absent. */
interface FieldColumn {
  name: string;
  slot: number;
  absent: number;
  kind: "enum" | "int" | "bool" | "days";
  parse?: Parse;
  range?: readonly [number, number];
}

// in this order: a member's value errors are listed in it
const FIELD_COLUMNS: readonly FieldColumn[] = [
  { name: "age", slot: L.IN_AGE, absent: -1, kind: "int", range: AGE_RANGE },
  { name: "birth_date", slot: L.IN_DOB_DAYS, absent: NO_DAYS, kind: "days" },
  { name: "sex", slot: L.IN_SEX, absent: 0, kind: "enum", parse: parseSex },
  { name: "orec", slot: L.IN_OREC, absent: -1, kind: "enum", parse: parseReason },
  { name: "crec", slot: L.IN_CREC, absent: -1, kind: "enum", parse: parseReason },
  { name: "dual_elgbl_cd", slot: L.IN_DUAL, absent: -1, kind: "enum", parse: parseDual },
  { name: "esrd_status", slot: L.IN_ESRD, absent: 0, kind: "enum", parse: parseEsrd },
  { name: "rx_plan", slot: L.IN_RX_PLAN, absent: -1, kind: "enum", parse: parseRx },
  { name: "medicaid", slot: L.IN_MEDICAID, absent: -1, kind: "bool" },
  { name: "lti", slot: L.IN_LTI, absent: 0, kind: "bool" },
  { name: "new_enrollee", slot: L.IN_NE, absent: 0, kind: "bool" },
  { name: "snp", slot: L.IN_SNP, absent: 0, kind: "bool" },
  { name: "low_income", slot: L.IN_LOW_INCOME, absent: 0, kind: "bool" },
  { name: "pace", slot: L.IN_PACE, absent: 0, kind: "bool" },
  { name: "graft_months", slot: L.IN_GRAFT_MONTHS, absent: -1, kind: "int", range: GRAFT_MONTHS_RANGE },
];

/** Fields whose reader takes a Dictionary<Utf8> column as well as Utf8 (readEnum). */
export const DICTIONARY_FIELDS: ReadonlySet<string> = new Set(FIELD_COLUMNS.filter((f) => f.kind === "enum").map((f) => f.name));

/** Every member's row of attributes at the fields' absent values. */
const ABSENT_ROW = (() => {
  const row = new Int32Array(L.NIN);
  for (const f of FIELD_COLUMNS) row[f.slot] = f.absent;
  return row;
})();

/**
 * Kernel input for one Arrow member batch. The fields are read one column after another, each
 * reader called from one place: V8 then compiles this function small and each reader once,
 * where a call per field (15 call sites, each inlined) made this the largest function a worker
 * compiled, three to four times a run (bench/README.md#session-16).
 */
export function encodeArrowBatch(rb: RecordBatch): ArrowEncoded {
  const n = rb.numRows;
  const errors: (string | null)[] = new Array<string | null>(n).fill(null);
  const attrs = absentRows(n);
  for (const f of FIELD_COLUMNS) readField(rb.getChild(f.name), f, attrs, errors);
  checkAgeGiven(attrs, n, errors);
  // diagnosis codes: List<Utf8> buffers as they are (a single Data chunk per batch column)
  const dx = rb.getChild("diagnosis_codes");
  let memberOffsets: Int32Array<ArrayBufferLike> = new Int32Array(n + 1);
  let codeOffsets: Int32Array<ArrayBufferLike> = new Int32Array(1);
  let codeBytes: Uint8Array<ArrayBufferLike> = new Uint8Array(0);
  if (dx) {
    const d = dx.data[0];
    if (dx.data.length !== 1 || !d || !DataType.isList(d.type)) throw new Error("diagnosis_codes must be one List<Utf8> chunk");
    const child = d.children[0];
    if (!child || !DataType.isUtf8(child.type)) throw new Error("diagnosis_codes must be List<Utf8>");
    memberOffsets = (d.valueOffsets as Int32Array).subarray(0, n + 1);
    const last = memberOffsets[n] ?? 0;
    codeOffsets = (child.valueOffsets as Int32Array).subarray(0, last + 1);
    codeBytes = (child.values as Uint8Array).subarray(0, codeOffsets[last] ?? 0);
    // a null list is no codes: its offsets are already equal in valid Arrow data
  }
  return { batch: { n, attrs, memberOffsets, codeOffsets, codeBytes }, errors };
}
