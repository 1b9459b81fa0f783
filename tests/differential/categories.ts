// Known deviation categories between our kernel and hccinfhir 0.4.0 (cms-algorithm.md §10 gives
// them as established on 0.3.3; docs/deviations.md says which 0.4.0 fixed and which are new).
// Each category names the CMS rule our engine follows and a *specific* predicate: the
// deviation's trigger must be present in the member and the difference must have the shape
// that deviation produces. A difference is attributed to a category only when exactly one
// predicate of its layer holds (differential.test.ts); docs/deviations.md lists them.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { MemberInput } from "../../src/engine/member.js";
import { ROOT, inAgeRange, readCrosswalk, readEdits, type EditRuleData, type ModelId } from "./generate-members.js";
import { readHccinfhirCrosswalk, readHccinfhirHierarchy, type OracleResult } from "./oracle.js";

/** Which comparison a category explains: an oracle failure, the HCC set, or the raw score. */
export type Layer = "error" | "hccs" | "score";

export interface OurResult {
  rawScore: number | null;
  segment: string | null;
  hccs: string[];
  error: string | null;
}

export interface Comparison {
  model: ModelId;
  member: MemberInput;
  ours: OurResult;
  oracle: OracleResult;
  /** HCCs we report and hccinfhir does not, and the reverse. */
  onlyOurs: string[];
  onlyOracle: string[];
  /** ours − oracle raw score (null when either is missing). */
  delta: number | null;
}

/** Model data the predicates consult: both crosswalks, our hierarchy and coefficients. */
export interface ModelContext {
  model: ModelId;
  ourCrosswalk: Map<string, number[]>;
  oracleCrosswalk: Map<string, number[]>;
  /** parent CC → children, from data/py2026/<model>/hierarchy.tsv */
  children: Map<number, number[]>;
  /** `${segment}\t${variable}` → coefficient, from data/py2026/<model>/coefficients.tsv */
  coefficients: Map<string, number>;
  /** The published hierarchy per §13.2, from hccinfhir's file (identical pair sets, §0.3). */
  referenceHierarchy: Map<number, number[]>;
  /** Our edit rules for the model (data/edits/<id>.json), by normalized code, in file order. */
  edits: Map<string, EditRuleData[]>;
}

export interface Category {
  id: string;
  layer: Layer;
  models: readonly ModelId[];
  /** What hccinfhir does. */
  hccinfhir: string;
  /** The CMS rule we follow, with the cms-algorithm.md section and the CMS source it names. */
  cms: string;
  explains(c: Comparison, ctx: ModelContext): boolean;
}

const REFERENCE_HIERARCHY: Record<ModelId, string> = {
  V28: "V28115H1",
  V24: "V24H86H1",
  V22: "V22H79H1",
  ESRD24: "V24H86H1",
  ESRD21: "V20H87H1",
  RX08: "R08X84H1",
};

export function loadModelContext(model: ModelId): ModelContext {
  const dir = join(ROOT, "data", "py2026", model);
  const children = new Map<number, number[]>();
  for (const line of readFileSync(join(dir, "hierarchy.tsv"), "utf8").split("\n").slice(1)) {
    const [p, cs] = line.trim().split("\t");
    if (!p || !cs) continue;
    children.set(Number(p), cs.split(",").map(Number));
  }
  const coefficients = new Map<string, number>();
  for (const line of readFileSync(join(dir, "coefficients.tsv"), "utf8").split("\n").slice(1)) {
    const [seg, v, val] = line.trim().split("\t");
    if (seg === undefined || !v || val === undefined) continue;
    coefficients.set(`${seg}\t${v}`, Number(val));
  }
  const edits = new Map<string, EditRuleData[]>();
  for (const rule of readEdits(model)) for (const code of rule.codes) edits.set(code, [...(edits.get(code) ?? []), rule]);
  return {
    model,
    ourCrosswalk: readCrosswalk(model),
    oracleCrosswalk: readHccinfhirCrosswalk(model),
    children,
    coefficients,
    referenceHierarchy: readHccinfhirHierarchy(REFERENCE_HIERARCHY[model]),
    edits,
  };
}

