// Hand-checked gap values (docs/gap-values.md): each expected value is worked out here from the
// published coefficients (data/py*/<model>/coefficients.tsv) by the CMS steps, written out —
// a hierarchy, an interaction, the payment-HCC count and a blend year.
import { describe, expect, it } from "vitest";
import { loadEngine } from "../../src/load.js";
import { loadPaymentYear } from "../../src/data/load.js";
import type { Engine } from "../../src/engine/engine.js";
import type { GapValue } from "../../src/engine/gaps.js";

function coefficients(year: number, model: string, segment: string): (v: string) => number {
  const m = loadPaymentYear(year).models.find((x) => x.id === model)!;
  const map = new Map(m.coefficients.filter(([s]) => s === segment).map(([, v, c]) => [v, c]));
  return (v) => map.get(v) ?? 0; // a variable absent from the segment contributes nothing
}

function nf(year: number, model: string): number {
  const pop = loadPaymentYear(year).populations.find((p) => p.name === "MA" || p.name === "Community")!;
  const comp = pop.components.find((c) => c.model === model)!;
  return comp.nf[0]!.value!;
}

function crosswalkCc(year: number, model: string, code: string): number[] {
  const m = loadPaymentYear(year).models.find((x) => x.id === model)!;
  return m.crosswalk.filter(([c]) => c === code.replace(".", "")).map(([, cc]) => cc);
}

const aged = { member_id: "M1", age: 72, sex: "F", orec: "0", dual_elgbl_cd: "00", rx_plan: "mapd" } as const;

function one(e: Engine, codes: string[], gaps: { model: string; hcc: number }[], all = false) {
  const { records, gaps: values } = e.valueGaps([{ ...aged, diagnosis_codes: codes }], [gaps], {
    add: true,
    remove: false,
    all,
  });
  return { rec: records[0]!, values };
}
const find = (vs: GapValue[], model: string, hcc: string | null, action = "add"): GapValue =>
  vs.find((v) => v.model === model && v.hcc === hcc && v.action === action)!;

describe("hand-checked gap values, PY2026 CMS-HCC V28 (community, non-dual, aged: CNA)", () => {
  const year = 2026;
  const e = loadEngine({ paymentYear: year });
  const c = coefficients(year, "V28", "CNA");
  const round3 = (x: number): number => e.kernel.roundScore(x);
  const maci = loadPaymentYear(year).maci;

  it("hierarchy: adding HCC 17 to a member with HCC 23 is worth c17 − c23, and displaces 23", () => {
    expect(crosswalkCc(year, "V28", "C50.911")).toEqual([23]);
    const { rec, values } = one(e, ["C50.911"], [{ model: "V28", hcc: 17 }]);
    const g = find(values, "V28", "HCC17");
    expect(g.status).toBe("kept");
    expect(g.hccs_displaced).toEqual(["HCC23"]);
    const dRaw = c("HCC17") - c("HCC23"); // count stays 1
    expect(dRaw).toBeLessThan(c("HCC17")); // why potential_coefficient overstated it
    expect(g.delta_raw_score).toBeCloseTo(dRaw, 12);
    const raw = rec["v28_raw_score"] as number;
    const norm = round3((raw + dRaw) / nf(year, "V28"));
    expect(g.delta_normalized_score).toBeCloseTo(norm - (rec["v28_normalized_score"] as number), 12);
    expect(g.delta_payment_score).toBeCloseTo(round3(round3(norm) * (1 - maci)) - rec.payment_score!, 12);
  });

  it("a dominated candidate is worth nothing: HCC 23 for a member with HCC 20", () => {
    expect(crosswalkCc(year, "V28", "C25.0")).toEqual([20]);
    const { values } = one(e, ["C25.0"], [{ model: "V28", hcc: 23 }]);
    const g = find(values, "V28", "HCC23");
    expect(g.status).toBe("dominated");
    expect(g.delta_raw_score).toBe(0);
    expect(g.delta_payment_score).toBe(0);
  });

  it("interaction: heart failure for a diabetic also turns on DIABETES_HF_V28", () => {
    expect(crosswalkCc(year, "V28", "E11.9")).toEqual([38]);
    const { values } = one(e, ["E11.9"], [{ model: "V28", hcc: 226 }]);
    const g = find(values, "V28", "HCC226");
    expect(g.terms_on).toContain("DIABETES_HF_V28");
    // 1 → 2 payment HCCs: no count variable below D5 in CNA
    const dRaw = c("HCC226") + c("DIABETES_HF_V28") + c("D2") - c("D1");
    expect(dRaw).toBeGreaterThan(c("HCC226"));
    expect(g.delta_raw_score).toBeCloseTo(dRaw, 12);
  });

  it("payment-HCC count: a fifth payment HCC also adds D5", () => {
    const base = ["C50.911", "E11.9", "J44.9", "E66.01"];
    const ccs = base.map((code) => crosswalkCc(year, "V28", code));
    expect(ccs.every((x) => x.length === 1)).toBe(true);
    const fifth = crosswalkCc(year, "V28", "K50.00");
    expect(fifth).toHaveLength(1);
    const { rec, values } = one(e, base, [{ model: "V28", hcc: fifth[0]! }]);
    expect((rec["v28_hccs"] as string[]).length).toBe(4);
    const g = find(values, "V28", `HCC${fifth[0]!}`);
    expect(g.terms_on).toEqual(["D5"]);
    expect(g.terms_off).toEqual([]);
    expect(g.delta_raw_score).toBeCloseTo(c(`HCC${fifth[0]!}`) + c("D5") - c("D4"), 12);
  });
});

