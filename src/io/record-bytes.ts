// The common member-record line read straight from its bytes into a member batch builder, with no
// JS object or string per value (member-records.ts parseRange). Only the plain form is read here:
// ASCII, strings without escapes, integers, booleans, null, and for NDJSON one flat object with
// known keys, each once. Anything else (an escape, a non-ASCII byte, a fraction, an unknown or
// repeated key, a value of a type the record does not allow, a syntax error) returns false, and
// the caller parses that line with JSON.parse / the CSV path as before, which also gives every
// error its message. So a line gives the same member, or the same error, whichever way it went.
import type { MemberBatchBuilder } from "../engine/member.js";
import { MEMBER_TEXT_FIELDS } from "../engine/member-fields.js";

/** Slot per record key: 0 member_id, 1.. MEMBER_TEXT_FIELDS, then diagnosis_codes. */
const KEYS = ["member_id", ...MEMBER_TEXT_FIELDS, "diagnosis_codes"] as const;
const CODES = KEYS.length - 1;
const KEY_BYTES = KEYS.map((k) => Uint8Array.from(k, (c) => c.charCodeAt(0)));
/** Slots whose JSON value must be a string or a number (member-records.ts STRING_FIELDS). */
const STRING_ONLY = new Set(["member_id", "birth_date", "sex", "orec", "crec", "dual_elgbl_cd", "esrd_status", "rx_plan"]);
const STRING_SLOT = KEYS.map((k) => STRING_ONLY.has(k));

// value kinds per slot
const ABSENT = 0; // missing, null or "": a null text value
const SLICE = 1;
const TRUE = 2;
const FALSE = 3;
const TRUE_BYTES = Uint8Array.of(0x74, 0x72, 0x75, 0x65);
const FALSE_BYTES = Uint8Array.of(0x66, 0x61, 0x6c, 0x73, 0x65);

/** JS String.prototype.trim's ASCII whitespace. */
const isSpace = (c: number): boolean => c === 0x20 || (c >= 0x09 && c <= 0x0d);
/** JSON whitespace inside a line (the line break is already gone). */
const isJsonSpace = (c: number): boolean => c === 0x20 || c === 0x09 || c === 0x0d || c === 0x0a;

/** Per-line scratch: the slots' kinds and byte ranges, and the codes' ranges. */
export class LineSlots {
  readonly kind = new Uint8Array(KEYS.length);
  readonly start = new Int32Array(KEYS.length);
  readonly end = new Int32Array(KEYS.length);
  codeStart = new Int32Array(64);
  codeEnd = new Int32Array(64);
  codes = 0;
  nullCodes = 0;
  reset(): void {
    this.kind.fill(ABSENT);
    this.codes = 0;
    this.nullCodes = 0;
  }
  addCode(s: number, e: number): void {
    if (this.codes === this.codeStart.length) {
      const a = new Int32Array(this.codes * 2);
      a.set(this.codeStart);
      this.codeStart = a;
      const b = new Int32Array(this.codes * 2);
      b.set(this.codeEnd);
      this.codeEnd = b;
    }
    this.codeStart[this.codes] = s;
    this.codeEnd[this.codes++] = e;
  }
  /** The member id is there and not blank (checkRecord's rule). */
  private idOk(buf: Uint8Array): boolean {
    if (this.kind[0] !== SLICE) return false;
    for (let i = this.start[0]!; i < this.end[0]!; i++) if (!isSpace(buf[i]!)) return true;
    return false;
  }
  /** Push the line's member into the builder; false (nothing pushed) when it has no usable id. */
  commit(buf: Uint8Array, b: MemberBatchBuilder): boolean {
    if (!this.idOk(buf)) return false;
    b.ids.pushBytes(buf, this.start[0]!, this.end[0]!);
    for (let k = 1; k < CODES; k++) {
      const col = b.fields[k - 1]!;
      const kind = this.kind[k];
      if (kind === SLICE) col.pushBytes(buf, this.start[k]!, this.end[k]!);
      else if (kind === TRUE) col.pushBytes(TRUE_BYTES, 0, 4);
      else if (kind === FALSE) col.pushBytes(FALSE_BYTES, 0, 5);
      else col.pushNull();
    }
    for (let k = 0; k < this.codes; k++) b.codes.pushBytes(buf, this.codeStart[k]!, this.codeEnd[k]!);
    b.nullCodes += this.nullCodes;
    b.endRow();
    return true;
  }
}

