// Seeded synthetic members for the differential tests (kernel vs hccinfhir 0.4.0).
// Deterministic: the same seed, model and size always give the same members, so a failing
// member can be regenerated from the seed printed in the summary.
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import type { MemberInput } from "../../src/engine/member.js";

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..");

export type ModelId = "V28" | "V24" | "V22" | "ESRD24" | "ESRD21" | "RX08";
export const MODEL_IDS: readonly ModelId[] = ["V28", "V24", "V22", "ESRD24", "ESRD21", "RX08"];
export const isEsrdModel = (m: string): boolean => m.startsWith("ESRD");

/** mulberry32: a small, fast 32-bit seeded PRNG; returns floats in [0, 1). */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Codes (normalized, no dots) → CCs of one model's PY2026 crosswalk in data/. */
export function readCrosswalk(model: string, paymentYear = 2026): Map<string, number[]> {
  const text = readFileSync(join(ROOT, "data", `py${paymentYear}`, model, "crosswalk.tsv"), "utf8");
  const map = new Map<string, number[]>();
  for (const line of text.split("\n").slice(1)) {
    const [code, cc] = line.trim().split("\t");
    if (!code || !cc) continue;
    const list = map.get(code) ?? [];
    list.push(Number(cc));
    map.set(code, list);
  }
  return map;
}

/** One rule of data/edits/<id>.json (src/data/rules.ts EditRule), as the tests read it. */
export interface EditRuleData {
  codes: string[];
  when: { sex?: string; age?: [number, number | null] };
  action: "invalid" | "override";
  cc?: number;
  mce?: boolean;
  note?: string;
}

/** The edit rules our engine applies for a model (data/rules/<model>.json names the file). */
export function readEdits(model: ModelId): EditRuleData[] {
  const rules = JSON.parse(readFileSync(join(ROOT, "data", "rules", `${model.toLowerCase()}.json`), "utf8")) as {
    edits: string;
  };
  const file = JSON.parse(readFileSync(join(ROOT, "data", "edits", `${rules.edits}.json`), "utf8")) as {
    rules: EditRuleData[];
  };
  return file.rules;
}

/** Does an age fall in an edit's age condition ([lo, hi], hi null = no upper bound)? */
export const inAgeRange = (age: number, range: readonly [number, number | null]): boolean =>
  age >= range[0] && (range[1] === null || age <= range[1]);

/**
 * Vector codes (§12) and codes of the deviations that involve a particular code, added to the
 * model's own hard-coded edit codes in the "edit-code" quirk.
 */
export const EDIT_CODES: readonly string[] = [
  "D66",
  "D67",
  "J44.9",
  "J44.1",
  "J42",
  "J98.2",
  "J44.81",
  "F34.81",
  "C50.011",
  "C50.929",
  "C50.A0",
  "C50.A1",
  "C50.A2",
  "P04.1",
  "P04.3",
  "P96.1",
  "Z95.811",
  "Z95.812",
  "Z94.4",
  "K72.11",
  "G93.5",
  "I50.22",
  "E11.22",
  "E11.9",
  "N18.4",
  "G35A", // FY2026 code: missing from hccinfhir 0.3.3's 2026 crosswalk, present in 0.4.0's
  "N18.30",
  "N18.32", // CKD 3: our PY2026 ESRD V24 crosswalk (PF) has no row, hccinfhir maps to CC138 (D-18)
];

/** Valid ICD-10-CM codes that map to no CC in any model. */
export const NON_HCC_CODES: readonly string[] = ["I10", "Z00.00", "R51.9", "J06.9", "M54.50", "K21.9", "E78.5", "Z23"];

/** Codes that are not ICD-10 codes at all (unknown) or not codes (malformed). */
export const JUNK_CODES: readonly string[] = ["XYZ123", "E11.999", "Q", "", "!!", "12345", "E1122E1122", "ZZZ"];

/**
 * Ages on both sides of every edit bound: hard-coded edits (P-codes from 2, F34.81 valid 6–18,
 * COPD under 18, breast cancer under 50), MCE age conditions (newborn 0, maternity 9–64, adult
 * from 15, pediatric to 17), the AGEF 64/65 rules, and 100.
 */
export const SPECIAL_AGES: readonly number[] = [0, 1, 2, 5, 6, 8, 9, 14, 15, 17, 18, 19, 49, 50, 64, 65, 100];
const DUALS: readonly (string | null)[] = ["00", "01", "02", "03", "04", "05", "06", "08", "10", null];

export interface GenerateOptions {
  model: ModelId;
  count: number;
  seed: number;
  /**
   * Normalized codes whose CCs differ between our PY2026 crosswalk and hccinfhir's 2026
   * crosswalk, on either side (codes only one of them has, or mapped differently). Ordinary
   * draws avoid them; they come in only as a member's one deliberate quirk, so that a member
   * shows at most one code-level deviation and its difference can be attributed to exactly
   * one category.
   */
  crosswalkGaps?: ReadonlySet<string>;
}

/** The one code-level quirk a member may carry on top of ordinary crosswalk codes. */
export type Quirk = "none" | "blank" | "gap-code" | "edit-code" | "mce-code" | "junk" | "d1-triple";

/** Present a normalized code the way real claims do: dotted, lowercase, padded, split. */
function decorate(code: string, r: () => number): string {
  const dotted = code.length > 3 && !code.includes(".") ? `${code.slice(0, 3)}.${code.slice(3)}` : code;
  const x = r();
  if (x < 0.45) return dotted;
  if (x < 0.85) return code.replace(".", "");
  return dotted.toLowerCase();
}

