// The member input record (NDJSON keys / CSV columns; README "Member input record") and its
// Arrow member batch. Value problems (an unknown sex, a bad date) become a member-level error on
// that member's output row (arrow-encode.ts); they never fail the batch.
import { Field, List, RecordBatch, Schema, Struct, Utf8, makeData, type Data } from "apache-arrow";

export interface MemberInput {
  member_id: string;
  birth_date?: string | null;
  age?: number | string | null;
  sex?: string | number | null;
  orec?: string | number | null;
  crec?: string | number | null;
  dual_elgbl_cd?: string | number | null;
  medicaid?: boolean | string | number | null;
  lti?: boolean | string | number | null;
  new_enrollee?: boolean | string | number | null;
  snp?: boolean | string | number | null;
  low_income?: boolean | string | number | null;
  pace?: boolean | string | number | null;
  esrd_status?: string | null;
  graft_months?: number | string | null;
  rx_plan?: string | null;
  diagnosis_codes?: readonly (string | null)[] | null;
}

export { ESRD, RX, SEX, parseDateDays, parseDualCode } from "./values.js";

/** The member fields carried as text; the encoder (arrow-encode.ts) parses and validates them. */
export const MEMBER_TEXT_FIELDS = [
  "birth_date",
  "age",
  "sex",
  "orec",
  "crec",
  "dual_elgbl_cd",
  "medicaid",
  "lti",
  "new_enrollee",
  "snp",
  "low_income",
  "pace",
  "esrd_status",
  "graft_months",
  "rx_plan",
] as const;

const textOf = (v: unknown): string | null =>
  v === undefined || v === null || v === "" ? null : String(v as string | number | boolean);

const utf8Encoder = new TextEncoder();

/** A Utf8 column built straight into its buffers (apache-arrow's vectorFromArray is ~50× slower). */
class Utf8Column {
  private bytes = new Uint8Array(1024);
  private used = 0;
  private readonly offsets: Int32Array;
  private readonly valid: Uint8Array;
  private nulls = 0;
  private row = 0;
  constructor(readonly n: number) {
    this.offsets = new Int32Array(n + 1);
    this.valid = new Uint8Array((n + 7) >> 3);
  }
  push(s: string | null): void {
    const i = this.row++;
    if (s === null) {
      this.nulls++;
      this.offsets[i + 1] = this.used;
      return;
    }
    this.valid[i >> 3]! |= 1 << (i & 7);
    // at most 3 bytes per UTF-16 unit
    if (this.used + s.length * 3 > this.bytes.length) {
      const grown = new Uint8Array(Math.max(this.bytes.length * 2, this.used + s.length * 3));
      grown.set(this.bytes.subarray(0, this.used));
      this.bytes = grown;
    }
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
  finish(): Data<Utf8> {
    return makeData({
      type: new Utf8(),
      length: this.row,
      nullCount: this.nulls,
      ...(this.nulls > 0 ? { nullBitmap: this.valid } : {}),
      valueOffsets: this.offsets.subarray(0, this.row + 1),
      data: this.bytes.subarray(0, this.used),
    });
  }
}

/**
 * Member records as one Arrow member batch (docs/pipeline.md "Member batches"): participant_id,
 * every value field as Utf8 text exactly as given, and diagnosis_codes as List<Utf8> (null codes
 * skipped). All validation happens in one place, the encoder, so a record gets the same outcome
 * whichever path brought it (member-record file, object API, warehouse).
 */
export function membersToBatch(members: readonly MemberInput[]): { batch: RecordBatch; nullCodes: number } {
  const n = members.length;
  const ids = new Utf8Column(n);
  for (const m of members) ids.push(m.member_id);
  const cols: [string, Data][] = [["participant_id", ids.finish()]];
  for (const f of MEMBER_TEXT_FIELDS) {
    const c = new Utf8Column(n);
    for (const m of members) c.push(textOf(m[f]));
    cols.push([f, c.finish()]);
  }
  const offsets = new Int32Array(n + 1);
  let nCodes = 0;
  for (const m of members) nCodes += m.diagnosis_codes?.length ?? 0;
  const codes = new Utf8Column(nCodes);
  let nullCodes = 0;
  let k = 0;
  members.forEach((m, i) => {
    for (const c of m.diagnosis_codes ?? []) {
      if (c === null) nullCodes++;
      else {
        codes.push(c);
        k++;
      }
    }
    offsets[i + 1] = k;
  });
  const child = codes.finish();
  cols.push([
    "diagnosis_codes",
    makeData({ type: new List(new Field("item", new Utf8(), true)), length: n, nullCount: 0, valueOffsets: offsets, child }),
  ]);
  const fields = cols.map(([name, d]) => new Field(name, d.type, name !== "participant_id"));
  const batch = new RecordBatch(
    new Schema(fields),
    makeData({ type: new Struct(fields), length: n, nullCount: 0, children: cols.map(([, d]) => d) }),
  );
  return { batch, nullCodes };
}
