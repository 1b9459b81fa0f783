// CMS risk-adjustment filtering of one claim, after the CMS encounter data diagnosis filtering
// logic (HPMS memo "Final Encounter Data Diagnosis Filtering Logic", 2015-12-22) and Medicare
// Managed Care Manual ch. 7 §120.1.1 (sources: hospital inpatient, hospital outpatient,
// physician). docs/ingest.md#filtering cites each rule. Voids and replacements are resolved across
// the whole ingest afterwards (warehouse step); here a void is only marked.
import type { Claim, ClaimDiagnosis, Decision, DiagnosisSource } from "./types.js";
import { yearOfDays } from "./dates.js";

export interface FilterOptions {
  /** Collection period, inclusive, as days since epoch (null = no date filter). */
  period: { from: number; to: number } | null;
  /** Eligible CPT/HCPCS codes by year of service. */
  procedures: ProcedureLists;
  /** Treat type of bill 87x as an outpatient source (default true; docs/ingest.md#tob-87x). */
  tob87x: boolean;
}

export const INPATIENT_TOB = ["11", "41"];
export const OUTPATIENT_TOB = ["12", "13", "43", "71", "73", "76", "77", "85"];

export interface ProcedureLists {
  years: number[];
  /** The list for a year of service (the nearest published year outside the range). */
  forYear(year: number): Set<string>;
}

/** `onlyYear`: use that year's list for every line (e.g. to compare with a tool that has one list). */
export function buildProcedureLists(byYear: Map<number, Set<string>>, onlyYear?: number): ProcedureLists {
  const years = [...byYear.keys()].sort((a, b) => a - b);
  if (years.length === 0) throw new Error("no CPT/HCPCS lists");
  if (onlyYear !== undefined) {
    const list = byYear.get(onlyYear);
    if (!list) throw new RangeError(`no CPT/HCPCS list for ${onlyYear} (have ${years.join(", ")})`);
    return { years: [onlyYear], forYear: () => list };
  }
  return {
    years,
    forYear(year: number): Set<string> {
      const y = Math.min(Math.max(year, years[0]!), years[years.length - 1]!);
      return byYear.get(y) ?? new Set();
    },
  };
}

const NONE = (): number => -1;

/** Accepted or filtered (with the reason), and for accepted claims which line supports each diagnosis. */
export function decideClaim(c: Claim, o: FilterOptions): Decision {
  const filtered = (reason: Decision["reason"]): Decision => ({ outcome: "filtered", reason, source: null, lineFor: NONE });
  if (c.frequency === "8") return filtered("void");
  if (c.kind === "pharmacy") return filtered("not_medical");
  if (c.diagnoses.length === 0) return filtered("no_diagnosis");
  const inPeriod = (d: number | null): boolean => d !== null && (o.period === null || (d >= o.period.from && d <= o.period.to));
  let source: DiagnosisSource;
  if (c.kind === "institutional") {
    const tob = (c.billType ?? "").slice(0, 2);
    if (INPATIENT_TOB.includes(tob)) {
      // inpatient: the claim's through (discharge) date in the period; no procedure requirement
      if (!inPeriod(c.to)) return filtered("out_of_period");
      return { outcome: "accepted", reason: null, source: "inpatient", lineFor: NONE };
    }
    if (!(OUTPATIENT_TOB.includes(tob) || (o.tob87x && tob === "87"))) return filtered("bill_type");
    source = "outpatient";
  } else source = "professional";
  // professional and outpatient: a line with an eligible CPT/HCPCS code whose date of service
  // (the line's through date, else the claim's) is in the period
  const eligible: number[] = [];
  let anyInPeriod = false;
  for (let i = 0; i < c.lines.length; i++) {
    const l = c.lines[i]!;
    const d = l.to ?? c.to;
    if (!inPeriod(d)) continue;
    anyInPeriod = true;
    if (l.procedure && o.procedures.forYear(yearOfDays(d!)).has(l.procedure)) eligible.push(i);
  }
  if (eligible.length === 0) return filtered(anyInPeriod || inPeriod(c.to) ? "no_eligible_procedure" : "out_of_period");
  return {
    outcome: "accepted",
    reason: null,
    source,
    lineFor: (dx: ClaimDiagnosis): number => eligible.find((i) => c.lines[i]!.pointers.includes(dx.position)) ?? eligible[0]!,
  };
}
