// Conformance: every test vector of cms-algorithm.md §12 (hand-checked from the CMS coefficient
// tables, each row cites its terms there) and the official CMS software output published for two
// members (issue "Scoring engine", V28 PY2026). Raw scores compare to 1e-9; normalized and
// payment scores are the §12 rounding policy's 3-decimal values.
import { describe, expect, it } from "vitest";
import { loadEngine } from "../../src/load.js";
import type { MemberInput } from "../../src/engine/member.js";

interface Vector {
  id: string;
  year: number;
  models: string[];
  member: Omit<MemberInput, "member_id">;
  model: string;
  raw: number;
  hccs?: string[];
  segment?: string;
  normalized?: number;
  payment?: number;
  risk?: number;
}

const F70 = { age: 70, sex: "F", orec: "0", dual_elgbl_cd: "00" };

const VECTORS: Vector[] = [
  // official CMS software output (V28 PY2026)
  {
    id: "CMS-official-1",
    year: 2026,
    models: ["V28"],
    member: { age: 76, sex: "F", orec: "0", diagnosis_codes: ["E11.22", "I50.9", "N18.5", "J44.9"] },
    model: "v28",
    raw: 2.491,
    segment: "CNA",
  },
  {
    id: "CMS-official-2",
    year: 2026,
    models: ["V28"],
    member: { age: 51, sex: "M", orec: "1", new_enrollee: true, diagnosis_codes: ["C34.90"] },
    model: "v28",
    raw: 0.906,
    segment: "NE",
  },
  // §12.1 V28 PY2026
  {
    id: "V28-01",
    year: 2026,
    models: ["V28"],
    member: { ...F70, diagnosis_codes: ["E11.22", "I50.22", "N18.4"] },
    model: "v28",
    raw: 1.723,
    hccs: ["HCC37", "HCC226", "HCC327"],
    normalized: 1.615,
    payment: 1.52,
  },
  {
    id: "V28-02",
    year: 2026,
    models: ["V28"],
    member: { age: 70, sex: "M", orec: "0", diagnosis_codes: ["Z95.811"] },
    model: "v28",
    raw: 0.396,
    hccs: [],
    normalized: 0.371,
    payment: 0.349,
  },
  {
    id: "V28-04",
    year: 2026,
    models: ["V28"],
    member: { ...F70, diagnosis_codes: ["Z94.4", "K72.11", "G93.5"] },
    model: "v28",
    raw: 1.314,
    hccs: ["HCC62", "HCC202"],
    normalized: 1.231,
    payment: 1.158,
  },
  {
    id: "V28-05",
    year: 2026,
    models: ["V28"],
    member: { age: 77, sex: "M", orec: "0", diagnosis_codes: ["C79.51", "E66.01", "J44.9", "I48.0", "F32.2"] },
    model: "v28",
    raw: 3.996,
    normalized: 3.745,
    payment: 3.524,
  },
  {
    id: "V28-06",
    year: 2026,
    models: ["V28"],
    member: { age: 50, sex: "M", orec: "1", diagnosis_codes: ["I50.22", "J44.9"] },
    model: "v28",
    raw: 0.928,
    segment: "CND",
    normalized: 0.87,
    payment: 0.819,
  },
  {
    id: "V28-08",
    year: 2026,
    models: ["V28"],
    member: { age: 72, sex: "F", orec: "1", dual_elgbl_cd: "02", diagnosis_codes: ["E11.9"] },
    model: "v28",
    raw: 0.852,
    segment: "CFA",
    normalized: 0.799,
    payment: 0.752,
  },
  {
    id: "V28-09",
    year: 2026,
    models: ["V28"],
    member: { age: 67, sex: "M", orec: "1", dual_elgbl_cd: "02", new_enrollee: true, diagnosis_codes: ["E11.9"] },
    model: "v28",
    raw: 1.959,
    segment: "NE",
    normalized: 1.836,
    payment: 1.728,
  },
  {
    id: "V28-10",
    year: 2026,
    models: ["V28"],
    member: { age: 67, sex: "F", orec: "2", new_enrollee: true },
    model: "v28",
    raw: 0.557,
    segment: "NE",
  },
  {
    id: "V28-11",
    year: 2026,
    models: ["V28"],
    member: { age: 64, sex: "F", orec: "0", new_enrollee: true, snp: true },
    model: "v28",
    raw: 0.9,
    segment: "SNPNE",
    normalized: 0.843,
    payment: 0.793,
  },
  {
    id: "V28-13",
    year: 2026,
    models: ["V28"],
    member: { age: 16, sex: "F", orec: "1", diagnosis_codes: ["J44.9"] },
    model: "v28",
    raw: 0.238,
    hccs: [],
    segment: "CND",
    normalized: 0.223,
    payment: 0.21,
  },
  {
    id: "V28-14",
    year: 2026,
    models: ["V28"],
    member: { age: 87, sex: "F", orec: "0", dual_elgbl_cd: "01", lti: true, diagnosis_codes: ["A41.9", "L89.153"] },
    model: "v28",
    raw: 1.908,
    segment: "INS",
    normalized: 1.788,
    payment: 1.683,
  },
  {
    id: "V28-15",
    year: 2026,
    models: ["V28"],
    member: { ...F70, diagnosis_codes: ["D66"] },
    model: "v28",
    raw: 0.845,
    hccs: ["HCC112"],
    normalized: 0.792,
    payment: 0.745,
  },
  // §12.2 V24 (PY2025 single model)
  {
    id: "V24-01",
    year: 2025,
    models: ["V24"],
    member: { ...F70, diagnosis_codes: ["E11.22", "I50.22", "N18.4"] },
    model: "v24",
    raw: 1.585,
  },
  {
    id: "V24-02",
    year: 2025,
    models: ["V24"],
    member: { ...F70, diagnosis_codes: ["D66"] },
    model: "v24",
    raw: 0.578,
    hccs: ["HCC48"],
  },
  // §12.2 blend example: the same person under each payment year's default models
  {
    id: "blend-2024",
    year: 2024,
    models: [],
    member: { ...F70, diagnosis_codes: ["E11.22", "I50.22", "N18.4"] },
    model: "v28",
    raw: 1.723,
    risk: 1.487,
    payment: 1.399,
  },
  {
    id: "blend-2025",
    year: 2025,
    models: [],
    member: { ...F70, diagnosis_codes: ["E11.22", "I50.22", "N18.4"] },
    model: "v28",
    raw: 1.723,
    risk: 1.559,
    payment: 1.467,
  },
  {
    id: "blend-2026",
    year: 2026,
    models: [],
    member: { ...F70, diagnosis_codes: ["E11.22", "I50.22", "N18.4"] },
    model: "v28",
    raw: 1.723,
    payment: 1.52,
  },
  {
    id: "blend-2027",
    year: 2027,
    models: [],
    member: { ...F70, diagnosis_codes: ["E11.22", "I50.22", "N18.4"] },
    model: "v28",
    raw: 1.723,
    payment: 1.503,
  },
  // §12.3 V22
  {
    id: "V22-01",
    year: 2026,
    models: ["V22"],
    member: { ...F70, diagnosis_codes: ["I50.22", "E11.9"] },
    model: "v22",
    raw: 0.955,
  },
  // §12.4 ESRD (PY2026)
  {
    id: "E24-01",
    year: 2026,
    models: ["ESRD24"],
    member: { ...F70, orec: "2", esrd_status: "dialysis", lti: true, diagnosis_codes: ["E11.9"] },
    model: "esrd24",
    raw: 0.704,
    segment: "DI",
    normalized: 0.663,
    payment: 0.624,
  },
  {
    id: "E24-02",
    year: 2026,
    models: ["ESRD24"],
    member: { ...F70, esrd_status: "transplant", graft_months: 1 },
    model: "esrd24",
    raw: 5.985,
    segment: "TRANSPLANT",
    normalized: 5.636,
    payment: 5.303,
  },
  {
    id: "E24-03",
    year: 2026,
    models: ["ESRD24"],
    member: { age: 88, sex: "F", orec: "2", dual_elgbl_cd: "00", esrd_status: "dialysis", new_enrollee: true },
    model: "esrd24",
    raw: 0.963,
    segment: "DNE",
    normalized: 0.907,
    payment: 0.853,
  },
  // §10 D-5: GNE = (cell + graft bonus) / ActAdj = (0.688 + 2.529) / 0.905
  {
    id: "E24-04",
    year: 2026,
    models: ["ESRD24"],
    member: { age: 72, sex: "F", orec: "2", esrd_status: "graft", new_enrollee: true, graft_months: 6 },
    model: "esrd24",
    raw: (0.688 + 2.529) / 0.905,
    segment: "GNE",
  },
  {
    id: "E24-05",
    year: 2026,
    models: ["ESRD24"],
    member: { ...F70, orec: "2", dual_elgbl_cd: "02", esrd_status: "graft", graft_months: 12, diagnosis_codes: ["E11.9"] },
    model: "esrd24",
    raw: 1.794,
    segment: "GFA",
    normalized: 1.625,
    payment: 1.529,
  },
  {
    id: "E21-01",
    year: 2026,
    models: ["ESRD21"],
    member: { ...F70, orec: "2", esrd_status: "graft", graft_months: 12 },
    model: "esrd21",
    raw: 1.471,
    segment: "GC",
  },
  {
    id: "E21-02",
    year: 2026,
    models: ["ESRD21"],
    member: { age: 50, sex: "M", orec: "1", esrd_status: "dialysis", new_enrollee: true },
    model: "esrd21",
    raw: 1.001,
    segment: "DNE",
  },
  // §12.5 RxHCC
  {
    id: "RX-01",
    year: 2027,
    models: ["RX08"],
    member: { ...F70, rx_plan: "mapd", diagnosis_codes: ["E11.22", "E11.9"] },
    model: "rx08",
    raw: 0.442,
    hccs: ["RXHCC30"],
    normalized: 0.399,
  },
  {
    id: "RX-02",
    year: 2026,
    models: ["RX08"],
    member: { ...F70, rx_plan: "mapd", diagnosis_codes: ["E11.22", "E11.9"] },
    model: "rx08",
    raw: 0.602,
    hccs: ["RXHCC30"],
    normalized: 0.504,
  },
  {
    id: "RX-02-pdp",
    year: 2026,
    models: ["RX08"],
    member: { ...F70, rx_plan: "pdp", diagnosis_codes: ["E11.22", "E11.9"] },
    model: "rx08",
    raw: 0.602,
    normalized: 0.679,
  },
];

