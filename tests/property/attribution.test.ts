// Change attribution (docs/attribution.md): exact Shapley parts over the factor groups sum to the
// total for every member, model and payment-year pair; swapping the sides negates every part;
// identical sides give zeros; hand-checked vectors (one gained diagnosis; a year change only);
// the TypeScript blend equals the kernel's payment score wherever both apply.
import { describe, expect, it } from "vitest";
import { loadAttributionYear } from "../../src/load.js";
import { attributeChanges, GROUPS, type AttributionRow, type MemberPair } from "../../src/attribution/attribute.js";
import { blendPaymentScore, modelScoresOf, type AttributionYear } from "../../src/attribution/payment-blend.js";
import { buildShapleyWeights, computeShapley } from "../../src/attribution/shapley.js";
import { RollupBuilder } from "../../src/attribution/rollup.js";
import { encodeArrowBatch } from "../../src/engine/arrow-encode.js";
import { membersToBatch, type MemberInput } from "../../src/engine/member.js";
import { generateMembers, mulberry32, readCrosswalk, MODEL_IDS, type ModelId } from "../differential/generate-members.js";

const YEARS = [2024, 2025, 2026, 2027] as const;
const years = new Map<number, AttributionYear>(YEARS.map((y) => [y, loadAttributionYear({ paymentYear: y })]));
const year = (y: number): AttributionYear => years.get(y) as AttributionYear;
const PART_C_MODELS = MODEL_IDS.filter((m) => m !== "RX08");
const PACE_MODELS: readonly ModelId[] = ["V22", "ESRD21"];

/** Side A members of a model's generator (PACE for the PACE models) and a perturbed side B. */
function memberPairs(model: ModelId, count: number, seed: number): MemberPair[] {
  const r = mulberry32(seed);
  const codes = [...readCrosswalk(model === "ESRD21" ? "ESRD24" : model).keys()];
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)] as T;
  return generateMembers({ model, count, seed }).map((m, i) => {
    const from: MemberInput = PACE_MODELS.includes(model) ? { ...m, pace: true } : m;
    const to: MemberInput = { ...from, diagnosis_codes: (from.diagnosis_codes ?? []).filter(() => r() < 0.7) };
    const nGain = Math.floor(r() * 4);
    to.diagnosis_codes = [...(to.diagnosis_codes ?? []), ...Array.from({ length: nGain }, () => pick(codes))];
    if (r() < 0.4) to.age = Math.min(Number(from.age ?? 70) + 1, 110);
    if (r() < 0.2) to.dual_elgbl_cd = pick(["00", "02", "01"]);
    if (r() < 0.1) to.lti = !from.lti;
    if (r() < 0.05) to.esrd_status = pick(["none", "dialysis"]);
    return { participantId: `${model}-${i}`, from, to };
  });
}

/** Side B as side A and the other way round. */
const swap = (p: MemberPair): MemberPair => ({ participantId: p.participantId, from: p.to, to: p.from });
const partsOf = (row: AttributionRow): number[] => GROUPS.map((g) => row[g] ?? NaN);

describe("Shapley values", () => {
  it("weights of k players sum to 1 over the coalitions not holding a player", () => {
    for (let k = 1; k <= 5; k++) {
      const w = buildShapleyWeights(k);
      let total = 0;
      for (let s = 0; s < k; s++) total += (w[s] ?? 0) * binomial(k - 1, s);
      expect(total).toBeCloseTo(1, 15);
    }
  });

  it("an additive game gives each player its own effect; a pure interaction is split evenly", () => {
    expect(computeShapley([0, 1, 2, 3], 2)).toEqual([1, 2]);
    expect(computeShapley([0, 0, 0, 6], 2)).toEqual([3, 3]);
    expect(computeShapley([5], 0)).toEqual([]);
    expect(() => computeShapley([0, 1], 2)).toThrow(RangeError);
  });
});