/** Whether buf[s, e) is key k's bytes. */
function isKey(buf: Uint8Array, s: number, e: number, k: number): boolean {
  const key = KEY_BYTES[k]!;
  if (key.length !== e - s) return false;
  for (let i = 0; i < key.length; i++) if (buf[s + i] !== key[i]) return false;
  return true;
}

/**
 * The key that followed each slot (index slot + 1; 0 = the line's first key) on the last line
 * read: files write their keys in one order, so the guess is checked first (a full comparison,
 * so a wrong guess only costs that comparison) before the search over every key.
 */
const NEXT_KEY = new Int8Array(KEYS.length + 1).fill(-1);

/** Where key k's closing quote is when buf from s holds key k's bytes and then a quote, else -1. */
function keyEnd(buf: Uint8Array, s: number, end: number, k: number): number {
  const q = s + KEY_BYTES[k]!.length;
  return q < end && buf[q] === 0x22 && isKey(buf, s, q, k) ? q : -1;
}

function searchKey(buf: Uint8Array, s: number, e: number): number {
  for (let k = 0; k < KEY_BYTES.length; k++) if (isKey(buf, s, e, k)) return k;
  return -1;
}

/** End of a plain JSON string whose opening quote is at s-1 (index of the closing quote), or -1. */
function plainString(buf: Uint8Array, s: number, end: number): number {
  for (let i = s; i < end; i++) {
    const c = buf[i]!;
    if (c === 0x22) return i;
    if (c === 0x5c || c < 0x20 || c >= 0x80) return -1;
  }
  return -1;
}

/** End of a plain JSON integer starting at s (no fraction, exponent or -0; ≤ 15 digits), or -1. */
function plainInteger(buf: Uint8Array, s: number, end: number): number {
  let i = s;
  if (buf[i] === 0x2d) i++;
  const d0 = i;
  while (i < end && buf[i]! >= 0x30 && buf[i]! <= 0x39) i++;
  const digits = i - d0;
  if (digits === 0 || digits > 15 || (buf[d0] === 0x30 && (digits > 1 || d0 > s))) return -1;
  const c = i < end ? buf[i]! : 0x20;
  if (c === 0x2e || c === 0x65 || c === 0x45) return -1;
  return i;
}

function matches(buf: Uint8Array, s: number, end: number, word: Uint8Array): boolean {
  if (s + word.length > end) return false;
  for (let i = 0; i < word.length; i++) if (buf[s + i] !== word[i]) return false;
  return true;
}
const NULL_BYTES = Uint8Array.of(0x6e, 0x75, 0x6c, 0x6c);

/** The first position at or after i that is not JSON whitespace (e when there is none). */
function skipSpace(buf: Uint8Array, i: number, e: number): number {
  while (i < e && isJsonSpace(buf[i]!)) i++;
  return i;
}

/** True when buf[s, e) is blank (jsonRecord skips such lines); ASCII only. */
export function blankLine(buf: Uint8Array, s: number, e: number): boolean {
  for (let i = s; i < e; i++) if (!isSpace(buf[i]!)) return false;
  return true;
}

/**
 * An NDJSON line buf[s, e) in the plain form into slots; false when the line needs JSON.parse.
 * The slots hold the values only when it returns true.
 */
