// Known deviation categories between our kernel and hccinfhir 0.3.3 (cms-algorithm.md §10).
// Each category names the CMS rule our engine follows and a *specific* predicate: the
// deviation's trigger must be present in the member and the difference must have the shape
// that deviation produces. A difference is attributed to a category only when exactly one
// predicate of its layer holds (differential.test.ts); docs/deviations.md lists them.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { MemberInput } from "../../src/engine/member.js";
import { ROOT, readCrosswalk, type ModelId } from "./generate-members.js";
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
  return {
    model,
    ourCrosswalk: readCrosswalk(model),
    oracleCrosswalk: readHccinfhirCrosswalk(model),
    children,
    coefficients,
    referenceHierarchy: readHccinfhirHierarchy(REFERENCE_HIERARCHY[model]),
  };
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

/** Override CCs the hard-coded edits can assign (§1.3), by normalized code. */
function editCcs(code: string): number[] {
  if (code === "D66" || code === "D67") return [48, 112];
  if (/^(J41[018]|J42|J43[01289]|J44[019]|J4481|J4489|J98[23])$/.test(code)) return [112];
  if (/^C50/.test(code)) return [22];
  return [];
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
    for (const cc of [...(ctx.ourCrosswalk.get(n) ?? []), ...(ctx.oracleCrosswalk.get(n) ?? []), ...editCcs(n)]) add(cc);
  }
  return out;
}

/** The whole HCC difference lies within what `codes` can reach. */
function diffWithin(c: Comparison, codes: readonly string[], ctx: ModelContext): boolean {
  if (codes.length === 0) return false;
  const r = reach(codes, ctx);
  return [...c.onlyOurs, ...c.onlyOracle].every((h) => r.has(num(h)));
}

const V24_EDIT_RE = /^(D6[67]|J41[018]|J42|J43[01289]|J44[019]|J448[19]|J98[23]|F3481)$/;

/** V22/V24 (and ESRD V24) hard-coded edit that fires for this member (§1.3). */
function v24EditFires(code: string, m: MemberInput): boolean {
  if (code === "D66" || code === "D67") return m.sex === "F";
  if (/^(J41[018]|J42|J43[01289]|J44[019]|J4481|J4489|J98[23])$/.test(code)) return age(m) < 18;
  if (code === "F3481") return age(m) < 6 || age(m) > 18;
  return false;
}

// ---- categories ----------------------------------------------------------------------------

export const CATEGORIES: readonly Category[] = [
  {
    id: "H-age-0-rejected",
    layer: "error",
    models: ALL,
    hccinfhir: "raises 'Unable to categorize age: 0' for a continuing enrollee aged 0 (its age bands start above 0)",
    cms: "§1.5: the community cells start at 0 (F0_34/M0_34, SAS-AGESEX); §1.1 a negative AGEF becomes 0 (SAS-V28 l.358–360)",
    explains: (c) => c.oracle.error !== null && /Unable to categorize age: 0/.test(c.oracle.error) && age(c.member) === 0,
  },
  {
    id: "N-blanks-in-code",
    layer: "hccs",
    models: ALL,
    hccinfhir: "normalizes codes with upper() and removing dots only: ' E11.22', 'E11.22 ' and 'E11 22' are unknown and dropped",
    cms: "§1.2 step 1: normalize the code by uppercasing and removing dots and blanks",
    explains: (c, ctx) => diffWithin(c, codesOf(c.member).filter(hasBlank), ctx),
  },
  {
    id: "D-14-crosswalk-coverage",
    layer: "hccs",
    models: ALL,
    hccinfhir:
      "ra_dx_to_cc_2026.csv lacks FY2026 codes (e.g. G35A, D71.1) and C50.A0–A2 (and maps ESRD V24 I13.2 to an extra CC136): such codes give no CC",
    cms: "§1.2 step 5: the PY crosswalk covers every code valid in the collection period (PF's copy of CMS's PY2026 crosswalk); §10 D-14",
    explains: (c, ctx) => {
      const sorted = (xs: number[] | undefined): string => [...(xs ?? [])].sort((a, b) => a - b).join(",");
      const gap = codesOf(c.member).filter((raw) => {
        if (hasBlank(raw)) return false;
        const n = normalizeCms(raw);
        // an edit code is assigned by the edit, not the crosswalk (§1.2 step 2): D-13's business
        if (c.model !== "V28" && c.model !== "ESRD21" && c.model !== "RX08" && V24_EDIT_RE.test(n)) return false;
        // ESRD V24 renal CCs 134–138 are zeroed anyway (§6.1): a mapping gap there is D-18's business
        const renal = (xs: number[] | undefined): boolean => (xs ?? []).every((x) => x >= 134 && x <= 138);
        if (c.model === "ESRD24" && renal(ctx.ourCrosswalk.get(n)) && renal(ctx.oracleCrosswalk.get(n))) return false;
        return sorted(ctx.ourCrosswalk.get(n)) !== sorted(ctx.oracleCrosswalk.get(n));
      });
      return diffWithin(c, gap, ctx);
    },
  },
  {
    id: "D-13-no-edits-outside-v28",
    layer: "hccs",
    models: ["V24", "V22", "ESRD24"],
    hccinfhir:
      "ships hard-coded edits for V28 only: D66/D67 in a female stay CC46, COPD codes under 18 stay CC111, F34.81 outside 6–18 stays",
    cms: "§1.3: V22/V24 edit macros V24I0ED1 / V22I0ED2 (D66/D67 female → CC48; J-codes under 18 → CC112; F34.81 outside 6–18 invalid); ESRD V24 the same (PF v24_esrd.py)",
    explains: (c, ctx) =>
      diffWithin(
        c,
        codesOf(c.member).filter((raw) => !hasBlank(raw) && v24EditFires(normalizeCms(raw), c.member)),
        ctx,
      ),
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

export const OUR_BUGS: readonly OurBug[] = [
  {
    id: "BUG-esrd21-hierarchy-empty",
    models: ["ESRD21"],
    spec: "§13.2 ESRD V21 uses V20H87H1; data/py*/ESRD21/hierarchy.tsv is empty because src/data/import.ts keeps only model_domain 'CMS-HCC' rows while hccinfhir's 2026 file labels them 'ESRD,V21,V20H87H1'",
    // our HCC set holds a parent and one of its children under V20H87H1
    matches: (c, ctx) => {
      const present = new Set(c.ours.hccs.map(num));
      return [...ctx.referenceHierarchy].some(([p, kids]) => present.has(p) && kids.some((k) => present.has(k)));
    },
  },
];

export function categoriesFor(model: ModelId, layer: Layer): Category[] {
  return CATEGORIES.filter((k) => k.layer === layer && k.models.includes(model));
}
