// Gap values are exact: every what-if the kernel computes in one pass equals the difference of
// two full scorings of the member, with and without the diagnoses behind the HCC, for random
// members under every payment year's models (docs/gap-values.md).
import { describe, expect, it } from "vitest";
import { loadEngine } from "../../src/load.js";
import { loadPaymentYear } from "../../src/data/load.js";
import type { MemberInput } from "../../src/engine/member.js";
import type { OutputRecord } from "../../src/engine/engine.js";
import type { GapCandidate } from "../../src/engine/gaps.js";
import { mulberry32 } from "../differential/generate-members.js";

/**
 * Codes that map to exactly one CC in every model of the year that maps them, with no edit rule
 * in any model: adding such a code to a member adds exactly that CC, so "score with the code"
 * is the independent reference for "add the HCC".
 */
function pureCodes(year: number): { codes: string[]; ccOf: Map<string, Map<string, number>> } {
  const tables = loadPaymentYear(year);
  const ccOf = new Map<string, Map<string, number>>(); // code → model → CC
  const multi = new Set<string>();
  const edited = new Set<string>();
  for (const m of tables.models) {
    for (const rule of m.edits.rules ?? []) for (const c of rule.codes) edited.add(c);
    const seen = new Map<string, number>();
    for (const [code, cc] of m.crosswalk) {
      if (seen.has(code) && seen.get(code) !== cc) multi.add(code);
      seen.set(code, cc);
    }
    for (const [code, cc] of seen) {
      if (!ccOf.has(code)) ccOf.set(code, new Map());
      ccOf.get(code)!.set(m.id, cc);
    }
  }
  const codes = [...ccOf.keys()].filter((c) => !multi.has(c) && !edited.has(c)).sort();
  return { codes, ccOf };
}

function members(n: number, seed: number, codes: readonly string[]): MemberInput[] {
  const r = mulberry32(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)] as T;
  return Array.from({ length: n }, (_, i) => ({
    member_id: `P${i}`,
    age: 20 + Math.floor(r() * 80),
    sex: r() < 0.5 ? "M" : "F",
    orec: pick(["0", "1", "2", "3"]),
    dual_elgbl_cd: pick(["00", "01", "02", "04", "08", null]),
    lti: r() < 0.05,
    new_enrollee: r() < 0.03,
    esrd_status: pick(["none", "none", "none", "none", "dialysis", "graft", "transplant"]),
    graft_months: Math.floor(r() * 40),
    rx_plan: pick(["mapd", "pdp"]),
    diagnosis_codes: Array.from({ length: Math.floor(r() * 14) }, () => pick(codes)),
  }));
}

const num = (x: unknown): number | null => (typeof x === "number" ? x : null);
const diff = (a: unknown, b: unknown): number | null => {
  const x = num(a);
  const y = num(b);
  return x === null || y === null ? null : x - y;
};
const close = (got: number | null, want: number | null, digits: number): void => {
  if (want === null) expect(got).toBeNull();
  else expect(got).toBeCloseTo(want, digits);
};

describe.each([2024, 2025, 2026, 2027])("gap values PY%i", (year) => {
  const engine = loadEngine({ paymentYear: year });
  const { codes, ccOf } = pureCodes(year);
  const models = engine.scoredModels.map((i) => engine.meta.models[i]!);
  const ms = members(400, year * 7 + 1, codes);
  const r = mulberry32(year);
  const prefix = (id: string): string => id.toLowerCase();
  // Part C or D score of the population that blends the model
  const partOf = new Map<string, "C" | "D">();
  for (const p of engine.meta.populations) for (const m of p.models) partOf.set(engine.meta.models[m]!.id, p.part);
  const riskOf = (rec: OutputRecord, model: string): unknown => (partOf.get(model) === "D" ? rec.rx_risk_score : rec.risk_score);

  it("adding a candidate: each model's delta equals scoring the member with a code of that HCC", () => {
    // a pure code per member; candidates = its CC in every scored model (add each, and all together)
    const added = ms.map(() => codes[Math.floor(r() * codes.length)]!);
    const cands: GapCandidate[][] = added.map((c) =>
      models.flatMap((m) => {
        const cc = ccOf.get(c)?.get(m.id);
        return cc === undefined ? [] : [{ model: m.id, hcc: cc }];
      }),
    );
    const { records, gaps } = engine.valueGaps(ms, cands, { add: true, remove: false, all: true });
    const withCode = engine.scoreMembers(
      ms.map((m, i) => ({ ...m, diagnosis_codes: [...(m.diagnosis_codes ?? []), added[i]!] })),
    );
    let checked = 0;
    let allChecked = 0;
    for (const g of gaps) {
      const base = records[g.member]!;
      const after = withCode[g.member]!;
      if (base.error !== null) {
        expect(g.status).toBe("member_error");
        continue;
      }
      const p = prefix(g.model);
      if (g.action === "add") {
        if (base[`${p}_segment`] === null) {
          expect(g.status).toBe("not_scored");
          continue;
        }
        close(g.delta_raw_score, diff(after[`${p}_raw_score`], base[`${p}_raw_score`]), 9);
        close(g.delta_normalized_score, diff(after[`${p}_normalized_score`], base[`${p}_normalized_score`]), 9);
        checked++;
      } else if (g.action === "add_all") {
        // every model's candidate at once = the code added: the blended scores move exactly as scored
        close(g.delta_risk_score, diff(riskOf(after, g.model), riskOf(base, g.model)), 9);
        if (partOf.get(g.model) === "C") close(g.delta_payment_score, diff(after.payment_score, base.payment_score), 9);
        allChecked++;
      }
    }
    expect(checked).toBeGreaterThan(200);
    expect(allChecked).toBeGreaterThan(200);
  });

  it("removing a kept HCC: each model's delta equals scoring without the codes behind it", () => {
    const { records, gaps } = engine.valueGaps(
      ms,
      ms.map(() => []),
      { add: false, remove: true, all: false },
    );
    let checked = 0;
    let blendChecked = 0;
    for (const g of gaps) {
      expect(g.action).toBe("remove");
      const m = ms[g.member]!;
      const hcc = Number(/\d+$/.exec(g.hcc ?? "")?.[0]);
      const kept = (m.diagnosis_codes ?? []).filter((c) => ccOf.get(c!)?.get(g.model) !== hcc);
      const [after] = engine.scoreMembers([{ ...m, diagnosis_codes: kept }]);
      const base = records[g.member]!;
      const p = prefix(g.model);
      close(g.delta_raw_score, diff(after![`${p}_raw_score`], base[`${p}_raw_score`]), 9);
      close(g.delta_normalized_score, diff(after![`${p}_normalized_score`], base[`${p}_normalized_score`]), 9);
      // the removed codes may map in the year's other models too; where no other model's score
      // moved, the blended scores must move exactly as scored
      const othersSame = models.every(
        (o) => o.id === g.model || after![`${prefix(o.id)}_raw_score`] === base[`${prefix(o.id)}_raw_score`],
      );
      if (othersSame) {
        close(g.delta_risk_score, diff(riskOf(after!, g.model), riskOf(base, g.model)), 9);
        if (partOf.get(g.model) === "C") close(g.delta_payment_score, diff(after!.payment_score, base.payment_score), 9);
        blendChecked++;
      }
      checked++;
    }
    expect(checked).toBeGreaterThan(300);
    expect(blendChecked).toBeGreaterThan(100);
  });
});
