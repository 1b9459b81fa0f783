// Member value codes and parsers: the one definition of what a valid value is, shared by the
// Arrow encoder (arrow-encode.ts, every scoring path) and the BigQuery UDF runtime. No imports,
// no Node or Web API (the UDF bundle includes this file).

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

/** A parser: the value's code, or an error message (never quoting more than the value). */
export type Parse = (s: string) => number | string;

/** A whole number within [lo, hi]. */
export const wholeIn =
  (lo: number, hi: number): Parse =>
  (s) => {
    const t = s.trim();
    if (!/^-?\d{1,9}$/.test(t)) return `'${t}' is not a whole number`;
    const v = Number(t);
    return v >= lo && v <= hi ? v : `${v} is outside ${lo}–${hi}`;
  };

/** An integer already parsed (a typed column, a JSON number): the same range check and words. */
export function checkWhole(v: number, lo: number, hi: number): number | string {
  return v >= lo && v <= hi ? v : `${v} is outside ${lo}–${hi}`;
}

export const AGE_RANGE = [0, 130] as const;
export const GRAFT_MONTHS_RANGE = [0, 1200] as const;

/** A code looked up in a table (upper-cased). */
export const fromTable =
  (t: Readonly<Record<string, number>>, what: string): Parse =>
  (s) =>
    t[s.trim().toUpperCase()] ?? `'${s}' is not ${what}`;

export const parseSex = fromTable(SEX, "M, F, 1 or 2");
export const parseEsrd = fromTable(ESRD, "none, dialysis, transplant or graft");
export const parseRx = fromTable(RX, "mapd or pdp");
export const parseReason = wholeIn(0, 3);
export const parseDual: Parse = (s) => parseDualCode(s) ?? `'${s}' is not a dual status code (00–10)`;
export const parseDate: Parse = (s) => parseDateDays(s) ?? `'${s}' is not a YYYY-MM-DD date`;

const TRUE_WORDS = ["1", "TRUE", "T", "Y", "YES"];
const FALSE_WORDS = ["0", "FALSE", "F", "N", "NO"];
export const parseBoolWord: Parse = (s) => {
  const t = s.trim().toUpperCase();
  return TRUE_WORDS.includes(t) ? 1 : FALSE_WORDS.includes(t) ? 0 : `'${s}' is not a boolean`;
};
