// The member input record (NDJSON keys / CSV columns; README "Member input record") and its
// Arrow member batch. Value problems (an unknown sex, a bad date) become a member-level error on
// that member's output row (arrow-encode.ts); they never fail the batch.
import { Field, List, RecordBatch, Schema, Struct, Utf8, makeData, type Data } from "apache-arrow";

export { MEMBER_TEXT_FIELDS, type MemberInput } from "./member-fields.js";
import { MEMBER_TEXT_FIELDS, type MemberInput } from "./member-fields.js";
export { ESRD, RX, SEX, parseDateDays, parseDualCode } from "./values.js";

const textOf = (v: unknown): string | null =>
  v === undefined || v === null || v === "" ? null : String(v as string | number | boolean);

const utf8Encoder = new TextEncoder();

/** A growable Utf8 column built straight into its buffers (apache-arrow's vectorFromArray is ~50× slower). */
export class Utf8Column {
  private bytes: Uint8Array;
  private used = 0;
  private offsets: Int32Array;
  private valid: Uint8Array;
  private nulls = 0;
  private row = 0;
  constructor(capacity = 1024) {
    const n = Math.max(capacity, 16);
    this.offsets = new Int32Array(n + 1);
    this.valid = new Uint8Array((n + 7) >> 3);
    this.bytes = new Uint8Array(Math.max(n * 8, 1024));
  }
  get length(): number {
    return this.row;
  }
  /** Room for one more row and k more bytes. */
  private room(k: number): void {
    if (this.row + 1 >= this.offsets.length) {
      const offsets = new Int32Array(this.offsets.length * 2);
      offsets.set(this.offsets);
      this.offsets = offsets;
      // a bit for every row the offsets have room for (offsets.length - 1 of them): `length >> 3`
      // was one bit short from the second growth on, and that row's value read as null
      const valid = new Uint8Array((this.offsets.length + 7) >> 3);
      valid.set(this.valid);
      this.valid = valid;
    }
    if (this.used + k > this.bytes.length) {
      const grown = new Uint8Array(Math.max(this.bytes.length * 2, this.used + k));
      grown.set(this.bytes.subarray(0, this.used));
      this.bytes = grown;
    }
  }
  pushNull(): void {
    this.room(0);
    const i = this.row++;
    this.nulls++;
    this.offsets[i + 1] = this.used;
  }
  push(s: string | null): void {
    if (s === null) return this.pushNull();
    this.room(s.length * 3); // at most 3 bytes per UTF-16 unit
    const i = this.row++;
    this.valid[i >> 3]! |= 1 << (i & 7);
    // ASCII (ids, codes, enum values) byte by byte; anything else through the encoder
    const bytes = this.bytes;
    let o = this.used;
    let k = 0;
    for (; k < s.length; k++) {
      const c = s.charCodeAt(k);
      if (c > 0x7f) break;
      bytes[o++] = c;
    }
    if (k < s.length) o = this.used + utf8Encoder.encodeInto(s, bytes.subarray(this.used)).written;
    this.used = o;
    this.offsets[i + 1] = o;
  }
  /** Bytes src[s, e) as one value (valid UTF-8: the caller checked). */
  pushBytes(src: Uint8Array, s: number, e: number): void {
    this.room(e - s);
    const i = this.row++;
    this.valid[i >> 3]! |= 1 << (i & 7);
    const bytes = this.bytes;
    let o = this.used;
    for (let k = s; k < e; k++) bytes[o++] = src[k]!;
    this.used = o;
    this.offsets[i + 1] = o;
  }
  finish(): Data<Utf8> {
    return makeData({
      type: new Utf8(),
      length: this.row,
      nullCount: this.nulls,
      ...(this.nulls > 0 ? { nullBitmap: this.valid.subarray(0, (this.row + 7) >> 3) } : {}),
      valueOffsets: this.offsets.subarray(0, this.row + 1),
      data: this.bytes.subarray(0, this.used),
    });
  }
}

/**
 * Builds a member batch row by row, from member objects (pushMember) or from byte slices of a
 * parsed file (the columns directly: ids, MEMBER_TEXT_FIELDS in order, codes, then endRow).
 */
export class MemberBatchBuilder {
  readonly ids: Utf8Column;
  readonly fields: Utf8Column[];
  readonly codes: Utf8Column;
  private listOffsets: Int32Array;
  private rows = 0;
  /** Null diagnosis codes skipped. */
  nullCodes = 0;
  constructor(capacity = 1024) {
    this.ids = new Utf8Column(capacity);
    this.fields = MEMBER_TEXT_FIELDS.map(() => new Utf8Column(capacity));
    this.codes = new Utf8Column(capacity * 8);
    this.listOffsets = new Int32Array(Math.max(capacity, 16) + 1);
  }
  get length(): number {
    return this.rows;
  }
  /** Ends a row whose id, fields and codes were pushed. */
  endRow(): void {
    if (this.rows + 1 >= this.listOffsets.length) {
      const grown = new Int32Array(this.listOffsets.length * 2);
      grown.set(this.listOffsets);
      this.listOffsets = grown;
    }
    this.listOffsets[++this.rows] = this.codes.length;
  }
  pushMember(m: MemberInput): void {
    this.ids.push(m.member_id);
    MEMBER_TEXT_FIELDS.forEach((f, k) => this.fields[k]!.push(textOf(m[f])));
    for (const c of m.diagnosis_codes ?? []) {
      if (c === null) this.nullCodes++;
      else this.codes.push(c);
    }
    this.endRow();
  }
  finish(): RecordBatch {
    const n = this.rows;
    const cols: [string, Data][] = [["participant_id", this.ids.finish()]];
    MEMBER_TEXT_FIELDS.forEach((f, k) => cols.push([f, this.fields[k]!.finish()]));
    cols.push([
      "diagnosis_codes",
      makeData({
        type: new List(new Field("item", new Utf8(), true)),
        length: n,
        nullCount: 0,
        valueOffsets: this.listOffsets.subarray(0, n + 1),
        child: this.codes.finish(),
      }),
    ]);
    const fields = cols.map(([name, d]) => new Field(name, d.type, name !== "participant_id"));
    return new RecordBatch(
      new Schema(fields),
      makeData({ type: new Struct(fields), length: n, nullCount: 0, children: cols.map(([, d]) => d) }),
    );
  }
}

/**
 * Member records as one Arrow member batch (docs/pipeline.md "Member batches"): participant_id,
 * every value field as Utf8 text exactly as given, and diagnosis_codes as List<Utf8> (null codes
 * skipped). All validation happens in one place, the encoder, so a record gets the same outcome
 * whichever path brought it (member-record file, object API, warehouse).
 */
export function membersToBatch(members: readonly MemberInput[]): { batch: RecordBatch; nullCodes: number } {
  const b = new MemberBatchBuilder(members.length);
  for (const m of members) b.pushMember(m);
  return { batch: b.finish(), nullCodes: b.nullCodes };
}
