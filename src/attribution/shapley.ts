// Exact Shapley values of a small cooperative game (docs/attribution.md). Players are the factor
// groups a member's two scorings differ in; v(S) is the payment score with the groups in S taken
// from side B and the rest from side A. Pure arithmetic, no engine.

/** Largest number of players: the five factor groups. */
export const MAX_PLAYERS = 5;

const factorial = (n: number): number => (n <= 1 ? 1 : n * factorial(n - 1));

/** Shapley weights |S|!(k−|S|−1)!/k! for k players, indexed by coalition size |S| (0 … k−1). */
export function buildShapleyWeights(k: number): Float64Array {
  const w = new Float64Array(Math.max(k, 1));
  for (let s = 0; s < k; s++) w[s] = (factorial(s) * factorial(k - s - 1)) / factorial(k);
  return w;
}

const WEIGHTS = Array.from({ length: MAX_PLAYERS + 1 }, (_, k) => buildShapleyWeights(k));

function popcount(x: number): number {
  let c = 0;
  for (let y = x; y !== 0; y &= y - 1) c++;
  return c;
}

/**
 * φ_g = Σ_{S ⊆ N∖{g}} |S|!(k−|S|−1)!/k! · (v(S ∪ {g}) − v(S)) for each player g < k, where
 * `values[mask]` is v of the coalition whose bit g is set for each player g in it (2^k values).
 * The parts sum to v(N) − v(∅) up to floating-point rounding (efficiency); a player whose
 * presence never changes v gets exactly 0 (null player).
 */
export function computeShapley(values: ArrayLike<number>, k: number): number[] {
  if (k < 0 || k > MAX_PLAYERS) throw new RangeError(`Shapley values for ${k} players: at most ${MAX_PLAYERS}`);
  if (values.length !== 1 << k) throw new RangeError(`Shapley values for ${k} players need ${1 << k} values`);
  const w = WEIGHTS[k] ?? buildShapleyWeights(k);
  const full = (1 << k) - 1;
  const phi: number[] = [];
  for (let g = 0; g < k; g++) {
    const bit = 1 << g;
    let sum = 0;
    for (let s = 0; s <= full; s++) {
      if ((s & bit) !== 0) continue;
      const d = (values[s | bit] ?? NaN) - (values[s] ?? NaN);
      if (d !== 0) sum += (w[popcount(s)] ?? NaN) * d;
    }
    phi.push(sum);
  }
  return phi;
}
