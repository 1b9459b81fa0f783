// Compile `when` objects (data/rules/README.md) into kernel clauses (value index, lo, hi).
import * as L from "./layout.js";
import type { When } from "./tables.js";

export const INT_MIN = -2147483648;
export const INT_MAX = 2147483647;

const VALUE_INDEX: Record<string, number> = {
  age: L.V_AGE,
  age_ne: L.V_AGE_NE,
  sex: L.V_SEX,
  orec: L.V_OREC,
  crec: L.V_CREC,
  dual: L.V_DUAL,
  medicaid: L.V_MEDICAID,
  lti: L.V_LTI,
  ne: L.V_NE,
  snp: L.V_SNP,
  low_income: L.V_LOW_INCOME,
  esrd: L.V_ESRD,
  graft_months: L.V_GRAFT_MONTHS,
  rx_plan: L.V_RX_PLAN,
  pace: L.V_PACE,
  disabl: L.V_DISABL,
  origds: L.V_ORIGDS,
  count: L.V_COUNT,
};

const ENUMS: Record<string, Record<string, number>> = {
  sex: { M: 1, F: 2 },
  dual: { non: 0, partial: 1, full: 2 },
  esrd: { none: 0, dialysis: 1, transplant: 2, graft: 3 },
  rx_plan: { mapd: 0, pdp: 1 },
};

export type Clause = [number, number, number];

export function compileWhen(when: When, where: string): Clause[] {
  const out: Clause[] = [];
  for (const [key, v] of Object.entries(when)) {
    const idx = VALUE_INDEX[key];
    if (idx === undefined) throw new Error(`${where}: unknown value '${key}' in a rule`);
    const scalar = (x: number | string): number => {
      if (typeof x === "number") return x;
      const n = ENUMS[key]?.[x];
      if (n === undefined) throw new Error(`${where}: '${x}' is not a value of ${key}`);
      return n;
    };
    if (Array.isArray(v)) out.push([idx, v[0] ?? INT_MIN, v[1] ?? INT_MAX]);
    else if (typeof v === "object") out.push([idx | 0x100, scalar(v.not), scalar(v.not)]);
    else {
      const n = scalar(v);
      out.push([idx, n, n]);
    }
  }
  return out;
}