/** PY2025 publishes no ESRD or PACE normalization factors: those members have no payment score there. */
const unpublished = (a: number, b: number, model: ModelId): boolean =>
  (a === 2025 || b === 2025) && model !== "V28" && model !== "V24";

/** Sum and swap checks on every row of PY a → PY b; returns the rows attributed (status ok). */
function checkRows(pairs: MemberPair[], a: number, b: number): AttributionRow[] {
  const rows = attributeChanges(pairs, year(a), year(b));
  const back = attributeChanges(pairs.map(swap), year(b), year(a));
  expect(rows).toHaveLength(pairs.length);
  return rows.filter((row, i) => {
    const rev = back[i] as AttributionRow;
    expect(rev.status).toBe(row.status);
    if (row.status === "error") {
      // PY2025 publishes no ESRD or PACE factors
      expect(row.error).toMatch(/no payment score/);
      expect([a, b]).toContain(2025);
      return false;
    }
    expect(row.status).toBe("ok");
    const parts = partsOf(row);
    const sum = parts.reduce((s, x) => s + x, 0);
    expect(Math.abs(sum - (row.total_change as number))).toBeLessThan(1e-9);
    expect(row.total_change).toBe((row.to_payment_score as number) - (row.from_payment_score as number));
    expect(rev.from_payment_score).toBe(row.to_payment_score);
    // swapped, the codes gained are the codes lost and the other way round
    const mirrored = [rev.demographics, rev.diagnoses_lost, rev.diagnoses_gained, rev.model, rev.normalization];
    mirrored.forEach((x, g) => expect(Math.abs((x as number) + (parts[g] as number))).toBeLessThan(1e-12));
    return true;
  });
}

describe.each(YEARS.flatMap((a) => YEARS.map((b) => [a, b] as const)))("PY%i → PY%i", (a, b) => {
  it.each(PART_C_MODELS)("%s members: parts sum to the total, swapping negates them (gained ↔ lost)", (model) => {
    const pairs = memberPairs(model, 60, a * 7 + b);
    const ok = checkRows(pairs, a, b);
    if (unpublished(a, b, model)) {
      expect(ok.length).toBeLessThan(pairs.length / 4);
      return;
    }
    // a few V28/V24 members turn ESRD on side B, which PY2025 cannot score
    expect(ok.length).toBeGreaterThan(a === 2025 || b === 2025 ? pairs.length * 0.8 : pairs.length - 1);
    if (a === b) for (const row of ok) expect([row.model, row.normalization]).toEqual([0, 0]);
    else expect(ok.some((row) => row.normalization !== 0 && row.demographics !== 0)).toBe(true);
  });
});

const YEAR_CHANGES = YEARS.flatMap((a) => YEARS.filter((b) => b !== a).map((b) => [a, b] as const));
describe.each(YEAR_CHANGES)("PY%i → PY%i, the same records", (a, b) => {
  it.each(PART_C_MODELS)("%s: only model and normalization move, and they sum to the total", (model) => {
    const pairs = memberPairs(model, 60, a * 7 + b).map((p) => ({ ...p, to: p.from }));
    const ok = checkRows(pairs, a, b);
    expect(ok.length).toBe(unpublished(a, b, model) ? 0 : pairs.length);
    for (const row of ok) expect([row.demographics, row.diagnoses_gained, row.diagnoses_lost]).toEqual([0, 0, 0]);
  });
});