/** A code written with blanks: padded, or split inside (hccinfhir keeps blanks, we strip them). */
function withBlanks(code: string, r: () => number): string {
  const plain = code.replace(".", "");
  if (r() < 0.5 || plain.length <= 3) return r() < 0.5 ? ` ${code}` : `${code} `;
  return `${plain.slice(0, 3)} ${plain.slice(3)}`;
}

export function generateMembers(opts: GenerateOptions): MemberInput[] {
  const r = mulberry32(opts.seed ^ hashModel(opts.model));
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)] as T;
  const gaps = opts.crosswalkGaps ?? new Set<string>();
  const edits = readEdits(opts.model);
  // Codes with hard-coded edits (§1.3) and codes with MCE age conditions of this model come in
  // only as the "edit-code" / "mce-code" quirks, never as ordinary codes.
  const hardCodes = new Set(edits.filter((e) => !e.mce).flatMap((e) => e.codes));
  const mceRules = edits.filter((e) => e.mce && e.when.age);
  const mceCodes = [...new Set(mceRules.flatMap((e) => e.codes))].sort();
  const editCodes = [...new Set([...EDIT_CODES.map((c) => c.replace(".", "")), ...hardCodes])].sort();
  const all = [...readCrosswalk(opts.model).keys()];
  const special = new Set([...hardCodes, ...mceCodes]);
  const xwalk = all.filter((c) => !gaps.has(c) && !special.has(c));
  const gapCodes = [...gaps].sort();
  const esrd = isEsrdModel(opts.model);
  const rx = opts.model === "RX08";
  const out: MemberInput[] = [];
  for (let i = 0; i < opts.count; i++) {
    const u = r();
    const age = u < 0.25 ? pick(SPECIAL_AGES) : u < 0.45 ? Math.floor(r() * 65) : 65 + Math.floor(r() * 36);
    const orecU = r();
    // ESRD models: hccinfhir only detects ESRD from OREC/CREC 2/3 (D-21), so weight those up
    const orec = esrd
      ? orecU < 0.2
        ? "0"
        : orecU < 0.3
          ? "1"
          : orecU < 0.75
            ? "2"
            : "3"
      : orecU < 0.55
        ? "0"
        : orecU < 0.8
          ? "1"
          : orecU < 0.9
            ? "2"
            : "3";
    const crecU = r();
    const crec = crecU < 0.6 ? undefined : crecU < 0.8 ? orec : pick(["0", "1", "2", "3"]);
    const ne = r() < 0.12;
    const m: MemberInput = {
      member_id: `${opts.model}-${opts.seed}-${i}`,
      age,
      sex: r() < 0.5 ? "F" : "M",
      orec,
      dual_elgbl_cd: pick(DUALS),
      lti: r() < 0.15,
      new_enrollee: ne,
      snp: ne && r() < 0.35,
      diagnosis_codes: [],
    };
    if (crec !== undefined) m.crec = crec;
    if (esrd) {
      const e = r();
      if (e < 0.5) m.esrd_status = "dialysis";
      else if (e < 0.65) {
        m.esrd_status = "transplant";
        m.graft_months = 1 + Math.floor(r() * 3);
      } else {
        m.esrd_status = "graft";
        m.graft_months = r() < 0.4 ? 4 + Math.floor(r() * 6) : 10 + Math.floor(r() * 27);
      }
    } else m.esrd_status = "none";
    if (rx) {
      m.low_income = r() < 0.3;
      m.rx_plan = r() < 0.7 ? "mapd" : "pdp";
      if (r() < 0.05) m.esrd_status = "dialysis";
    }
    const n = Math.floor(r() * 8); // 0..7 ordinary codes
    const codes: string[] = [];
    for (let k = 0; k < n; k++) codes.push(decorate(pick(xwalk), r));
    const q = r();
    const quirk: Quirk =
      q < 0.06
        ? "blank"
        : q < 0.12 && gapCodes.length > 0
          ? "gap-code"
          : q < 0.25
            ? "edit-code"
            : q < 0.31 && mceCodes.length > 0
              ? "mce-code"
              : q < 0.38
                ? "junk"
                : q < 0.39
                  ? "d1-triple"
                  : "none";
    if (quirk === "blank") codes.push(withBlanks(pick(xwalk), r));
    else if (quirk === "gap-code") codes.push(decorate(pick(gapCodes), r));
    else if (quirk === "edit-code") codes.push(decorate(pick(editCodes), r));
    else if (quirk === "mce-code") {
      const code = pick(mceCodes);
      codes.push(decorate(code, r));
      // Half of them at an age outside the code's MCE range (where the edit fires), drawn
      // from one of its invalid ranges; the others keep the member's age (mostly valid).
      if (r() < 0.5) {
        const [lo, hi] = pick(mceRules.filter((e) => e.codes.includes(code))).when.age as [number, number | null];
        const top = Math.min(hi ?? 100, 100);
        m.age = lo + Math.floor(r() * (top - lo + 1));
      }
    } else if (quirk === "junk") codes.push(r() < 0.5 ? pick(NON_HCC_CODES) : pick(JUNK_CODES));
    else if (quirk === "d1-triple") codes.push("Z94.4", "K72.11", "G93.5");
    if (codes.length > 0 && r() < 0.1) codes.push(codes[0] as string); // exact duplicate
    if (codes.length > 1 && r() < 0.05) codes.push((codes[1] as string).toLowerCase()); // duplicate after normalization
    m.diagnosis_codes = codes;
    out.push(m);
  }
  return out;
}

function hashModel(model: string): number {
  let h = 2166136261;
  for (let i = 0; i < model.length; i++) h = Math.imul(h ^ model.charCodeAt(i), 16777619);
  return h >>> 0;
}
