// The member input record (NDJSON keys / CSV columns; README "Member input record") and its
// Arrow member batch. Value problems (an unknown sex, a bad date) become a member-level error on
// that member's output row (arrow-encode.ts); they never fail the batch.
import { Field, List, RecordBatch, Schema, Struct, Utf8, makeData, vectorFromArray, type Data } from "apache-arrow";

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

/** Days since 1970-01-01 of a YYYY-MM-DD date, or null when it is not a real date. */
export function parseDateDays(s: string): number | null {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(s.trim());
  if (!m) return null;
  const y = Number(m[1]);
  const mo = Number(m[2]);
  const d = Number(m[3]);
  const t = Date.UTC(y, mo - 1, d);
  const dt = new Date(t);
  if (dt.getUTCFullYear() !== y || dt.getUTCMonth() !== mo - 1 || dt.getUTCDate() !== d) return null;
  return Math.round(t / 86400000);
}

// Input value codes, shared with the Arrow encoder (arrow-encode.ts); keys are upper case.
export const SEX: Readonly<Record<string, number>> = { M: 1, F: 2, "1": 1, "2": 2, MALE: 1, FEMALE: 2 };
export const ESRD: Readonly<Record<string, number>> = { NONE: 0, DIALYSIS: 1, TRANSPLANT: 2, GRAFT: 3 };
export const RX: Readonly<Record<string, number>> = { MAPD: 0, "MA-PD": 0, PDP: 1 };

/** Dual eligibility status code 00–10 (01–08 dual, 09/10 …; docs: README), or null when it is not one. */
export function parseDualCode(s: string): number | null {
  const t = s.trim();
  return /^\d{1,2}$/.test(t) && Number(t) <= 10 ? Number(t) : null;
}

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

/**
 * Member records as one Arrow member batch (docs/pipeline.md "Member batches"): participant_id,
 * every value field as Utf8 text exactly as given, and diagnosis_codes as List<Utf8> (null codes
 * skipped). All validation happens in one place, the encoder, so a record gets the same outcome
 * whichever path brought it (member-record file, object API, warehouse).
 */
export function membersToBatch(members: readonly MemberInput[]): { batch: RecordBatch; nullCodes: number } {
  const n = members.length;
  const cols: [string, Data][] = [
    [
      "participant_id",
      vectorFromArray(
        members.map((m) => m.member_id),
        new Utf8(),
      ).data[0] as Data,
    ],
  ];
  for (const f of MEMBER_TEXT_FIELDS)
    cols.push([
      f,
      vectorFromArray(
        members.map((m) => textOf(m[f])),
        new Utf8(),
      ).data[0] as Data,
    ]);
  const offsets = new Int32Array(n + 1);
  const codes: string[] = [];
  let nullCodes = 0;
  members.forEach((m, i) => {
    for (const c of m.diagnosis_codes ?? []) {
      if (c === null) nullCodes++;
      else codes.push(c);
    }
    offsets[i + 1] = codes.length;
  });
  const child = vectorFromArray(codes, new Utf8()).data[0] as Data<Utf8>;
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