describe.each(["release", "debug"] as const)("§12 vectors (%s kernel)", (build) => {
  for (const v of VECTORS) {
    it(v.id, () => {
      const prev = process.env["HCC_WASM"];
      process.env["HCC_WASM"] = build;
      try {
        const e = loadEngine({ paymentYear: v.year, models: v.models });
        const [r] = e.scoreMembers([{ member_id: v.id, ...v.member }]);
        expect(r).toBeDefined();
        if (!r) return;
        expect(r.error).toBeNull();
        expect(r[`${v.model}_raw_score`] as number).toBeCloseTo(v.raw, 9);
        if (v.hccs) expect(r[`${v.model}_hccs`]).toEqual(v.hccs);
        if (v.segment) expect(r[`${v.model}_segment`]).toBe(v.segment);
        if (v.normalized !== undefined) expect(r[`${v.model}_normalized_score`]).toBe(v.normalized);
        if (v.risk !== undefined) expect(r.risk_score).toBe(v.risk);
        if (v.payment !== undefined) {
          const pay = v.model === "rx08" ? r.rx_risk_score : r.payment_score;
          expect(pay).toBe(v.payment);
        }
      } finally {
        if (prev === undefined) delete process.env["HCC_WASM"];
        else process.env["HCC_WASM"] = prev;
      }
    });
  }
});
