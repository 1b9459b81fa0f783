// Property tests: dx order and duplicates do not change results; batch split points do not;
// a batch equals its rows scored one by one. Seeded members from the real crosswalks.
import { describe, expect, it } from "vitest";
import { readFileSync } from "node:fs";
import { loadEngine } from "../../src/load.js";
import type { MemberInput } from "../../src/engine/member.js";
import type { OutputRecord } from "../../src/engine/engine.js";
import { mulberry32 } from "../differential/generate-members.js";

const codes = readFileSync(new URL("../../data/py2026/V28/crosswalk.tsv", import.meta.url), "utf8")
  .split("\n")
  .slice(1)
  .filter((l) => l !== "")
  .map((l) => l.split("\t")[0] ?? "");
const extra = ["D66", "J44.9", "C50.011", "Z95.811", "I10", "e11.9", "K72.11", "Z94.4", "G93.5", "bad!", "ZZZ99"];

function members(n: number, seed: number): MemberInput[] {
  const r = mulberry32(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)] as T;
  return Array.from({ length: n }, (_, i) => ({
    member_id: `P${i}`,
    age: Math.floor(r() * 100),
    sex: r() < 0.5 ? "M" : "F",
    orec: pick(["0", "1", "2", "3"]),
    dual_elgbl_cd: pick(["00", "01", "02", "04", "08", null]),
    lti: r() < 0.05,
    new_enrollee: r() < 0.05,
    snp: r() < 0.05,
    esrd_status: pick(["none", "none", "none", "dialysis", "graft", "transplant"]),
    graft_months: Math.floor(r() * 40),
    rx_plan: pick(["mapd", "pdp"]),
    diagnosis_codes: Array.from({ length: Math.floor(r() * 25) }, () => (r() < 0.1 ? pick(extra) : pick(codes))),
  }));
}

function shuffle<T>(xs: T[], r: () => number): T[] {
  const a = [...xs];
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(r() * (i + 1));
    [a[i], a[j]] = [a[j] as T, a[i] as T];
  }
  return a;
}

const comparable = (rec: OutputRecord): OutputRecord => ({ ...rec, dx_malformed: 0, dx_unmapped: 0, edits_applied: 0 });

describe.each([2024, 2026, 2027])("invariants PY%i", (year) => {
  const engine = loadEngine({ paymentYear: year, rounding: "none" });
  const ms = members(3000, year);

  it("dx order and duplicates do not change scores or HCCs", () => {
    const r = mulberry32(7);
    const permuted = ms.map((m) => {
      const dx = [...(m.diagnosis_codes ?? [])];
      return { ...m, diagnosis_codes: shuffle([...dx, ...dx.filter(() => r() < 0.3)], r) };
    });
    const a = engine.scoreMembers(ms).map(comparable);
    const b = engine.scoreMembers(permuted).map(comparable);
    expect(b).toEqual(a);
  });

  it("batch split points do not change results, and a batch equals its rows one by one", () => {
    const whole = engine.scoreMembers(ms);
    const split: OutputRecord[] = [];
    for (const [s, e] of [
      [0, 1],
      [1, 977],
      [977, 978],
      [978, 3000],
    ] as const)
      split.push(...engine.scoreMembers(ms.slice(s, e)));
    expect(split).toEqual(whole);
    const oneByOne = ms.slice(0, 300).flatMap((m) => engine.scoreMembers([m]));
    expect(oneByOne).toEqual(whole.slice(0, 300));
  });

  it("every member yields exactly one row, in input order", () => {
    const out = engine.scoreMembers(ms);
    expect(out.map((o) => o.member_id)).toEqual(ms.map((m) => m.member_id));
  });
});
