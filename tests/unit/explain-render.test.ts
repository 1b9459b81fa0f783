// `hcc explain`'s text: each diagnosis's fate in words (mapped, dropped by a hierarchy,
// invalidated by an edit, unmapped, malformed), every factor with its coefficient (divisors
// marked ÷), scores, populations and defaulted inputs; and the member built from the flags.
import { describe, expect, it } from "vitest";
import { memberFromFlags, renderExplanation } from "../../src/cli/explain.js";
import { engineOptions, parseModels, parseRounding, parseYear } from "../../src/cli/options.js";
import { UsageError } from "../../src/errors.js";
import { loadEngine } from "../../src/load.js";

type Flags = Parameters<typeof memberFromFlags>[1];
const flags = { year: "2026", mceEdits: true, rounding: "round3" };
const f = (o: Omit<Flags, "year" | "mceEdits" | "rounding">): Flags => ({ ...flags, ...o });
const explain = (models: string, dx: string[], o: Omit<Flags, "year" | "mceEdits" | "rounding">): string => {
  const engine = loadEngine(engineOptions({ ...flags, models }));
  return renderExplanation(engine.explain(memberFromFlags(dx, f(o))));
};
const lines = (text: string) => text.split("\n");

describe("renderExplanation", () => {
  it("a diabetic with heart failure: codes, hierarchy drop, factors, scores, populations, defaults", () => {
    const text = explain("V28,RX08", ["E11.22", "E11.9", "Z00.00", "E11@2", "I50.9"], { age: "70", sex: "F" });
    const l = lines(text);
    expect(l[0]).toBe("Payment year 2026; age 70 as of Feb 1");
    expect(l).toContain("  dx      normalized  result                    edits");
    expect(l).toContain("  E11.22  E1122       V28:HCC37 RX08:RXHCC30");
    expect(l).toContain("  Z00.00  Z0000       no CC in any model");
    expect(l).toContain("  E11@2               malformed (not counted)");
    expect(l).toContain("V28: segment CNA (community, non-dual, aged)");
    expect(l).toContain("  HCC38 dropped by hierarchy (parent HCC37)");
    expect(l).toContain("  HCCs kept: HCC37, HCC226");
    expect(l).toContain("  HCC37            0.166        Diabetes with Chronic Complications");
    expect(l).toContain("  DIABETES_HF_V28  0.112");
    expect(l).toContain("  raw score 1.033   normalized 0.968");
    expect(l.some((x) => x.startsWith("Part C population: MA — "))).toBe(true);
    expect(l.some((x) => x.startsWith("Part D population: Part D MA-PD — "))).toBe(true);
    expect(l).toContain(
      "risk score (normalized, blended) 0.968   payment score (after MA coding adjustment) 0.911   Part D risk score 0.617",
    );
    expect(l.at(-1)).toBe("defaulted inputs: orec_default, dual_default");
  });

  it("an MCE age edit: the code is invalidated, the edit and its source are named", () => {
    const text = explain("V22", ["C91.50"], { age: "10", sex: "M", orec: "0", dual: "00" });
    expect(text).toMatch(/ {2}C91\.50 {2}C9150 {7}invalidated by edit {2}V22 C9150 MCE age edit: valid for age >= 15/);
    expect(text).toContain("  edit sources (docs/data-sources.md#edits): V22: MCE age condition");
    expect(text).toContain("  HCCs kept: none");
    // a what-if-only blend component is not a population: no scores, and none are invented
    expect(text).toContain("risk score (normalized, blended) —   payment score (after MA coding adjustment) —");
    expect(text).not.toContain("defaulted inputs");
  });

  it("a code mapped only in models that were not scored", () => {
    expect(explain("ESRD24", ["N18.6"], { age: "60", sex: "M", esrd: "graft", graftMonths: "5" })).toContain(
      "  N18.6  N186        no CC in the scored models",
    );
  });

  it("a graft new enrollee: the duration divisor is shown with ÷ and divides the sum", () => {
    const text = explain("ESRD24", [], { age: "60", sex: "M", esrd: "graft", graftMonths: "5", newEnrollee: true });
    expect(text).not.toContain("Diagnoses:");
    expect(text).toContain("ESRD24: segment GNE (functioning graft, new enrollee)");
    expect(text).toContain("  ÷ ActAdj_DUR4_9             0.905");
    // (1.048 + 1.737) / 0.905, unrounded at this step
    expect(text).toContain(`  raw score ${Number(((1.048 + 1.737) / 0.905).toFixed(6))}   normalized 2.787`);
  });

  it("an engine error is printed first, and an unknown age shows as ?", () => {
    const engine = loadEngine(engineOptions({ ...flags, models: "V28" }));
    const e = engine.explain({ member_id: "x", birth_date: "not-a-date", sex: "F", diagnosis_codes: [] });
    const text = renderExplanation(e);
    expect(lines(text)[0]).toBe("Payment year 2026; age ? as of Feb 1");
    expect(lines(text)[1]).toMatch(/^ERROR: .*birth_date/);
  });
});