/**
 * Codes ICD-10-CM FY2025 deleted on 2024-10-01 by subdividing them (C86.0 → C86.00/C86.01,
 * E34.0 → E34.00–E34.09, F50.01 → F50.010–F50.019, G90.8 → G90.81/G90.89 …). They are in our
 * PY2025 crosswalks (collection year 2024 includes Jan–Sep 2024) and in no PY2026 crosswalk of
 * CMS's (PF's copies of CMS's PY2026 packages; Tuva agrees), but hccinfhir 0.4.0's 2026
 * crosswalk still maps them. A test checks that these are exactly the non-renal codes only
 * hccinfhir's 2026 crosswalk has.
 */
export const DELETED_2024_10_01: readonly string[] = [
  "C8339",
  "C860",
  "C861",
  "C862",
  "C863",
  "C864",
  "C865",
  "C866",
  "C880",
  "C882",
  "C883",
  "C884",
  "C888",
  "C889",
  "E340",
  "F5001",
  "F5002",
  "F502",
  "F5081",
  "G908",
];

/** Codes only hccinfhir's 2026 crosswalk maps, apart from ESRD V24 renal rows and codes our edits assign. */
export function oracleOnlyCodes(ctx: ModelContext): string[] {
  const renal = (xs: number[]): boolean => xs.every((x) => x >= 134 && x <= 138);
  return [...ctx.oracleCrosswalk]
    .filter(([code, ccs]) => !ctx.ourCrosswalk.has(code) && !ctx.edits.has(code) && !(ctx.model === "ESRD24" && renal(ccs)))
    .map(([code]) => code)
    .sort();
}

// ---- helpers -------------------------------------------------------------------------------

const ALL: readonly ModelId[] = ["V28", "V24", "V22", "ESRD24", "ESRD21", "RX08"];
const CMS_HCC: readonly ModelId[] = ["V28", "V24", "V22"];
const ESRD: readonly ModelId[] = ["ESRD24", "ESRD21"];
const EPS = 1e-9;

const codesOf = (m: MemberInput): string[] => (m.diagnosis_codes ?? []).filter((c): c is string => typeof c === "string");
/** Our normalization (§1.2 step 1): uppercase, dots and blanks removed. */
export const normalizeCms = (c: string): string => c.toUpperCase().replace(/[.\s]/g, "");
const hasBlank = (c: string): boolean => /\s/.test(c);
const num = (h: string): number => Number(h.replace(/^RX/, "").replace(/^HCC/, ""));
const isEsrdByOrec = (m: MemberInput): boolean =>
  ["2", "3"].includes(String(m.orec ?? "")) || ["2", "3"].includes(String(m.crec ?? ""));
const age = (m: MemberInput): number => Number(m.age);
const dual = (m: MemberInput): string => String(m.dual_elgbl_cd ?? "00");

/** Override CCs our edits can assign (§1.3) to a normalized code. */
function editCcs(code: string, ctx: ModelContext): number[] {
  return (ctx.edits.get(code) ?? []).flatMap((e) => (e.action === "override" && e.cc !== undefined ? [e.cc] : []));
}

/** An MCE age edit of ours (§1.3, SEDITS=1) invalidates this code at the member's age. */
export function mceFires(code: string, m: MemberInput, ctx: ModelContext): boolean {
  return (ctx.edits.get(code) ?? []).some((e) => e.mce === true && e.when.age !== undefined && inAgeRange(age(m), e.when.age));
}

/** CCs some code could produce in either implementation, with everything they can hide. */
function reach(codes: readonly string[], ctx: ModelContext): Set<number> {
  const out = new Set<number>();
  const add = (cc: number): void => {
    if (out.has(cc)) return;
    out.add(cc);
    for (const ch of ctx.children.get(cc) ?? []) add(ch);
  };
  for (const raw of codes) {
    const n = normalizeCms(raw);
    for (const cc of [...(ctx.ourCrosswalk.get(n) ?? []), ...(ctx.oracleCrosswalk.get(n) ?? []), ...editCcs(n, ctx)]) add(cc);
  }
  return out;
}

/** The whole HCC difference lies within what `codes` can reach. */
function diffWithin(c: Comparison, codes: readonly string[], ctx: ModelContext): boolean {
  if (codes.length === 0) return false;
  const r = reach(codes, ctx);
  return [...c.onlyOurs, ...c.onlyOracle].every((h) => r.has(num(h)));
}