export function plainJsonLine(buf: Uint8Array, s: number, e: number, slots: LineSlots): boolean {
  slots.reset();
  // skipSpace returns the new position instead of a closure moving `i`: a captured `i` lives in
  // a heap context, and every step of this loop would read and write it there
  let i = skipSpace(buf, s, e);
  if (buf[i] !== 0x7b) return false;
  i++;
  i = skipSpace(buf, i, e);
  let seen = 0;
  let prev = -1; // the previous key's slot on this line
  if (buf[i] === 0x7d) i++;
  else
    for (;;) {
      if (buf[i] !== 0x22) return false;
      // the key the previous line had here, matched in place with its closing quote (key names
      // are plain ASCII, so that is the whole string); else the scan and the search over all keys
      let slot = NEXT_KEY[prev + 1]!;
      let ke = slot >= 0 ? keyEnd(buf, i + 1, e, slot) : -1;
      if (ke < 0) {
        ke = plainString(buf, i + 1, e);
        if (ke < 0) return false;
        slot = searchKey(buf, i + 1, ke);
        NEXT_KEY[prev + 1] = slot;
      }
      if (slot < 0 || (seen & (1 << slot)) !== 0) return false; // unknown or repeated key
      seen |= 1 << slot;
      prev = slot;
      i = ke + 1;
      i = skipSpace(buf, i, e);
      if (buf[i] !== 0x3a) return false;
      i++;
      i = skipSpace(buf, i, e);
      const c = buf[i];
      if (slot === CODES) {
        if (c === 0x5b) {
          i++;
          i = skipSpace(buf, i, e);
          if (buf[i] === 0x5d) i++;
          else
            for (;;) {
              if (buf[i] === 0x22) {
                const ve = plainString(buf, i + 1, e);
                if (ve < 0) return false;
                slots.addCode(i + 1, ve);
                i = ve + 1;
              } else if (matches(buf, i, e, NULL_BYTES)) {
                slots.nullCodes++;
                i += 4;
              } else return false;
              i = skipSpace(buf, i, e);
              if (buf[i] === 0x2c) {
                i++;
                i = skipSpace(buf, i, e);
              } else if (buf[i] === 0x5d) {
                i++;
                break;
              } else return false;
            }
        } else if (matches(buf, i, e, NULL_BYTES)) i += 4;
        else return false;
      } else if (c === 0x22) {
        const ve = plainString(buf, i + 1, e);
        if (ve < 0) return false;
        if (ve > i + 1) {
          slots.kind[slot] = SLICE;
          slots.start[slot] = i + 1;
          slots.end[slot] = ve;
        }
        i = ve + 1;
      } else if (c === 0x74 && matches(buf, i, e, TRUE_BYTES) && !STRING_SLOT[slot]) {
        slots.kind[slot] = TRUE;
        i += 4;
      } else if (c === 0x66 && matches(buf, i, e, FALSE_BYTES) && !STRING_SLOT[slot]) {
        slots.kind[slot] = FALSE;
        i += 5;
      } else if (c === 0x6e && matches(buf, i, e, NULL_BYTES)) {
        i += 4;
      } else if (c === 0x2d || (c !== undefined && c >= 0x30 && c <= 0x39)) {
        const ve = plainInteger(buf, i, e);
        if (ve < 0) return false;
        slots.kind[slot] = SLICE;
        slots.start[slot] = i;
        slots.end[slot] = ve;
        i = ve;
      } else return false;
      i = skipSpace(buf, i, e);
      if (buf[i] === 0x2c) {
        i++;
        i = skipSpace(buf, i, e);
      } else if (buf[i] === 0x7d) {
        i++;
        break;
      } else return false;
    }
  i = skipSpace(buf, i, e);
  return i === e;
}

/**
 * The slot of each CSV header column (-1: a column the record does not read), for plainCsvLine.
 */
export function csvHeaderSlots(header: readonly string[]): Int32Array {
  return Int32Array.from(header, (h) => (KEYS as readonly string[]).indexOf(h));
}

/**
 * A quote-free CSV line buf[s, e) with one field per header column into slots; false when the
 * line needs the CSV path (a non-ASCII byte, a field count that differs from the header).
 */
export function plainCsvLine(buf: Uint8Array, s: number, e: number, headerSlots: Int32Array, slots: LineSlots): boolean {
  slots.reset();
  let col = 0;
  let fs = s;
  for (let i = s; i <= e; i++) {
    const c = i < e ? buf[i]! : 0x2c;
    if (c >= 0x80) return false;
    if (c !== 0x2c) continue;
    if (col >= headerSlots.length) return false;
    const slot = headerSlots[col++]!;
    if (slot === CODES) {
      // `;`-separated, each code trimmed, empty ones dropped
      let cs = fs;
      for (let k = fs; k <= i; k++) {
        if (k < i && buf[k] !== 0x3b) continue;
        let a = cs;
        let b = k;
        while (a < b && isSpace(buf[a]!)) a++;
        while (b > a && isSpace(buf[b - 1]!)) b--;
        if (b > a) slots.addCode(a, b);
        cs = k + 1;
      }
    } else if (slot >= 0 && i > fs) {
      slots.kind[slot] = SLICE;
      slots.start[slot] = fs;
      slots.end[slot] = i;
    }
    fs = i + 1;
  }
  return col === headerSlots.length;
}