describe("memberFromFlags", () => {
  it("needs an age or a birth date, and a sex", () => {
    expect(() => memberFromFlags([], f({ sex: "F" }))).toThrow(new UsageError("explain needs --age or --dob"));
    expect(() => memberFromFlags([], f({ age: "70" }))).toThrow(new UsageError("explain needs --sex M|F"));
  });

  it("maps each flag to the member record, with the documented defaults", () => {
    expect(memberFromFlags(["E11.9"], f({ dob: "1950-01-02", sex: "M" }))).toEqual({
      member_id: "explain",
      birth_date: "1950-01-02",
      sex: "M",
      orec: null,
      crec: null,
      dual_elgbl_cd: null,
      lti: false,
      new_enrollee: false,
      snp: false,
      low_income: false,
      pace: false,
      esrd_status: "none",
      graft_months: null,
      rx_plan: null,
      diagnosis_codes: ["E11.9"],
    });
    const all = memberFromFlags(
      [],
      f({
        age: "66",
        sex: "F",
        orec: "1",
        crec: "1",
        dual: "02",
        medicaid: true,
        lti: true,
        newEnrollee: true,
        snp: true,
        lowIncome: true,
        pace: true,
        esrd: "dialysis",
        graftMonths: "3",
        rxPlan: "pdp",
      }),
    );
    expect(all).toMatchObject({ age: "66", orec: "1", crec: "1", dual_elgbl_cd: "02", medicaid: true, lti: true });
    expect(all).toMatchObject({ new_enrollee: true, snp: true, low_income: true, pace: true, esrd_status: "dialysis" });
    expect(all).toMatchObject({ graft_months: "3", rx_plan: "pdp" });
    expect(all).not.toHaveProperty("birth_date");
  });
});

describe("shared option parsing", () => {
  it("payment years, model lists and rounding policies", () => {
    expect(parseYear("2027")).toBe(2027);
    expect(() => parseYear("27")).toThrow("--year: '27' is not a payment year like 2026");
    expect(parseModels(" v28, rx08 ,")).toEqual(["V28", "RX08"]);
    expect(parseModels(undefined)).toEqual([]);
    expect(parseModels("  ")).toEqual([]);
    expect(() => parseModels("V28,V99")).toThrow("--models: unknown model 'V99' (models: V22, V24, V28, ESRD21, ESRD24, RX08)");
    expect(parseRounding("none")).toBe("none");
    expect(() => parseRounding("round2")).toThrow(new UsageError("--rounding: 'round2' is not round3 or none"));
  });

  it("engine options carry the coefficient set and data folder only when given", () => {
    expect(engineOptions({ year: "2026", mceEdits: false, rounding: "none" })).toEqual({
      paymentYear: 2026,
      models: [],
      mceEdits: false,
      rounding: "none",
    });
    expect(
      engineOptions({
        year: "2027",
        models: "V28",
        mceEdits: true,
        rounding: "round3",
        coefficients: "proposed-2027",
        dataDir: "/d",
      }),
    ).toEqual({
      paymentYear: 2027,
      models: ["V28"],
      mceEdits: true,
      rounding: "round3",
      coefficientSet: "proposed-2027",
      dataDir: "/d",
    });
  });
});
