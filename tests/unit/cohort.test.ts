// The synthetic cohort generator: deterministic, chunking-independent, and shaped like an MA
// book (bands are loose on purpose: they catch a broken distribution, not a retuned weight).
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import {
  buildCodeWeights,
  formatDays,
  generateCohort,
  type CohortMember,
  type CohortOptions,
} from "../../src/cohort/generate.js";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const CROSSWALK = readFileSync(join(ROOT, "data", "py2026", "V28", "crosswalk.tsv"), "utf8");
const codes = buildCodeWeights(CROSSWALK);

function all(opts: Partial<CohortOptions> = {}): CohortMember[] {
  return [...generateCohort({ members: 5000, seed: 42, paymentYear: 2026, codes, ...opts })].flat();
}

/** Completed years on 1 Feb of the payment year (cms-algorithm.md §1.1, AGEF). */
function ageOnFeb1(birthDate: string, paymentYear: number): number {
  const [y, m, d] = birthDate.split("-").map(Number) as [number, number, number];
  return paymentYear - y - (m > 2 || (m === 2 && d > 1) ? 1 : 0);
}

describe("generateCohort", () => {
  const cohort = all();
  const share = (pred: (m: CohortMember) => boolean): number => cohort.filter(pred).length / cohort.length;

  it("is deterministic for a seed and differs across seeds", () => {
    expect(all()).toEqual(cohort);
    const other = all({ seed: 43 });
    expect(other).toHaveLength(cohort.length);
    expect(other).not.toEqual(cohort);
    const same = other.filter((m, i) => JSON.stringify(m) === JSON.stringify(cohort[i])).length;
    expect(same).toBeLessThan(cohort.length / 100);
  });

  it("yields the requested number of members, with sequential ids", () => {
    expect(cohort).toHaveLength(5000);
    expect(all({ members: 0 })).toHaveLength(0);
    expect(all({ members: 1 })).toHaveLength(1);
    expect(cohort[0]?.member_id).toBe("M000000001");
    expect(cohort[122]?.member_id).toBe("M000000123");
    expect(new Set(cohort.map((m) => m.member_id)).size).toBe(5000);
  });

  it("does not depend on the chunk size", () => {
    const chunks = [...generateCohort({ members: 5000, seed: 42, paymentYear: 2026, codes, chunkSize: 777 })];
    expect(chunks.map((c) => c.length)).toEqual([...Array<number>(6).fill(777), 5000 - 6 * 777]);
    expect(chunks.flat()).toEqual(cohort);
    expect(all({ chunkSize: 1 })).toEqual(cohort);
  });

  it("has about 12 diagnosis codes per member, some none and a long tail", () => {
    const counts = cohort.map((m) => m.diagnosis_codes.length);
    const mean = counts.reduce((a, b) => a + b, 0) / counts.length;
    expect(mean).toBeGreaterThan(10.5);
    expect(mean).toBeLessThan(13.5);
    expect(share((m) => m.diagnosis_codes.length === 0)).toBeGreaterThan(0.02);
    expect(share((m) => m.diagnosis_codes.length === 0)).toBeLessThan(0.1);
    expect(Math.max(...counts)).toBeGreaterThanOrEqual(60);
  });

  it("has an MA-like demographic mix", () => {
    const under65 = share((m) => m.age < 65);
    expect(under65).toBeGreaterThan(0.09);
    expect(under65).toBeLessThan(0.16);
    expect(share((m) => m.age >= 65 && m.age <= 90)).toBeGreaterThan(0.8);
    expect(cohort.some((m) => m.age >= 95)).toBe(true);
    expect(share((m) => m.orec === "1")).toBeGreaterThan(0.1);
    expect(share((m) => m.orec === "1")).toBeLessThan(0.2);
    expect(share((m) => m.orec === "2" || m.orec === "3")).toBeLessThan(0.03);
    const duals = share((m) => m.dual_elgbl_cd !== null && m.dual_elgbl_cd !== "00");
    expect(duals).toBeGreaterThan(0.15);
    expect(duals).toBeLessThan(0.25);
    expect(share((m) => m.lti)).toBeGreaterThan(0.01);
    expect(share((m) => m.lti)).toBeLessThan(0.06);
    expect(share((m) => m.new_enrollee)).toBeGreaterThan(0.02);
    expect(share((m) => m.new_enrollee)).toBeLessThan(0.08);
    expect(share((m) => m.snp)).toBeGreaterThan(0);
    expect(share((m) => m.sex === "F")).toBeGreaterThan(0.5);
  });

  it("gives birth dates consistent with the age on 1 Feb of the payment year", () => {
    for (const paymentYear of [2024, 2026]) {
      for (const m of all({ paymentYear, members: 3000 })) {
        expect(m.birth_date).toMatch(/^\d{4}-\d{2}-\d{2}$/);
        expect(ageOnFeb1(m.birth_date, paymentYear), `${m.member_id} ${m.birth_date}`).toBe(m.age);
      }
    }
  });

  it("lets common chronic codes dominate and includes dotted, lowercase and malformed spellings", () => {
    const freq = new Map<string, number>();
    const spellings = cohort.flatMap((m) => m.diagnosis_codes);
    for (const c of spellings) {
      const k = c.toUpperCase().replace(".", "");
      freq.set(k, (freq.get(k) ?? 0) + 1);
    }
    const top = [...freq]
      .sort((a, b) => b[1] - a[1])
      .slice(0, 40)
      .map(([c]) => c);
    for (const c of ["I10", "E785", "E119"]) expect(top).toContain(c);
    expect(spellings.some((c) => /^[A-Z0-9]{3}\.[A-Z0-9]+$/.test(c))).toBe(true);
    expect(spellings.some((c) => /[a-z]/.test(c))).toBe(true);
    expect(spellings.some((c) => !/^[A-Za-z0-9.]{3,8}$/.test(c))).toBe(true);
    const crosswalk = new Set(
      CROSSWALK.split("\n")
        .slice(1)
        .map((l) => l.split("\t")[0]),
    );
    const mapped = spellings.filter((c) => crosswalk.has(c.toUpperCase().replace(".", ""))).length / spellings.length;
    expect(mapped).toBeGreaterThan(0.1);
    expect(mapped).toBeLessThan(0.5);
  });

  it("rejects bad options", () => {
    expect(() => all({ members: -1 })).toThrow(RangeError);
    expect(() => all({ chunkSize: 0 })).toThrow(RangeError);
    expect(() => all({ codes: [] })).toThrow(RangeError);
    expect(() => all({ codes: [{ code: "I10", weight: 0 }] })).toThrow(RangeError);
  });
});

describe("buildCodeWeights", () => {
  it("covers every crosswalk code once plus the common non-HCC codes, all weights positive", () => {
    const byCode = new Map(codes.map((c) => [c.code, c.weight]));
    expect(byCode.size).toBe(codes.length);
    expect(codes.every((c) => c.weight > 0 && Number.isFinite(c.weight))).toBe(true);
    for (const line of CROSSWALK.split("\n").slice(1)) {
      const code = line.split("\t")[0];
      if (code) expect(byCode.has(code)).toBe(true);
    }
    expect(byCode.has("I10")).toBe(true);
    expect(byCode.get("I10")).toBeGreaterThan(byCode.get("E1122") ?? Infinity);
  });

  it("is pure: the same text gives the same list", () => {
    expect(buildCodeWeights(CROSSWALK)).toEqual(codes);
  });
});

describe("formatDays", () => {
  it("matches Date for every week of 1888–2134", () => {
    for (let d = -30000; d <= 60000; d += 7) {
      expect(formatDays(d)).toBe(new Date(d * 86400000).toISOString().slice(0, 10));
    }
  });
});
