// Seeded synthetic members for the differential tests (kernel vs hccinfhir 0.3.3).
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

/** Codes with hard-coded edits in at least one model (§1.3), plus the §12 vector codes. */
export const EDIT_CODES: readonly string[] = [
  "D66",
  "D67",
  "J44.9",
  "J44.1",
  "J44.0",
  "J43.9",
  "J42",
  "J41.0",
  "J98.2",
  "J44.81",
  "F34.81",
  "C50.011",
  "C50.929",
  "C50.412",
  "C50.A0",
  "C50.A1",
  "C50.A2",
  "P04.1",
  "P04.3",
  "P27.1",
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
  "G35A",
  "N18.30",
  "N18.32", // CKD 3: our PY2026 ESRD V24 crosswalk (PF) has no row, hccinfhir maps to CC138 (D-18)
];

/** Normalized codes some model's hard-coded edits (§1.3) look at. */
export const EDIT_CODE_RE = /^(D6[67]|J41[018]|J42|J43[01289]|J44[019]|J448[19]|J98[23]|F3481|C50|P04|P27|P93|P96[12])/;

/** Valid ICD-10-CM codes that map to no CC in any model. */
export const NON_HCC_CODES: readonly string[] = ["I10", "Z00.00", "R51.9", "J06.9", "M54.50", "K21.9", "E78.5", "Z23"];

/** Codes that are not ICD-10 codes at all (unknown) or not codes (malformed). */
export const JUNK_CODES: readonly string[] = ["XYZ123", "E11.999", "Q", "", "!!", "12345", "E1122E1122", "ZZZ"];

export const SPECIAL_AGES: readonly number[] = [0, 1, 17, 18, 49, 50, 64, 65, 100];
const DUALS: readonly (string | null)[] = ["00", "01", "02", "03", "04", "05", "06", "08", "10", null];

export interface GenerateOptions {
  model: ModelId;
  count: number;
  seed: number;
  /**
   * Codes (normalized) of our crosswalk that the oracle's crosswalk lacks (D-14). Ordinary
   * draws avoid them; they come in only as a member's one deliberate quirk, so that a member
   * shows at most one code-level deviation and its difference can be attributed to exactly
   * one category.
   */
  oracleGaps?: ReadonlySet<string>;
}

/** The one code-level quirk a member may carry on top of ordinary crosswalk codes. */
export type Quirk = "none" | "blank" | "gap-code" | "edit-code" | "junk" | "d1-triple";

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
  const gaps = opts.oracleGaps ?? new Set<string>();
  const all = [...readCrosswalk(opts.model).keys()];
  // Codes with hard-coded edits come in only as the "edit-code" quirk.
  const xwalk = all.filter((c) => !gaps.has(c) && !EDIT_CODE_RE.test(c));
  const gapCodes = all.filter((c) => gaps.has(c));
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
          : q < 0.27
            ? "edit-code"
            : q < 0.35
              ? "junk"
              : q < 0.36
                ? "d1-triple"
                : "none";
    if (quirk === "blank") codes.push(withBlanks(pick(xwalk), r));
    else if (quirk === "gap-code") codes.push(decorate(pick(gapCodes), r));
    else if (quirk === "edit-code") codes.push(decorate(pick(EDIT_CODES).replace(".", ""), r));
    else if (quirk === "junk") codes.push(r() < 0.5 ? pick(NON_HCC_CODES) : pick(JUNK_CODES));
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