describe("hand-checked vectors (cms-algorithm.md §12.1–12.2, member V28-01 / V24-01)", () => {
  const f70 = (codes: string[]): MemberInput => ({ member_id: "x", age: 70, sex: "F", orec: "0", diagnosis_codes: codes });

  it("gaining I50.22 in PY2026: the whole change is 'diagnoses gained' and equals two full scorings' difference", () => {
    const from = f70(["E11.22", "N18.4"]);
    const to = f70(["E11.22", "N18.4", "I50.22"]);
    const [row] = attributeChanges([{ participantId: "V28-01", from, to }], year(2026), year(2026));
    const [sa, sb] = year(2026).engine.scoreMembers([from, to]);
    // F70_74 .395 + HCC37 .166 + HCC327 .514 = 1.075 → 1.007 → 0.948; with I50.22 1.723 → 1.615 → 1.520
    expect(sa?.payment_score).toBeCloseTo(0.948, 12);
    expect(sb?.payment_score).toBeCloseTo(1.52, 12);
    expect(row).toMatchObject({ status: "ok", dominant_cause: "diagnoses_gained", demographics: 0, diagnoses_lost: 0 });
    expect(row?.diagnoses_gained).toBe((sb?.payment_score ?? NaN) - (sa?.payment_score ?? NaN));
    expect(row?.model).toBe(0);
    expect(row?.normalization).toBe(0);
  });

  it("PY2025 → PY2026, same record: split between model and normalization only", () => {
    const m = f70(["E11.22", "I50.22", "N18.4"]);
    const [row] = attributeChanges([{ participantId: "V28-01", from: m, to: m }], year(2025), year(2026));
    // v(∅) = PY2025 blend 1.467, v(model, normalization) = PY2026 1.520;
    // v(model) = V28 1.723 / PY2025's 1.045 → 1.649 × 0.941 → 1.552;
    // v(normalization) = 0.33 × 1.375 (V24 keeps its PY2025 NF: PY2026 has none) + 0.67 × 1.723/1.067 → 1.615 = 1.536 → 1.445
    expect(row?.from_payment_score).toBeCloseTo(1.467, 12);
    expect(row?.to_payment_score).toBeCloseTo(1.52, 12);
    expect(row?.model).toBeCloseTo((1.552 - 1.467 + (1.52 - 1.445)) / 2, 12);
    expect(row?.normalization).toBeCloseTo((1.445 - 1.467 + (1.52 - 1.552)) / 2, 12);
    expect(row).toMatchObject({ demographics: 0, diagnoses_gained: 0, diagnoses_lost: 0, dominant_cause: "model" });
  });

  it("identical sides: every part 0, total 0", () => {
    const pairs = memberPairs("V28", 50, 3).map((p) => ({ ...p, to: { ...(p.from as MemberInput) } }));
    for (const y of YEARS) {
      for (const row of attributeChanges(pairs, year(y), year(y))) {
        if (row.status === "error") continue;
        expect(partsOf(row)).toEqual([0, 0, 0, 0, 0]);
        expect(row.total_change).toBe(0);
        expect(row.dominant_cause).toBe("none");
      }
    }
  });

  it("codes compare as the kernel normalizes them: 'e11.22' and 'E1122' are the same diagnosis", () => {
    const [row] = attributeChanges([{ participantId: "n", from: f70(["e11.22"]), to: f70(["E1122 "]) }], year(2026), year(2026));
    expect(partsOf(row as AttributionRow)).toEqual([0, 0, 0, 0, 0]);
  });
});

describe("missing normalization factors (docs/attribution.md)", () => {
  const m: MemberInput = { member_id: "x", age: 70, sex: "F", orec: "0", diagnosis_codes: ["E11.22", "N18.6"] };
  const dialysis: MemberInput = { ...m, esrd_status: "dialysis" };

  it("a member who starts dialysis between PY2025 and PY2026 is attributed: PY2025's mixed scorings use PY2026's ESRD factor", () => {
    const [row] = attributeChanges([{ participantId: "e", from: m, to: dialysis }], year(2025), year(2026));
    const [back] = attributeChanges([{ participantId: "e", from: dialysis, to: m }], year(2026), year(2025));
    expect(row?.status).toBe("ok");
    const parts = partsOf(row as AttributionRow);
    expect(Math.abs(parts.reduce((s, x) => s + x, 0) - (row?.total_change ?? NaN))).toBeLessThan(1e-9);
    expect(row?.demographics).toBeLessThan(-0.3); // the ESRD dialysis model zeroes the renal HCC
    expect(row?.dominant_cause).toBe("demographics");
    const mirrored = [back?.demographics, back?.diagnoses_lost, back?.diagnoses_gained, back?.model, back?.normalization];
    mirrored.forEach((x, g) => expect(Math.abs((x as number) + (parts[g] as number))).toBeLessThan(1e-12));
  });

  it("a side scored where no factor is published stays an error row, with the reason", () => {
    const [row] = attributeChanges([{ participantId: "e", from: dialysis, to: dialysis }], year(2025), year(2026));
    expect(row).toMatchObject({ status: "error", error: "from: no payment score in PY2025", from_payment_score: null });
    expect(row?.to_payment_score).toBeGreaterThan(0);
  });
});

