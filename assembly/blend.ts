// CMS step: score assembly by payment year (cms-algorithm.md §9): normalized_m = raw_m / NF_m,
// risk = Σ w_m × normalized_m, payment = risk × (1 − MACI). Which models, weights and NFs apply
// to a member is the payment year's population table (layout.ts PB_*, POP_*, COMP_*, NF_*).
import {
  PB_N_POPS, PB_POPS, PB_COMPS, PB_NF_RULES, PB_CLAUSES, PB_F64, POP_PART, POP_SEL_START,
  POP_SEL_COUNT, POP_COMP_START, POP_COMP_COUNT, POP_MACI_IDX, POP_STRIDE, COMP_MODEL,
  COMP_WEIGHT_IDX, COMP_NF_START, COMP_NF_COUNT, COMP_STRIDE, NF_SEL_START, NF_SEL_COUNT,
  NF_SEG_MASK_LO, NF_SEG_MASK_HI, NF_VALUE_IDX, NF_STRIDE, T_NORMALIZED, T_RISK, T_PAYMENT, PB_DISPATCH,
} from "./layout";
import { word, tableAt, popBlock } from "./pack";
import { clausesHold } from "./clauses";
import { dispatchSlot } from "./dispatch";
import { emit, traceOn } from "./trace";

/** Round half away from zero to 3 decimals, with a 1e-9 fuzz as SAS ROUND has. */
export function round3(x: f64): f64 {
  const r = Math.abs(x) * 1000.0;
  let f = Math.floor(r);
  if (r - f >= 0.5 - 1e-9) f += 1.0;
  return x < 0 ? -f / 1000.0 : f / 1000.0;
}

/**
 * Index of the first population of `part` (0 Part C, 1 Part D) that applies, or -1. The part's
 * dispatch table (when the pack has one) lists the only populations that can apply, in order.
 */
export function findPopulation(part: i32, vals: usize): i32 {
  const n = word(popBlock, PB_N_POPS);
  const pops = tableAt(popBlock, PB_POPS);
  const clauses = tableAt(popBlock, PB_CLAUSES);
  const dispatch = tableAt(popBlock, PB_DISPATCH);
  const recIdx = load<i32>(dispatch + (<usize>part << 2));
  if (recIdx >= 0) {
    const rec = dispatch + (<usize>recIdx << 2);
    const range = dispatchSlot(rec, vals);
    const ce = load<i32>(range, 4);
    for (let c = load<i32>(range); c < ce; c++) {
      const i = load<i32>(rec + (<usize>c << 2));
      const p = pops + <usize>(i * POP_STRIDE * 4);
      if (clausesHold(clauses, word(p, POP_SEL_START), word(p, POP_SEL_COUNT), vals)) return i;
    }
    return -1;
  }
  for (let i = 0; i < n; i++) {
    const p = pops + <usize>(i * POP_STRIDE * 4);
    if (word(p, POP_PART) != part) continue;
    if (clausesHold(clauses, word(p, POP_SEL_START), word(p, POP_SEL_COUNT), vals)) return i;
  }
  return -1;
}

/** Bit mask of the models population `pop` blends. */
/** Models any population of the pack uses (what default scoring can write). */
export function allPopulationModels(): i32 {
  let mask = 0;
  const n = word(popBlock, PB_N_POPS);
  for (let p = 0; p < n; p++) mask |= populationModels(p);
  return mask;
}

export function populationModels(pop: i32): i32 {
  if (pop < 0) return 0;
  const p = tableAt(popBlock, PB_POPS) + <usize>(pop * POP_STRIDE * 4);
  const comps = tableAt(popBlock, PB_COMPS);
  let mask = 0;
  const cs = word(p, POP_COMP_START);
  const ce = cs + word(p, POP_COMP_COUNT);
  for (let c = cs; c < ce; c++) mask |= 1 << word(comps + <usize>(c * COMP_STRIDE * 4), COMP_MODEL);
  return mask;
}

