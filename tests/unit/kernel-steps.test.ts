// Unit tests of single CMS steps through the engine: normalization, age as of Feb 1, edits,
// in-order hierarchies, the heart patch, bad-input handling, and the layout/hierarchy data.
import { describe, expect, it } from "vitest";
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { loadEngine, loadKernelModule } from "../../src/load.js";
import { Kernel } from "../../src/engine/kernel.js";
import { loadPaymentYear } from "../../src/data/load.js";
import { buildPack } from "../../src/engine/pack-builder.js";

const v28 = loadEngine({ paymentYear: 2026, models: ["V28"], rounding: "none" });
const one = (m: Record<string, unknown>) => v28.scoreMembers([{ member_id: "t", age: 70, sex: "F", orec: "0", ...m }])[0]!;

describe("code normalization", () => {
  it("accepts dotted, lowercase and spaced codes; counts malformed ones", () => {
    expect(one({ diagnosis_codes: ["e11.22"] }).v28_hccs).toEqual(["HCC37"]);
    expect(one({ diagnosis_codes: [" E1 1.22 "] }).v28_hccs).toEqual(["HCC37"]);
    const r = one({ diagnosis_codes: ["E11.22", "E11-22", "", "ÉÉÉ", "E112233445"] });
    expect(r.v28_hccs).toEqual(["HCC37"]);
    expect(r.dx_malformed).toBe(4);
  });
  it("counts well-formed codes that no crosswalk of the year knows", () => {
    expect(one({ diagnosis_codes: ["ZZZ999"] }).dx_unmapped).toBe(1);
  });
});

describe("age", () => {
  it("is computed as of Feb 1 of the payment year (birthday on Feb 1 counts, Feb 2 does not)", () => {
    const k = new Kernel(loadKernelModule(), buildPack(loadPaymentYear(2026)).bytes);
    const days = (s: string) => Math.round(Date.parse(s + "T00:00:00Z") / 86400000);
    expect(k.computeAge(days("1961-02-01"), days("2026-02-01"))).toBe(65);
    expect(k.computeAge(days("1961-02-02"), days("2026-02-01"))).toBe(64);
    expect(k.computeAge(days("1960-02-29"), days("2026-02-01"))).toBe(65);
    expect(one({ age: undefined, birth_date: "1961-02-02", diagnosis_codes: [] }).v28_segment).toBe("CND");
    expect(one({ age: undefined, birth_date: "1961-02-01", diagnosis_codes: [] }).v28_segment).toBe("CNA");
  });
  it("matches completed months / 12 for every birth date over 131 years and several as-of dates", () => {
    const k = new Kernel(loadKernelModule(), buildPack(loadPaymentYear(2026)).bytes);
    const ymd = (days: number): [number, number, number] => {
      const d = new Date(days * 86400000);
      return [d.getUTCFullYear(), d.getUTCMonth() + 1, d.getUTCDate()];
    };
    const days = (s: string) => Math.round(Date.parse(s + "T00:00:00Z") / 86400000);
    for (const asOfText of ["2026-02-01", "2028-02-29", "2027-03-01", "2025-12-31", "2024-02-28"]) {
      const asOf = days(asOfText);
      const [ay, am, ad] = ymd(asOf);
      let bad = 0;
      for (let dob = asOf - 132 * 366; dob <= asOf + 3; dob++) {
        const [by, bm, bd] = ymd(dob);
        const months = (ay - by) * 12 + (am - bm) - (ad < bd ? 1 : 0);
        const want = months < 0 ? 0 : Math.min(Math.floor(months / 12), 131);
        if (k.computeAge(dob, asOf) !== want) bad++;
      }
      expect(bad, asOfText).toBe(0);
    }
  });
  it("rounds half away from zero to 3 decimals with SAS fuzz", () => {
    const k = new Kernel(loadKernelModule(), buildPack(loadPaymentYear(2026)).bytes);
    expect(k.roundScore(1.0005)).toBe(1.001);
    expect(k.roundScore(1.0004999)).toBe(1.0);
    expect(k.roundScore(2.4985)).toBe(2.499);
  });
});

describe("edits, hierarchy and pre-hierarchy rules", () => {
  it("V28 hierarchy runs in published order: {62, 63, 202} keeps {62, 202} (§1.4)", () => {
    expect(one({ diagnosis_codes: ["Z94.4", "K72.11", "G93.5"] }).v28_hccs).toEqual(["HCC62", "HCC202"]);
    expect(one({ diagnosis_codes: ["K72.11", "G93.5"] }).v28_hccs).toEqual(["HCC63"]);
  });
  it("heart patch zeroes CC223 without another heart failure CC (§3.2)", () => {
    expect(one({ diagnosis_codes: ["Z95.811"] }).v28_hccs).toEqual([]);
    expect(one({ diagnosis_codes: ["Z95.811", "I50.22"] }).v28_hccs).toEqual(["HCC223"]);
  });
  it("V28 age edits: breast cancer under 50 → CC22, COPD under 18 invalid (§1.3)", () => {
    expect(one({ age: 40, diagnosis_codes: ["C50.011"] }).v28_hccs).toEqual(["HCC22"]);
    expect(one({ age: 50, diagnosis_codes: ["C50.011"] }).v28_hccs).toEqual(["HCC23"]);
    expect(one({ age: 40, diagnosis_codes: ["C50.A1"] }).v28_hccs).toEqual(["HCC22"]);
    expect(one({ age: 60, diagnosis_codes: ["C50.A1"] }).v28_hccs).toEqual(["HCC23"]);
    expect(one({ age: 17, diagnosis_codes: ["J44.9"] }).v28_hccs).toEqual([]);
  });
  it("V24 edits reassign rather than invalidate (§1.3)", () => {
    const v24 = loadEngine({ paymentYear: 2025, models: ["V24"] });
    const r = (m: Record<string, unknown>) => v24.scoreMembers([{ member_id: "t", age: 70, sex: "F", ...m }])[0]!;
    expect(r({ age: 10, diagnosis_codes: ["J44.9"] }).v24_hccs).toEqual(["HCC112"]);
    expect(r({ sex: "M", diagnosis_codes: ["D66"] }).v24_hccs).toEqual(["HCC46"]);
    expect(r({ age: 30, diagnosis_codes: ["F34.81"] }).v24_hccs).toEqual([]);
    expect(r({ age: 12, diagnosis_codes: ["F34.81"] }).v24_hccs).toEqual(["HCC59"]);
  });
  it("ESRD V24 zeroes renal CCs 134–138 before the hierarchy (§6.1)", () => {
    const e = loadEngine({ paymentYear: 2026, models: ["ESRD24"] });
    const [r] = e.scoreMembers([
      { member_id: "t", age: 70, sex: "F", esrd_status: "dialysis", diagnosis_codes: ["N18.6", "E11.9"] },
    ]);
    expect(r?.esrd24_hccs).toEqual(["HCC19"]);
  });
});