// ---- categories ----------------------------------------------------------------------------

export const CATEGORIES: readonly Category[] = [
  {
    id: "N-blanks-in-code",
    layer: "hccs",
    models: ALL,
    hccinfhir: "normalizes codes with upper() and removing dots only: ' E11.22', 'E11.22 ' and 'E11 22' are unknown and dropped",
    cms: "§1.2 step 1: normalize the code by uppercasing and removing dots and blanks",
    explains: (c, ctx) => diffWithin(c, codesOf(c.member).filter(hasBlank), ctx),
  },
  {
    id: "D-14-deleted-codes-kept",
    layer: "hccs",
    models: ALL,
    hccinfhir:
      "ra_dx_to_cc_2026.csv still maps codes ICD-10-CM deleted on 2024-10-01 (C86.0, C83.39, E34.0, F50.2, G90.8 …), invalid throughout the PY2026 collection year: such a code gives a CC",
    cms: "§1.2 step 5: the PY2026 crosswalk holds the codes valid in the collection period (DOS 2025: FY2025 and FY2026 codes); CMS's PY2026 packages (PF v28/2026 …; Tuva) have the FY2025 subdivisions (C86.00/C86.01 …) instead; §10 D-14",
    explains: (c, ctx) => {
      const deleted = codesOf(c.member).filter((raw) => !hasBlank(raw) && DELETED_2024_10_01.includes(normalizeCms(raw)));
      return c.onlyOracle.length > 0 && diffWithin(c, deleted, ctx);
    },
  },
  {
    id: "D-13-mce-only-v28",
    layer: "hccs",
    models: ["V24", "V22", "ESRD24", "ESRD21"],
    hccinfhir:
      "applies its MCE age rows (edit_type mce_age) to V28 only: under V22, V24 and ESRD a code outside its MCE age range (E84.11 after age 0, C91.50 under 15, C93.30 from 18, C58 outside 9–64) still gives its CC",
    cms: "§1.3: with SEDITS=1, the value CMS's main programs set (SAS-V24 V2419P1P), the edit macro invalidates a diagnosis outside its MCE age category (SAS-V28ED l.68–81); the 2026 macros of every CMS-HCC and ESRD model use one MCE age format, IAGEHYBCY25MCE (hccinfhir 0.4.0 data/README.md), so we apply the V28 package's MCE_AGE_CONDITION to the codes each model maps",
    explains: (c, ctx) =>
      c.onlyOracle.length > 0 &&
      diffWithin(
        c,
        codesOf(c.member).filter((raw) => !hasBlank(raw) && mceFires(normalizeCms(raw), c.member, ctx)),
        ctx,
      ),
  },
  {
    id: "D-16-edit-removes-one-cc",
    layer: "hccs",
    models: ["V28"],
    hccinfhir:
      "apply_edits keeps one CC per diagnosis (the last one iterated), so an edit on a code with two CCs removes only one: a V28 I70.2xx–I70.7xx code (CC263 and CC383) under 15 keeps one of them after its MCE edit",
    cms: "§1.2 step 2: an edit that makes a diagnosis invalid means it assigns nothing, in every crosswalk slot (SAS-V28 l.381–398); an MCE edit makes it invalid (§1.3, SAS-V28ED l.68–81); §10 D-16",
    explains: (c, ctx) => {
      const twoCc = codesOf(c.member).filter((raw) => {
        if (hasBlank(raw)) return false;
        const n = normalizeCms(raw);
        return (ctx.oracleCrosswalk.get(n) ?? []).length > 1 && mceFires(n, c.member, ctx);
      });
      return c.onlyOracle.length > 0 && diffWithin(c, twoCc, ctx);
    },
  },
  {
    id: "D-1-in-order-hierarchy",
    layer: "hccs",
    models: ["V28"],
    hccinfhir: "applies all hierarchy rules at once: with CC62, CC63 and CC202, 63 removes 202 although 62 already removed 63",
    cms: "§1.4: SET0 rules run in published order on current values (SAS-V28H V28115H1): {62, 63, 202} keeps {62, 202}",
    explains: (c) => {
      const ccs = Object.keys(c.oracle.cc_to_dx ?? {});
      return (
        ["CC62", "CC63", "CC202"].every((k) => ccs.includes(k)) && c.onlyOurs.join() === "HCC202" && c.onlyOracle.length === 0
      );
    },
  },
  {
    id: "D-7-rxhcc-hierarchy-not-applied",
    layer: "hccs",
    models: ["RX08"],
    // Every RxHCC member with a parent and a child shows it, so it is also applied as a
    // correction of the oracle's HCC set before other categories are tried (correctOracleHccs).
    hccinfhir: "looks hierarchies up under 'RxHCC Model R08' while they are stored as 'RxHCC Model V08', so none applies",
    cms: "§8 / §13.2: RxHCC hierarchy R08X84H1 (e.g. 30 drops 31)",
    explains: (c, ctx) => {
      if (c.onlyOurs.length !== 0 || c.onlyOracle.length === 0) return false;
      const present = new Set((c.oracle.hccs ?? []).map(num));
      return c.onlyOracle.every((h) => [...ctx.children].some(([p, kids]) => present.has(p) && kids.includes(num(h))));
    },
  },
  {
    id: "D-18-esrd24-cc138-not-zeroed",
    layer: "hccs",
    models: ["ESRD24"],
    hccinfhir: "zeroes renal CCs 134–137 only for ESRD V24, so CKD stage 3 (CC138) survives",
    cms: "§6.1: CCs 134–138 are zeroed for every ESRD beneficiary before the hierarchy (PF, CMS ESRD_utils.py)",
    explains: (c) => c.onlyOurs.length === 0 && c.onlyOracle.join() === "HCC138",
  },
  // ---- score layer: HCC sets agree, raw scores differ -------------------------------------
  {
    id: "D-2-v22-hcc85-diabetes-name",
    layer: "score",
    models: ["V22"],
    hccinfhir: "sets HCC85_gDiabetesMellitus, which matches no coefficient (the CMS name is HCC85_gDiabetesMellit)",
    cms: "§5: community interaction HCC85_gDiabetesMellit = CHF × DIABETES (SAS-V22 l.434)",
    explains: (c, ctx) =>
      (c.oracle.interaction_flags ?? []).includes("HCC85_gDiabetesMellitus") &&
      c.delta !== null &&
      Math.abs(c.delta - (ctx.coefficients.get(`${c.ours.segment ?? ""}\tHCC85_gDiabetesMellit`) ?? NaN)) <= EPS,
  },
  {
    id: "D-3-esrd-dialysis-lti-graft-bump",
    layer: "score",
    models: ["ESRD24"],
    hccinfhir: "adds the graft-institutional LTI_GE65 (0.955) / LTI_LT65 (2.146) to every LTI dialysis member",
    cms: "§6.3/§6.6: dialysis LTI uses DI_LTI_Aged / DI_LTI_NonAged; LTI_GE65/LT65 belong to the graft-institutional bonus only (PF v24_esrd.py)",
    explains: (c) =>
      c.member.esrd_status === "dialysis" &&
      c.ours.segment === "DI" &&
      c.oracle.segment === "DI" &&
      Object.keys(c.oracle.coefficients ?? {}).some((k) => k === "LTI_GE65" || k === "LTI_LT65"),
  },
  {
    id: "D-4-transplant-unreachable",
    layer: "score",
    models: ESRD,
    hccinfhir:
      "has no transplant segment: months 1–3 score as graft community (ESRD by OREC/CREC) or 0 (prefix TRANSPLANT_KIDNEY_ONLY_<n>M + cell)",
    cms: "§6.8 / §7: flat TRANSPLANT_KIDNEY_ONLY_1M/2M/3M factor (SAS-E21 l.575–577)",
    explains: (c) => c.member.esrd_status === "transplant" && c.ours.segment === "TRANSPLANT",
  },
  {
    id: "D-5-esrd-new-enrollee-cells",
    layer: "score",
    models: ESRD,
    hccinfhir:
      "builds ESRD NE cells that do not exist (DNE NEF85_89…, GNE NEF65_69 without G_), requires age ≥ 65 for DNE originally-disabled, and has no GNE ActAdj division",
    cms: "§6.4/§6.7/§7: DNE grouped cells to 85_GT with ORIGDIS = OREC 1 at any age; GNE `_G_` cells with single-year 65–69, divided by ActAdj (SAS-E21 l.459; PF)",
    explains: (c) =>
      isEsrdByOrec(c.member) &&
      !c.member.lti &&
      (c.ours.segment === "DNE" || c.ours.segment === "GNE") &&
      c.oracle.segment === c.ours.segment,
  },
  {
    id: "D-6-esrd21-graft-prefixes",
    layer: "score",
    models: ["ESRD21"],
    hccinfhir:
      "scores V21 graft community with the V24 prefixes GFA/GFN/GNPA/GNPN (no V21 terms: only the duration bump) and never builds the V21 GI MCAID term",
    cms: "§7: V21 graft community is the single segment GC_; GI has MCAID (0.074) (SAS-E21 l.203, l.228)",
    explains: (c, ctx) =>
      isEsrdByOrec(c.member) &&
      ((c.ours.segment === "GC" && ["GFA", "GFN", "GNPA", "GNPN"].includes(c.oracle.segment ?? "")) ||
        // GI: the whole difference is the MCAID term hccinfhir never builds
        (c.ours.segment === "GI" &&
          c.oracle.segment === "GI" &&
          c.delta !== null &&
          Math.abs(c.delta - (ctx.coefficients.get("GI\tMCAID") ?? NaN)) <= EPS)),
  },
  {
    id: "D-21-esrd-from-orec-crec",
    layer: "score",
    models: ESRD,
    hccinfhir: "decides ESRD from OREC/CREC ∈ {2, 3}; otherwise it uses CMS-HCC prefixes, which have no ESRD coefficients",
    cms: "§2.1: ESRD status comes from CMS ESRD records, not OREC (SAS-AGESEX; tuva-core #1234 / PR #1242); our esrd_status input",
    explains: (c) =>
      !isEsrdByOrec(c.member) &&
      c.member.esrd_status !== "transplant" &&
      ["CNA", "CND", "CFA", "CFD", "CPA", "CPD", "INS", "NE", "SNPNE"].includes(c.oracle.segment ?? ""),
  },
  {
    id: "D-11-ne-orec-esrd-cells",
    layer: "score",
    models: CMS_HCC,
    hccinfhir:
      "for NE/SNPNE with OREC or CREC 2/3 builds ESRD-style NE cells: the grouped NEx65_69 cell, which CMS-HCC NE segments do not have (term 0), and no 'age 64 with OREC 0 → NEx65' rule (NEx60_64 instead)",
    cms: "§1.5: CMS-HCC NE cells are single-year 65–69 from age and sex only (SAS-AGESEX); vector V28-10",
    explains: (c) =>
      !!c.member.new_enrollee &&
      !c.member.lti &&
      isEsrdByOrec(c.member) &&
      ((c.oracle.demographic_category ?? "").endsWith("65_69") ||
        (age(c.member) === 64 && String(c.member.orec) === "0" && (c.oracle.demographic_category ?? "").endsWith("60_64"))),
  },
  {
    id: "D-12-ne-lti-institutional",
    layer: "score",
    models: [...CMS_HCC, ...ESRD],
    hccinfhir:
      "checks LTI before new enrollee: an NE member with LTI gets the INS_ (or ESRD GI_) prefix and NE cells that do not exist there",
    cms: "§2.1: NE takes precedence over institutional status; CMS-HCC has no NE institutional segment (SAS-V28 NE_REG)",
    explains: (c) =>
      !!c.member.new_enrollee &&
      !!c.member.lti &&
      ((["NE", "SNPNE"].includes(c.ours.segment ?? "") && c.oracle.segment === "INS") ||
        (c.ours.segment === "GNE" && c.oracle.segment === "GI") ||
        (c.ours.segment === "DNE" && isEsrdByOrec(c.member))),
  },
  {
    id: "D-15-v24-age64-orec0",
    layer: "score",
    models: ["V24", "ESRD21"],
    hccinfhir: "keeps AGEF 64 with OREC 0 at 64 (F60_64 cell, disabled segment)",
    cms: "§1.1: V24 and ESRD V21 set AGEF 64 with OREC '0' to 65 before anything else (SAS-V24 l.348; SAS-E21 l.379)",
    explains: (c) =>
      age(c.member) === 64 &&
      String(c.member.orec) === "0" &&
      !c.member.new_enrollee &&
      // ESRD V21: only where hccinfhir scores the same segment (else D-21 or D-6 decides)
      (c.model === "V24" || (isEsrdByOrec(c.member) && c.oracle.segment === c.ours.segment)),
  },
  {
    id: "H-v21-nonaged-is-disabl",
    layer: "score",
    models: ["ESRD21"],
    hccinfhir:
      "builds the ESRD V21 MCAID_{F,M}_{Aged,NonAged} and NONAGED_HCCx terms from plain age (< 65), so an OREC 0 member under 65 gets NonAged terms (found by this suite; not in §10)",
    cms: "§7: Aged = (1 − DISABL), NonAged = DISABL, and NONAGED = DISABL, with DISABL = AGEF < 65 and OREC ≠ '0' (§1.5; SAS-E21, SAS-AGESEX)",
    explains: (c) =>
      age(c.member) < 64 &&
      String(c.member.orec) === "0" &&
      isEsrdByOrec(c.member) &&
      c.oracle.segment === c.ours.segment &&
      Object.keys(c.oracle.coefficients ?? {}).some((k) =>
        // with dual 07/09/10 a lone MCAID_*_NonAged term is D-19's (hccinfhir's Medicaid flag)
        ["07", "09", "10"].includes(dual(c.member)) ? /^NONAGED_/.test(k) : /(_NonAged$|^NONAGED_)/.test(k),
      ),
  },
  {
    id: "D-19-medicaid-dual-07-09-10",
    layer: "score",
    models: [...CMS_HCC, ...ESRD],
    hccinfhir: "counts dual codes 07, 09 and 10 as Medicaid for LTIMCAID and V21 MCAID terms",
    cms: "§10 D-19 / §2.1: Medicaid means full (02, 04, 08) or partial (01, 03, 05, 06) benefit dual",
    explains: (c) => {
      if (!["07", "09", "10"].includes(dual(c.member)) || c.delta === null) return false;
      if (c.oracle.segment !== c.ours.segment) return false;
      // the whole difference is the Medicaid term(s) hccinfhir added
      const extra = Object.entries(c.oracle.coefficients ?? {})
        .filter(([k]) => /^(LTIMCAID|MCAID_(Female|Male)_(Aged|NonAged))$/.test(k))
        .reduce((a, [, v]) => a + v, 0);
      return extra !== 0 && Math.abs(c.delta + extra) <= EPS;
    },
  },
];