/**
 * Blend population `pop` for member `i` of `n` from the per-model output blocks (layout.ts
 * D_OUT_MODEL_*, model-major): raw score at modelF64 + 16(m·n + i), segment at modelI32 +
 * 12(m·n + i); `scored` is the member's model mask. Writes each component's normalized score 8
 * bytes after its raw score; returns the risk score (NaN when a component model was not scored
 * or has no segment). The payment score goes to paymentOut.
 */
export function blend(
  pop: i32, vals: usize, modelF64: usize, modelI32: usize, n: i32, i: i32, scored: i32, round: bool,
  paymentOut: usize,
): f64 {
  return blendAt(
    pop, vals, modelF64 + <usize>(i * 16), <usize>(n * 16), modelI32 + <usize>(i * 12), <usize>(n * 12), scored, round,
    paymentOut,
  );
}

/**
 * blend over per-model results laid out with a stride: model m's raw score at f64At + m·fStride
 * (its normalized score is written 8 bytes later), its segment at i32At + m·iStride. The batch
 * output blocks (blend) and the what-if block (index.ts gap records) share this arithmetic.
 */
export function blendAt(
  pop: i32, vals: usize, f64At: usize, fStride: usize, i32At: usize, iStride: usize, scored: i32, round: bool,
  paymentOut: usize,
): f64 {
  store<f64>(paymentOut, NaN);
  if (pop < 0) return NaN;
  const p = tableAt(popBlock, PB_POPS) + <usize>(pop * POP_STRIDE * 4);
  const comps = tableAt(popBlock, PB_COMPS);
  const nfRules = tableAt(popBlock, PB_NF_RULES);
  const clauses = tableAt(popBlock, PB_CLAUSES);
  const f64s = tableAt(popBlock, PB_F64);
  let risk: f64 = 0;
  const cs = word(p, POP_COMP_START);
  const ce = cs + word(p, POP_COMP_COUNT);
  for (let c = cs; c < ce; c++) {
    const cp = comps + <usize>(c * COMP_STRIDE * 4);
    const m = word(cp, COMP_MODEL);
    if ((scored & (1 << m)) == 0) return NaN; // not scored for this member: its block is not written
    const r = load<f64>(f64At + <usize>m * fStride);
    const seg = load<i32>(i32At + <usize>m * iStride);
    if (isNaN(r) || seg < 0) return NaN;
    let nf: f64 = NaN;
    const ns = word(cp, COMP_NF_START);
    const ne = ns + word(cp, COMP_NF_COUNT);
    for (let k = ns; k < ne; k++) {
      const np = nfRules + <usize>(k * NF_STRIDE * 4);
      const segBit: u32 = seg < 32 ? (<u32>1 << <u32>seg) : 0;
      const segBitHi: u32 = seg >= 32 ? (<u32>1 << <u32>(seg - 32)) : 0;
      const lo = <u32>word(np, NF_SEG_MASK_LO);
      const hi = <u32>word(np, NF_SEG_MASK_HI);
      if ((lo & segBit) == 0 && (hi & segBitHi) == 0) continue;
      if (!clausesHold(clauses, word(np, NF_SEL_START), word(np, NF_SEL_COUNT), vals)) continue;
      nf = load<f64>(f64s + (<usize>word(np, NF_VALUE_IDX) << 3));
      break;
    }
    if (isNaN(nf)) return NaN;
    let norm = r / nf;
    if (round) norm = round3(norm);
    store<f64>(f64At + <usize>m * fStride, norm, 8);
    if (traceOn) emit(T_NORMALIZED, c, m, pop, norm);
    risk += load<f64>(f64s + (<usize>word(cp, COMP_WEIGHT_IDX) << 3)) * norm;
  }
  if (round) risk = round3(risk);
  const maci = load<f64>(f64s + (<usize>word(p, POP_MACI_IDX) << 3));
  let payment = risk * (1.0 - maci);
  if (round) payment = round3(payment);
  store<f64>(paymentOut, payment);
  if (traceOn) {
    emit(T_RISK, word(p, POP_PART), 0, pop, risk);
    emit(T_PAYMENT, word(p, POP_PART), 0, pop, payment);
  }
  return risk;
}
