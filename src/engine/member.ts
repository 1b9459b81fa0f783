// The member input record (NDNJSON keys / CSV columns; docs/input-format.md) and its encoding
// into the kernel's input layout. Value problems (an unknown sex, a bad date) become a
// member-level error on that member's output row; they never fail the batch.
import * as L from "./layout.js";
import type { EncodedBatch } from "./kernel.js";

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

const absent = (v: unknown): boolean => v === undefined || v === null || v === "";

function parseBool(v: unknown, field: string, errs: string[]): number {
  if (absent(v)) return 0;
  if (v === true || v === 1) return 1;
  if (v === false || v === 0) return 0;
  const s = String(v).trim().toLowerCase();
  if (["1", "true", "t", "y", "yes"].includes(s)) return 1;
  if (["0", "false", "f", "n", "no"].includes(s)) return 0;
  errs.push(`${field}: '${String(v)}' is not a boolean`);
  return 0;
}

function parseIntIn(v: unknown, lo: number, hi: number, field: string, errs: string[]): number {
  if (absent(v)) return -1;
  const s = String(v).trim();
  if (!/^-?\d+$/.test(s)) {
    errs.push(`${field}: '${String(v)}' is not a whole number`);
    return -1;
  }
  const n = Number(s);
  if (n < lo || n > hi) {
    errs.push(`${field}: ${n} is outside ${lo}–${hi}`);
    return -1;
  }
  return n;
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

/** Dual eligibility code 0–10, or 99 (unrecognised: the kernel flags it and treats it as non-dual). */
export function parseDualCode(s: string): number {
  const t = s.trim();
  return /^\d{1,2}$/.test(t) && Number(t) <= 10 ? Number(t) : 99;
}

/** Encode one member's demographics into `attrs` at `off`; returns the value errors found. */
export function encodeMemberAttrs(m: MemberInput, attrs: Int32Array, off: number): string[] {
  const errs: string[] = [];
  attrs[off + L.IN_AGE] = -1;
  attrs[off + L.IN_DOB_DAYS] = -2147483648;
  if (!absent(m.age)) attrs[off + L.IN_AGE] = parseIntIn(m.age, 0, 130, "age", errs);
  else if (!absent(m.birth_date)) {
    const d = parseDateDays(String(m.birth_date));
    if (d === null) errs.push(`birth_date: '${String(m.birth_date)}' is not a YYYY-MM-DD date`);
    else attrs[off + L.IN_DOB_DAYS] = d;
  } else errs.push("age: neither age nor birth_date given");
  let sex = 0;
  if (absent(m.sex)) errs.push("sex: missing");
  else {
    sex = SEX[String(m.sex).trim().toUpperCase()] ?? 0;
    if (sex === 0) errs.push(`sex: '${String(m.sex)}' is not M, F, 1 or 2`);
  }
  attrs[off + L.IN_SEX] = sex;
  attrs[off + L.IN_OREC] = parseIntIn(m.orec, 0, 3, "orec", errs);
  attrs[off + L.IN_CREC] = parseIntIn(m.crec, 0, 3, "crec", errs);
  if (absent(m.dual_elgbl_cd)) attrs[off + L.IN_DUAL] = -1;
  else {
    attrs[off + L.IN_DUAL] = parseDualCode(String(m.dual_elgbl_cd));
  }
  attrs[off + L.IN_MEDICAID] = absent(m.medicaid) ? -1 : parseBool(m.medicaid, "medicaid", errs);
  attrs[off + L.IN_LTI] = parseBool(m.lti, "lti", errs);
  attrs[off + L.IN_NE] = parseBool(m.new_enrollee, "new_enrollee", errs);
  attrs[off + L.IN_SNP] = parseBool(m.snp, "snp", errs);
  attrs[off + L.IN_LOW_INCOME] = parseBool(m.low_income, "low_income", errs);
  attrs[off + L.IN_PACE] = parseBool(m.pace, "pace", errs);
  let esrd = 0;
  if (!absent(m.esrd_status)) {
    const e = ESRD[String(m.esrd_status).trim().toUpperCase()];
    if (e === undefined) errs.push(`esrd_status: '${String(m.esrd_status)}' is not none, dialysis, transplant or graft`);
    else esrd = e;
  }
  attrs[off + L.IN_ESRD] = esrd;
  attrs[off + L.IN_GRAFT_MONTHS] = parseIntIn(m.graft_months, 0, 1200, "graft_months", errs);
  let rx = -1;
  if (!absent(m.rx_plan)) {
    const r = RX[String(m.rx_plan).trim().toUpperCase()];
    if (r === undefined) errs.push(`rx_plan: '${String(m.rx_plan)}' is not mapd or pdp`);
    else rx = r;
  }
  attrs[off + L.IN_RX_PLAN] = rx;
  return errs;
}

const utf8 = /* @__PURE__ */ new TextEncoder(); // pure: bundles that only need the value codes drop it

/** Encode members (object form) into the kernel layout; value errors per member. */
export function encodeMembers(members: readonly MemberInput[]): { batch: EncodedBatch; errors: (string | null)[] } {
  const n = members.length;
  const attrs = new Int32Array(n * L.NIN);
  const memberOffsets = new Int32Array(n + 1);
  let nCodes = 0;
  for (const m of members) nCodes += m.diagnosis_codes?.length ?? 0;
  const codeOffsets = new Int32Array(nCodes + 1);
  const parts: Uint8Array[] = [];
  let bytes = 0;
  let c = 0;
  const errors: (string | null)[] = [];
  members.forEach((m, i) => {
    const errs = encodeMemberAttrs(m, attrs, i * L.NIN);
    errors.push(errs.length > 0 ? errs.join("; ") : null);
    memberOffsets[i] = c;
    for (const code of m.diagnosis_codes ?? []) {
      const b = utf8.encode(code ?? "");
      parts.push(b);
      codeOffsets[c] = bytes;
      bytes += b.length;
      c++;
    }
  });
  memberOffsets[n] = c;
  codeOffsets[c] = bytes;
  const codeBytes = new Uint8Array(bytes);
  let o = 0;
  for (const p of parts) {
    codeBytes.set(p, o);
    o += p.length;
  }
  return { batch: { n, attrs, memberOffsets, codeOffsets, codeBytes }, errors };
}
