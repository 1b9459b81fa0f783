// The Tuva Project's cms_hcc scores for one member, written out from Tuva's definitions
// (docs/dbt.md, "Tuva Project compatibility") independently of the dbt SQL, in exact decimal
// arithmetic: coefficients and NFs in thousandths, weights in hundredths. Per model and Tuva
// factor type, weighted raw = weight × Σ terms; v24/v28/blended = Σ over factor types of
// round(weighted raw, 3); normalized = Σ round(weighted raw / NF, 3); payment =
// Σ round(normalized piece × (1 − MACI), 3). For populations with one NF per model (MA).

export interface FactorRow {
  model: string;
  factor: string;
  factor_type: string;
  coefficient: number;
}

export interface TuvaScores {
  v24_risk_score: number | null;
  v28_risk_score: number | null;
  blended_risk_score: number;
  normalized_risk_score: number;
  payment_risk_score: number;
}

// CMS enrollment interactions the engine scores as demographic terms (dbt var
// hcc_tuva_interaction_variables); Tuva files them under 'Interactions'
const ENROLLMENT_INTERACTIONS = new Set(["OriginallyDisabled_Female", "OriginallyDisabled_Male", "ORIGDS", "LTIMCAID"]);

function tuvaFactorType(f: FactorRow): string {
  if (f.factor_type === "hcc") return "Disease";
  if (f.factor_type === "interaction" || ENROLLMENT_INTERACTIONS.has(f.factor)) return "Interactions";
  if (f.factor_type === "count") return "Payment HCC Counts";
  return "Demographic";
}

function toUnits(x: number, perUnit: number): bigint {
  const n = Math.round(x * perUnit);
  if (Math.abs(x * perUnit - n) > 1e-6) throw new Error(`${x} has more than ${Math.log10(perUnit)} decimals`);
  return BigInt(n);
}

/** n / d rounded half away from zero (d > 0). */
function divRound(n: bigint, d: bigint): bigint {
  const a = n < 0n ? -n : n;
  const q = (2n * a + d) / (2n * d);
  return n < 0n ? -q : q;
}

export function expectedTuvaScores(
  factors: FactorRow[],
  blend: { model: string; weight: number; nf: number }[],
  maci: number,
): TuvaScores {
  const oneMinusMaci = 1000n - toUnits(maci, 1000);
  // weighted raw per factor type and model, in 1e-5 units (thousandths × hundredths)
  const weighted = new Map<string, Map<string, bigint>>();
  let normalized = 0n;
  let payment = 0n;
  for (const { model, weight, nf } of blend) {
    const raw = new Map<string, bigint>();
    for (const f of factors.filter((x) => x.model === model && x.factor_type !== "divisor")) {
      const t = tuvaFactorType(f);
      raw.set(t, (raw.get(t) ?? 0n) + toUnits(f.coefficient, 1000));
    }
    for (const [t, r] of raw) {
      const w = r * toUnits(weight, 100);
      const byModel = weighted.get(t) ?? new Map<string, bigint>();
      weighted.set(t, byModel.set(model, w));
      const piece = divRound(w * 10n, toUnits(nf, 1000)); // thousandths
      normalized += piece;
      payment += divRound(piece * oneMinusMaci, 1000n);
    }
  }
  const modelColumn = (model: string): number | null => {
    if (!blend.some((b) => b.model === model)) return null;
    let sum = 0n;
    for (const byModel of weighted.values()) sum += divRound(byModel.get(model) ?? 0n, 100n);
    return Number(sum) / 1000;
  };
  let blended = 0n;
  for (const byModel of weighted.values())
    blended += divRound(
      [...byModel.values()].reduce((a, b) => a + b, 0n),
      100n,
    );
  return {
    v24_risk_score: modelColumn("V24"),
    v28_risk_score: modelColumn("V28"),
    blended_risk_score: Number(blended) / 1000,
    normalized_risk_score: Number(normalized) / 1000,
    payment_risk_score: Number(payment) / 1000,
  };
}