describe("rollup", () => {
  it("average contributions sum to the average change; members counted by dominant cause and status", () => {
    const pairs = memberPairs("V28", 200, 5);
    pairs.push({ participantId: "new", from: null, to: pairs[0]?.from ?? null });
    const rows = attributeChanges(pairs, year(2025), year(2026));
    const b = new RollupBuilder();
    b.add(rows.slice(0, 50));
    b.add(rows.slice(50));
    const r = b.finish();
    expect(r.members).toBe(201);
    expect(r.added).toBe(1);
    expect(r.attributed + r.errors + r.added + r.removed).toBe(201);
    const sum = GROUPS.reduce((s, g) => s + (r.averageParts[g] ?? NaN), 0);
    expect(Math.abs(sum - (r.averageChange ?? NaN))).toBeLessThan(1e-9);
    expect(Object.values(r.dominantCauses).reduce((s, x) => s + x, 0)).toBe(r.attributed);
  });
});

describe("members on one side, unscorable members", () => {
  it("added and removed members get a row without a decomposition; errors keep their reason", () => {
    const m: MemberInput = { member_id: "x", age: 70, sex: "F", diagnosis_codes: ["E11.9"] };
    const bad: MemberInput = { member_id: "y", age: 70, sex: "Q" };
    const rows = attributeChanges(
      [
        { participantId: "new", from: null, to: m },
        { participantId: "gone", from: m, to: null },
        { participantId: "bad", from: m, to: bad },
      ],
      year(2026),
      year(2027),
    );
    expect(rows.map((r) => r.status)).toEqual(["added", "removed", "error"]);
    expect(rows[0]?.to_payment_score).toBeGreaterThan(0);
    expect(rows[0]?.from_payment_score).toBeNull();
    expect(rows[1]?.from_payment_score).toBeGreaterThan(0);
    expect(rows[1]?.total_change).toBeNull();
    expect(rows[2]?.error).toMatch(/^to: sex/);
    expect(rows[2]?.from_payment_score).toBeGreaterThan(0);
    expect(partsOf(rows[2] as AttributionRow).every(Number.isNaN)).toBe(true);
  });
});

describe("the TypeScript blend equals the kernel's payment score", () => {
  it.each(YEARS)("PY%i, every Part C model's members (round3 and full precision)", (y) => {
    const members = PART_C_MODELS.flatMap((model) => memberPairs(model, 300, y).map((p) => p.from as MemberInput));
    for (const ay of [year(y), loadAttributionYear({ paymentYear: y, rounding: "none" })]) {
      const { batch, errors } = encodeArrowBatch(membersToBatch(members).batch);
      const r = ay.engine.scoreEncoded(batch);
      let compared = 0;
      members.forEach((m, i) => {
        const rec = ay.engine.decodeRecord(r, i, m.member_id, errors[i] ?? null);
        expect(blendPaymentScore(modelScoresOf(rec), batch.attrs, i, ay, ay)).toBe(rec.payment_score);
        if (rec.payment_score !== null) compared++;
      });
      // PY2025 has no published ESRD or PACE factors: those members have no payment score
      expect(compared).toBeGreaterThan(members.length * (y === 2025 ? 0.35 : 0.9));
    }
  });
});

function binomial(n: number, k: number): number {
  let c = 1;
  for (let i = 0; i < k; i++) c = (c * (n - i)) / (i + 1);
  return c;
}