describe("hand-checked gap values, PY2025 blend (33% V24 + 67% V28)", () => {
  const year = 2025;
  const e = loadEngine({ paymentYear: year });
  const round3 = (x: number): number => e.kernel.roundScore(x);
  const c24 = coefficients(year, "V24", "CNA");
  const c28 = coefficients(year, "V28", "CNA");
  const maci = loadPaymentYear(year).maci;

  it("diabetes with complications: each model alone, and both together, through the blend", () => {
    expect(crosswalkCc(year, "V24", "E11.9")).toEqual([19]);
    expect(crosswalkCc(year, "V28", "E11.9")).toEqual([38]);
    const gaps = [
      { model: "V24", hcc: 18 },
      { model: "V28", hcc: 37 },
    ];
    const { rec, values } = one(e, ["E11.9"], gaps, true);
    const raw24 = rec["v24_raw_score"] as number;
    const raw28 = rec["v28_raw_score"] as number;
    const norm24 = rec["v24_normalized_score"] as number;
    const norm28 = rec["v28_normalized_score"] as number;
    expect(norm24).toBe(round3(raw24 / nf(year, "V24")));
    const d24 = c24("HCC18") - c24("HCC19"); // 18 ⊃ 19
    const d28 = c28("HCC37") - c28("HCC38"); // 37 ⊃ 38
    const new24 = round3((raw24 + d24) / nf(year, "V24"));
    const new28 = round3((raw28 + d28) / nf(year, "V28"));
    const risk = (a: number, b: number): number => round3(0.33 * a + 0.67 * b);
    const pay = (r: number): number => round3(r * (1 - maci));

    const g24 = find(values, "V24", "HCC18");
    expect(g24.delta_raw_score).toBeCloseTo(d24, 12);
    expect(g24.delta_risk_score).toBeCloseTo(risk(new24, norm28) - rec.risk_score!, 12);
    expect(g24.delta_payment_score).toBeCloseTo(pay(risk(new24, norm28)) - rec.payment_score!, 12);
    const g28 = find(values, "V28", "HCC37");
    expect(g28.delta_raw_score).toBeCloseTo(d28, 12);
    expect(g28.delta_risk_score).toBeCloseTo(risk(norm24, new28) - rec.risk_score!, 12);
    // together: not the sum of the singles in general (rounding), exactly the blend of both
    for (const m of ["V24", "V28"]) {
      const all = find(values, m, null, "add_all");
      expect(all.delta_risk_score).toBeCloseTo(risk(new24, new28) - rec.risk_score!, 12);
      expect(all.delta_payment_score).toBeCloseTo(pay(risk(new24, new28)) - rec.payment_score!, 12);
    }
  });
});