describe("blending uses only the models scored for the member", () => {
  // the kernel writes per-model results only for models the host can read; a blend whose
  // component model was not scored must be null, never a score built from an unwritten block
  const members = [
    { member_id: "A", age: 70, sex: "F", diagnosis_codes: ["E119", "I509"] },
    { member_id: "B", age: 82, sex: "M", diagnosis_codes: ["J449"] },
  ];
  it("--models V28: risk and payment scores, no Rx risk score", () => {
    for (const year of [2024, 2026, 2027]) {
      const v28only = loadEngine({ paymentYear: year, models: ["V28"] }).scoreMembers(members);
      for (const r of v28only) expect(r.rx_risk_score).toBeNull();
      if (year >= 2026) for (const r of v28only) expect(r.risk_score).toBeGreaterThan(0);
    }
  });
  it("--models RX08: an Rx risk score, no Part C risk or payment score", () => {
    const rxOnly = loadEngine({ paymentYear: 2026, models: ["RX08"] }).scoreMembers(members);
    for (const r of rxOnly) {
      expect(r.risk_score).toBeNull();
      expect(r.payment_score).toBeNull();
      expect(r.rx_risk_score).toBeGreaterThan(0);
    }
  });
  it("default models: both, equal to scoring each model set on its own", () => {
    const all = loadEngine({ paymentYear: 2026 }).scoreMembers(members);
    const c = loadEngine({ paymentYear: 2026, models: ["V28"] }).scoreMembers(members);
    const d = loadEngine({ paymentYear: 2026, models: ["RX08"] }).scoreMembers(members);
    all.forEach((r, i) => {
      expect(r.risk_score).toBe(c[i]?.risk_score);
      expect(r.rx_risk_score).toBe(d[i]?.rx_risk_score);
    });
  });
});

describe("bad input is a row, not a crash", () => {
  it("missing age or sex, or invalid values, give an error row with null scores", () => {
    const rows = v28.scoreMembers([
      { member_id: "a", sex: "F" },
      { member_id: "b", age: 70 },
      { member_id: "c", age: 70, sex: "X" },
      { member_id: "d", birth_date: "1950-13-45", sex: "F" },
      { member_id: "e", age: 70, sex: "F", orec: "9" },
      { member_id: "f", age: 70, sex: "F", diagnosis_codes: ["E11.9"] },
    ]);
    expect(rows.map((r) => r.member_id)).toEqual(["a", "b", "c", "d", "e", "f"]);
    expect(rows.slice(0, 5).every((r) => r.error !== null && r.risk_score === null && r.v28_raw_score === null)).toBe(true);
    expect(rows[4]?.error).toMatch(/orec/);
    expect(rows[5]?.error).toBeNull();
    expect(rows[5]?.orec_default).toBe(true);
  });
  it("an unknown model or payment year is a usage error", () => {
    expect(() => loadEngine({ paymentYear: 2019 })).toThrow(/payment year 2019/);
    expect(() => loadEngine({ paymentYear: 2024, models: ["RX08"] })).toThrow(/RX08 is not available/);
  });
});

describe("generated and data files are current", () => {
  it("src/engine/layout.ts matches assembly/layout.ts", () => {
    expect(() => execFileSync("node", ["scripts/gen-layout.mjs", "--check"], { stdio: "pipe" })).not.toThrow();
  });
  it("hierarchies are in the published order of cms-algorithm.md §13.2 (ascending parents)", () => {
    for (const [year, model, first] of [
      [2026, "V28", "17\t18,19,20,21,22,23"],
      [2025, "V24", "8\t9,10,11,12"],
      [2026, "RX08", "15\t17,18,19,20,21,22"],
    ] as const) {
      const rows = readFileSync(new URL(`../../data/py${year}/${model}/hierarchy.tsv`, import.meta.url), "utf8")
        .split("\n")
        .slice(1)
        .filter(Boolean);
      expect(rows[0]).toBe(first);
      const parents = rows.map((r) => Number(r.split("\t")[0]));
      expect(parents).toEqual([...parents].sort((a, b) => a - b));
    }
    const v28 = readFileSync(new URL("../../data/py2026/V28/hierarchy.tsv", import.meta.url), "utf8");
    expect(v28).toContain("62\t63,64,65,68\n63\t64,65,68,202\n");
    expect(v28).toContain("192\t180,181,182,253,254\n");
    expect(v28).toContain("222\t223,224,225,226,227\n");
  });
});
