// The payment year's score assembly (cms-algorithm.md §9) re-stated in TypeScript so that raw
// scores of one payment year can be normalized with another year's factors — a combination the
// kernel never computes. Same steps and float operations as the kernel's blend (assembly/blend.ts):
// normalized = round3(raw / NF), risk = round3(Σ w · normalized) in component order,
// payment = round3(risk · (1 − MACI)), rounding through the kernel's own roundScore. Tests hold it
// equal to the kernel's payment score whenever both come from the same year.
import * as L from "../engine/layout.js";
import { compileWhen, type Clause } from "../engine/clauses.js";
import { Engine, type OutputRecord } from "../engine/engine.js";
import type { NfRule, PaymentYearTables, PopulationSpec } from "../engine/tables.js";
import { InternalError, UsageError } from "../errors.js";

/** One side's scoring: the engine of a payment year and the year's Part C populations it was built from. */
export interface AttributionYear {
  paymentYear: number;
  engine: Engine;
  /** Part C populations (data/parameters.json), in first-match order, with compiled `when` clauses. */
  populations: readonly { spec: PopulationSpec; clauses: readonly Clause[] }[];
  /** The year's default MA coding pattern adjustment (a population may override it). */
  maci: number;
  round: boolean;
}

/**
 * Population `when` values the kernel takes from the input record as they are (layout.ts V_* →
 * IN_*). The others (age, dual class, Medicaid, DISABL, ORIGDS, counts) are derived inside the
 * kernel; a population selecting on one of them cannot be evaluated here and fails loudly.
 */
const INPUT_VALUES: ReadonlyMap<number, number> = new Map([
  [L.V_SEX, L.IN_SEX],
  [L.V_LTI, L.IN_LTI],
  [L.V_NE, L.IN_NE],
  [L.V_SNP, L.IN_SNP],
  [L.V_LOW_INCOME, L.IN_LOW_INCOME],
  [L.V_ESRD, L.IN_ESRD],
  [L.V_PACE, L.IN_PACE],
]);

/** An AttributionYear from an engine and the tables its pack was built from (same year and data). */
export function buildAttributionYear(engine: Engine, tables: PaymentYearTables): AttributionYear {
  const m = engine.meta;
  if (m.paymentYear !== tables.paymentYear || m.dataVersion !== tables.dataVersion || m.coefficientSet !== tables.coefficientSet)
    throw new InternalError(`engine PY${m.paymentYear} was not built from the PY${tables.paymentYear} tables given`);
  if (engine.modelMask !== 0)
    throw new UsageError("change attribution scores the models the payment year uses; do not choose models");
  const populations = tables.populations
    .filter((p) => p.part === "C")
    .map((spec) => {
      const clauses = compileWhen(spec.when, `population ${spec.name}`);
      for (const [v] of clauses) {
        if (!INPUT_VALUES.has(v & 0xff))
          throw new UsageError(
            `PY${tables.paymentYear} population ${spec.name} selects on a derived value; attribution cannot evaluate it`,
          );
      }
      return { spec, clauses };
    });
  return { paymentYear: m.paymentYear, engine, populations, maci: tables.maci, round: (engine.options & L.OPT_ROUND3) !== 0 };
}

/** The first Part C population of `year` whose `when` holds for member `i` of the encoded attrs (assembly/clauses.ts semantics). */
export function selectPopulation(year: AttributionYear, attrs: Int32Array, i: number): PopulationSpec | undefined {
  const base = i * L.NIN;
  for (const p of year.populations) {
    const holds = p.clauses.every(([w, lo, hi]) => {
      const v = attrs[base + (INPUT_VALUES.get(w & 0xff) ?? 0)] ?? 0;
      const inside = v >= lo && v <= hi;
      return inside !== ((w & 0x100) !== 0);
    });
    if (holds) return p.spec;
  }
  return undefined;
}

/** Whether an NF rule covers a segment (the pack builder's segment masks, by segment id). */
function ruleCovers(r: NfRule, segmentId: string): boolean {
  if (r.segments) return r.segments.includes(segmentId.includes("/") ? segmentId.slice(segmentId.indexOf("/") + 1) : segmentId);
  if (r.segmentsPrefix) return segmentId.startsWith(r.segmentsPrefix);
  return true;
}

/** NF of `model` for a member in segment `segmentId` under population `pop`, or null when it has none. */
function normalizationFactor(pop: PopulationSpec | undefined, model: string, segmentId: string): number | null {
  const comp = pop?.components.find((c) => c.model === model);
  return comp?.nf.find((r) => ruleCovers(r, segmentId))?.value ?? null;
}

/** A member's raw score and segment id under one model (null when it has none). */
export type ModelScore = (modelId: string) => { rawScore: number | null; segment: string | null };

/** ModelScore from an output record's `<model>_raw_score` / `<model>_segment` columns. */
export function modelScoresOf(rec: OutputRecord): ModelScore {
  return (id) => {
    const p = Engine.columnPrefix(id);
    const raw = rec[`${p}_raw_score`];
    const seg = rec[`${p}_segment`];
    return { rawScore: typeof raw === "number" ? raw : null, segment: typeof seg === "string" ? seg : null };
  };
}

/**
 * Payment score of member `i` of the encoded `attrs` from its raw scores and segments under
 * `structure`'s engine, with `structure`'s population, models and weights, normalized with
 * `nfYear`'s factors and MACI. Where `nfYear` has no factor for a component's model and segment
 * (the model is not in its population, or the value is unpublished), the structure year's own
 * factor is used, and failing that `lastResort`'s (the other year of the pair, for the mixed
 * scorings only: docs/attribution.md "Missing factors"). Null when the member cannot be blended.
 */
export function blendPaymentScore(
  scores: ModelScore,
  attrs: Int32Array,
  i: number,
  structure: AttributionYear,
  nfYear: AttributionYear,
  lastResort?: AttributionYear,
): number | null {
  const pop = selectPopulation(structure, attrs, i);
  if (!pop) return null;
  const nfPop = nfYear === structure ? pop : selectPopulation(nfYear, attrs, i);
  const lastPop = lastResort && lastResort !== structure ? selectPopulation(lastResort, attrs, i) : undefined;
  const r3 = (x: number): number => (structure.round ? structure.engine.kernel.roundScore(x) : x);
  let risk = 0;
  for (const c of pop.components) {
    const { rawScore, segment } = scores(c.model);
    if (rawScore === null || segment === null) return null;
    const nf =
      normalizationFactor(nfPop, c.model, segment) ??
      normalizationFactor(pop, c.model, segment) ??
      normalizationFactor(lastPop, c.model, segment);
    if (nf === null) return null;
    risk += c.weight * r3(rawScore / nf);
  }
  risk = r3(risk);
  const maci = nfPop ? (nfPop.maci ?? nfYear.maci) : (pop.maci ?? structure.maci);
  return r3(risk * (1 - maci));
}