/**
 * D-7 is systematic (every RxHCC member with a parent and child): apply the RxHCC hierarchy to
 * hccinfhir's HCC set in published order (§1.4 SET0 semantics) so that another deviation in
 * the same member can still be attributed. Returns the corrected set.
 */
export function correctOracleHccs(model: ModelId, hccs: readonly string[], ctx: ModelContext): string[] {
  if (model !== "RX08") return [...hccs];
  const set = new Set(hccs.map(num));
  for (const [p, kids] of [...ctx.children].sort((a, b) => a[0] - b[0])) {
    if (set.has(p)) for (const k of kids) set.delete(k);
  }
  return hccs.filter((h) => set.has(num(h)));
}

/**
 * Differences that are OUR bugs (our engine disagrees with cms-algorithm.md), not hccinfhir's.
 * They are never counted as explained: the bulk test reports them in their own row and a
 * dedicated regression test (it.fails until fixed) pins the correct CMS behaviour.
 */
export interface OurBug {
  id: string;
  models: readonly ModelId[];
  spec: string;
  matches(c: Comparison, ctx: ModelContext): boolean;
}

// BUG-esrd21-hierarchy-empty, found by this suite on 0.3.3, is fixed (docs/deviations.md); its
// regression test stays in differential.test.ts.
export const OUR_BUGS: readonly OurBug[] = [];

export function categoriesFor(model: ModelId, layer: Layer): Category[] {
  return CATEGORIES.filter((k) => k.layer === layer && k.models.includes(model));
}
