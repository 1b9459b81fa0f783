// What-if gap values (docs/gap-values.md). After a member's base scoring, the steps after
// dx → CC (score.ts scoreSet: pre-hierarchy rules, hierarchies, interactions, counts, segment,
// coefficients) run again on the member's CC set with one candidate HCC added, one kept HCC
// removed, or every candidate added, and the payment year's blend (blend.ts blendAt) runs with
// that model's result substituted. Each what-if is a full scoring of the edited CC set; its
// difference from the base record is the exact marginal value.
import {
  D_GAPS, D_GAP_OFFSETS, D_GAP_OUT_I32, D_GAP_OUT_F64, D_GAP_CAP, D_GAP_POOL, D_GAP_POOL_CAP,
  GAP_IN_STRIDE, GK_BASE, GK_ADD, GK_REMOVE, GK_ADD_ALL, GAP_I_MEMBER, GAP_I_KIND, GAP_I_MODEL,
  GAP_I_HCC, GAP_I_DIFF_START, GAP_I_DIFF_COUNT, GAP_I_VARS_START, GAP_I_VARS_COUNT, GAP_I_STRIDE,
  GAP_F_RAW, GAP_F_NORMALIZED, GAP_F_RISK, GAP_F_PAYMENT, GAP_F_STRIDE, OPT_GAP_ADD, OPT_GAP_REMOVE,
  OPT_GAP_ALL, V_COUNT, MB_CC_NUM, MB_N_CC, MB_N_VARS,
} from "./layout";
import * as S from "./score";
import { blendAt, populationModels } from "./blend";
import { word, tableAt, modelBlock } from "./pack";
import { reserveBytes } from "./memory";

let maxCc: i32 = 0;
let maxTerms: i32 = 0;
let nm: i32 = 0;
// per model: the member's CC set before hierarchies, its kept HCCs (local indices) and the term
// variables that matched, saved by saveModel as each model is scored
let savedSet: usize = 0;
let savedSetLen: usize = 0;
let savedKept: usize = 0;
let savedKeptLen: usize = 0;
let savedVars: usize = 0;
let savedVarsLen: usize = 0;
// the blend's per-model inputs for the member (raw, normalized; segment), edited per what-if
let altF: usize = 0;
let altI: usize = 0;
let allRecord: usize = 0; // i32[nModels]: the add-all record of each model, or -1
let allF: usize = 0; // per model: the add-all raw score and segment
let allI: usize = 0;
let varFlags: usize = 0; // u8[max variables]
let hccNumOut: usize = 0;
let paymentSlot: usize = 0;

// batch state
let cands: usize = 0;
let candOffsets: usize = 0;
let outI: usize = 0;
let outF: usize = 0;
let cap: i32 = 0;
let pool: usize = 0;
let poolCap: i32 = 0;
export let gapLen: i32 = 0;
export let gapPoolLen: i32 = 0;

/** Reserve the scratch (at pack install; sizes from the pack). */
export function initGaps(nModels: i32, maxCcCount: i32, maxTermCount: i32): void {
  nm = nModels;
  maxCc = maxCcCount;
  maxTerms = maxTermCount;
  savedSet = reserveBytes(nModels * maxCc * 4);
  savedSetLen = reserveBytes(nModels * 4);
  savedKept = reserveBytes(nModels * maxCc * 4);
  savedKeptLen = reserveBytes(nModels * 4);
  savedVars = reserveBytes(nModels * maxTerms * 4 + 4);
  savedVarsLen = reserveBytes(nModels * 4);
  altF = reserveBytes(nModels * 16);
  altI = reserveBytes(nModels * 12);
  allRecord = reserveBytes(nModels * 4);
  allF = reserveBytes(nModels * 8);
  allI = reserveBytes(nModels * 4);
  let maxVars = 0;
  for (let m = 0; m < nModels; m++) maxVars = max(maxVars, word(modelBlock(m), MB_N_VARS));
  varFlags = reserveBytes(maxVars + 8);
  memory.fill(varFlags, 0, <usize>(maxVars + 8));
  hccNumOut = reserveBytes(maxCc * 4 + 4);
  paymentSlot = reserveBytes(8);
}

export function beginGaps(desc: usize): void {
  cands = <usize>load<i32>(desc + (<usize>D_GAPS << 2));
  candOffsets = <usize>load<i32>(desc + (<usize>D_GAP_OFFSETS << 2));
  outI = <usize>load<i32>(desc + (<usize>D_GAP_OUT_I32 << 2));
  outF = <usize>load<i32>(desc + (<usize>D_GAP_OUT_F64 << 2));
  cap = load<i32>(desc + (<usize>D_GAP_CAP << 2));
  pool = <usize>load<i32>(desc + (<usize>D_GAP_POOL << 2));
  poolCap = load<i32>(desc + (<usize>D_GAP_POOL_CAP << 2));
  gapLen = 0;
  gapPoolLen = 0;
}

/** Keep model m's sets for the member just scored (score.ts state after scoreModel). */
export function saveModel(m: i32, vals: usize): void {
  const n = S.lastNSet;
  memory.copy(savedSet + <usize>(m * maxCc * 4), S.setList, <usize>(n * 4));
  store<i32>(savedSetLen + (<usize>m << 2), n);
  const k = load<i32>(vals + (<usize>V_COUNT << 2));
  memory.copy(savedKept + <usize>(m * maxCc * 4), S.keptLocal, <usize>(k * 4));
  store<i32>(savedKeptLen + (<usize>m << 2), k);
  const v = S.lastSegment >= 0 ? S.lastNVars : 0;
  memory.copy(savedVars + <usize>(m * maxTerms * 4), S.firedVars, <usize>(v * 4));
  store<i32>(savedVarsLen + (<usize>m << 2), v);
}

@inline
function popOf(m: i32, popC: i32, popD: i32): i32 {
  if ((populationModels(popC) & (1 << m)) != 0) return popC;
  if ((populationModels(popD) & (1 << m)) != 0) return popD;
  return -1;
}

/**
 * Start an edited CC set for model m: the saved set, minus local CC `drop` (-1: none), with
 * flags set (score.ts scoreSet's contract). Returns its length.
 */
function loadSet(m: i32, drop: i32): i32 {
  const src = savedSet + <usize>(m * maxCc * 4);
  const n = load<i32>(savedSetLen + (<usize>m << 2));
  let k = 0;
  for (let j = 0; j < n; j++) {
    const cc = load<i32>(src + (<usize>j << 2));
    if (cc == drop) continue;
    store<i32>(S.setList + (<usize>k << 2), cc);
    store<u8>(S.ccFlags + <usize>cc, 1);
    k++;
  }
  return k;
}

@inline
function addCc(cc: i32, k: i32): i32 {
  if (load<u8>(S.ccFlags + <usize>cc) != 0) return k;
  store<u8>(S.ccFlags + <usize>cc, 1);
  store<i32>(S.setList + (<usize>k << 2), cc);
  return k + 1;
}

/**
 * Append one record; the HCC and variable differences from model m's base go to the pool
 * (`edited`: the record follows a scoreSet call whose results are in score.ts state). False
 * when the output is full (the host grows it and scores the batch again).
 */
function record(i: i32, kind: i32, m: i32, hcc: i32, raw: f64, norm: f64, risk: f64, pay: f64, edited: bool): bool {
  if (gapLen >= cap) return false;
  const ri = outI + <usize>(gapLen * GAP_I_STRIDE * 4);
  const rf = outF + <usize>(gapLen * GAP_F_STRIDE * 8);
  store<i32>(ri + (<usize>GAP_I_MEMBER << 2), i);
  store<i32>(ri + (<usize>GAP_I_KIND << 2), kind);
  store<i32>(ri + (<usize>GAP_I_MODEL << 2), m);
  store<i32>(ri + (<usize>GAP_I_HCC << 2), hcc);
  store<f64>(rf + (<usize>GAP_F_RAW << 3), raw);
  store<f64>(rf + (<usize>GAP_F_NORMALIZED << 3), norm);
  store<f64>(rf + (<usize>GAP_F_RISK << 3), risk);
  store<f64>(rf + (<usize>GAP_F_PAYMENT << 3), pay);
  let ds = gapPoolLen;
  let vs = gapPoolLen;
  if (edited) {
    // kept HCCs: both lists ascending by local index
    const ccNum = tableAt(modelBlock(m), MB_CC_NUM);
    const base = savedKept + <usize>(m * maxCc * 4);
    const nb = load<i32>(savedKeptLen + (<usize>m << 2));
    const na = S.lastKept;
    let a = 0;
    let b = 0;
    while (a < na || b < nb) {
      const ca = a < na ? load<i32>(S.keptLocal + (<usize>a << 2)) : i32.MAX_VALUE;
      const cb = b < nb ? load<i32>(base + (<usize>b << 2)) : i32.MAX_VALUE;
      if (ca == cb) {
        a++;
        b++;
        continue;
      }
      if (gapPoolLen >= poolCap) return false;
      if (ca < cb) {
        store<i32>(pool + (<usize>gapPoolLen << 2), load<i32>(ccNum + (<usize>ca << 2)));
        a++;
      } else {
        store<i32>(pool + (<usize>gapPoolLen << 2), -load<i32>(ccNum + (<usize>cb << 2)));
        b++;
      }
      gapPoolLen++;
    }
    vs = gapPoolLen;
    // term variables: mark the base's, then walk the edited run's
    const bv = savedVars + <usize>(m * maxTerms * 4);
    const nbv = load<i32>(savedVarsLen + (<usize>m << 2));
    const nav = S.lastSegment >= 0 ? S.lastNVars : 0;
    for (let j = 0; j < nbv; j++) store<u8>(varFlags + <usize>load<i32>(bv + (<usize>j << 2)), 1);
    let full = false;
    for (let j = 0; j < nav; j++) {
      const v = load<i32>(S.firedVars + (<usize>j << 2));
      if (load<u8>(varFlags + <usize>v) != 0) store<u8>(varFlags + <usize>v, 0);
      else if (gapPoolLen < poolCap) {
        store<i32>(pool + (<usize>gapPoolLen << 2), v + 1);
        gapPoolLen++;
      } else full = true;
    }
    for (let j = 0; j < nbv; j++) {
      const v = load<i32>(bv + (<usize>j << 2));
      if (load<u8>(varFlags + <usize>v) == 0) continue;
      store<u8>(varFlags + <usize>v, 0);
      if (gapPoolLen < poolCap) {
        store<i32>(pool + (<usize>gapPoolLen << 2), -(v + 1));
        gapPoolLen++;
      } else full = true;
    }
    if (full) return false;
  }
  store<i32>(ri + (<usize>GAP_I_DIFF_START << 2), ds);
  store<i32>(ri + (<usize>GAP_I_DIFF_COUNT << 2), vs - ds);
  store<i32>(ri + (<usize>GAP_I_VARS_START << 2), vs);
  store<i32>(ri + (<usize>GAP_I_VARS_COUNT << 2), gapPoolLen - vs);
  gapLen++;
  return true;
}

/** Blend population `pop` with the member's current alt block; normalized of m to normOut. */
@inline
function blendAlt(pop: i32, m: i32, vals: usize, scored: i32, round: bool): f64 {
  store<f64>(altF + <usize>(m * 16), NaN, 8);
  return blendAt(pop, vals, altF, 16, altI, 12, scored, round, paymentSlot);
}

/**
 * The what-if records of member i (of n in the batch), after its base scoring and blend.
 * Returns 0, -3 when the output is full (the host grows it and scores the batch again), or -4
 * when a candidate's CC index is out of range (a host bug).
 */
export function memberGaps(
  i: i32, n: i32, vals: usize, scored: i32, popC: i32, popD: i32, modelF64: usize, modelI32: usize,
  round: bool, opts: i32,
): i32 {
  const cs = candOffsets != 0 ? load<i32>(candOffsets + (<usize>i << 2)) : 0;
  const ce = candOffsets != 0 ? load<i32>(candOffsets + (<usize>(i + 1) << 2)) : 0;
  const baseCount = load<i32>(vals + (<usize>V_COUNT << 2));
  for (let m = 0; m < nm; m++) {
    store<i32>(allRecord + (<usize>m << 2), -1);
    if ((scored & (1 << m)) == 0) continue;
    store<f64>(altF + <usize>(m * 16), load<f64>(modelF64 + <usize>((m * n + i) * 16)));
    store<i32>(altI + <usize>(m * 12), load<i32>(modelI32 + <usize>((m * n + i) * 12)));
  }
  let anyAll = false;
  for (let m = 0; m < nm; m++) {
    if ((scored & (1 << m)) == 0) continue;
    const baseRaw = load<f64>(altF + <usize>(m * 16));
    const baseSeg = load<i32>(altI + <usize>(m * 12));
    if (baseSeg < 0) continue; // no segment: the model has no score to change
    let nCand = 0;
    if ((opts & (OPT_GAP_ADD | OPT_GAP_ALL)) != 0) {
      for (let c = cs; c < ce; c++) nCand += <i32>(load<i32>(cands + <usize>(c * GAP_IN_STRIDE * 4)) == m);
    }
    const nKept = load<i32>(savedKeptLen + (<usize>m << 2));
    if (nCand == 0 && ((opts & OPT_GAP_REMOVE) == 0 || nKept == 0)) continue;
    const mb = modelBlock(m);
    const nCc = word(mb, MB_N_CC);
    const ccNum = tableAt(mb, MB_CC_NUM);
    const pop = popOf(m, popC, popD);
    const risk = blendAlt(pop, m, vals, scored, round);
    if (!record(i, GK_BASE, m, -1, baseRaw, load<f64>(altF + <usize>(m * 16), 8), risk, load<f64>(paymentSlot), false)) {
      return -3;
    }
    if ((opts & OPT_GAP_ADD) != 0) {
      for (let c = cs; c < ce; c++) {
        const cp = cands + <usize>(c * GAP_IN_STRIDE * 4);
        if (load<i32>(cp) != m) continue;
        const cc = load<i32>(cp, 4);
        if (cc < 0 || cc >= nCc) return -4;
        const k = addCc(cc, loadSet(m, -1));
        if (!whatIf(i, GK_ADD, m, load<i32>(ccNum + (<usize>cc << 2)), k, pop, vals, scored, round)) return -3;
      }
    }
    if ((opts & OPT_GAP_REMOVE) != 0) {
      for (let j = 0; j < nKept; j++) {
        const cc = load<i32>(savedKept + <usize>((m * maxCc + j) * 4));
        const k = loadSet(m, cc);
        if (!whatIf(i, GK_REMOVE, m, load<i32>(ccNum + (<usize>cc << 2)), k, pop, vals, scored, round)) return -3;
      }
    }
    if ((opts & OPT_GAP_ALL) != 0 && nCand > 0) {
      let k = loadSet(m, -1);
      for (let c = cs; c < ce; c++) {
        const cp = cands + <usize>(c * GAP_IN_STRIDE * 4);
        if (load<i32>(cp) != m) continue;
        const cc = load<i32>(cp, 4);
        if (cc < 0 || cc >= nCc) return -4;
        k = addCc(cc, k);
      }
      const raw = S.scoreSet(m, vals, k, hccNumOut);
      const seg = S.lastSegment;
      store<f64>(altF + <usize>(m * 16), raw);
      store<i32>(altI + <usize>(m * 12), seg);
      blendAlt(pop, m, vals, scored, round);
      store<i32>(allRecord + (<usize>m << 2), gapLen);
      // risk and payment once every model's candidates are in (below)
      if (!record(i, GK_ADD_ALL, m, -1, raw, load<f64>(altF + <usize>(m * 16), 8), NaN, NaN, true)) return -3;
      store<f64>(allF + <usize>(m * 8), raw);
      store<i32>(allI + <usize>(m * 4), seg);
      anyAll = true;
    }
    store<f64>(altF + <usize>(m * 16), baseRaw);
    store<i32>(altI + <usize>(m * 12), baseSeg);
  }
  // add-all: every model's candidates at once (a blend can mix models: PY2025 V24 + V28)
  if (anyAll) {
    for (let m = 0; m < nm; m++) {
      if (load<i32>(allRecord + (<usize>m << 2)) < 0) continue;
      store<f64>(altF + <usize>(m * 16), load<f64>(allF + <usize>(m * 8)));
      store<i32>(altI + <usize>(m * 12), load<i32>(allI + <usize>(m * 4)));
    }
    for (let m = 0; m < nm; m++) {
      const r = load<i32>(allRecord + (<usize>m << 2));
      if (r < 0) continue;
      const pop = popOf(m, popC, popD);
      const risk = blendAt(pop, vals, altF, 16, altI, 12, scored, round, paymentSlot);
      const rf = outF + <usize>(r * GAP_F_STRIDE * 8);
      store<f64>(rf + (<usize>GAP_F_RISK << 3), risk);
      store<f64>(rf + (<usize>GAP_F_PAYMENT << 3), load<f64>(paymentSlot));
    }
  }
  store<i32>(vals + (<usize>V_COUNT << 2), baseCount);
  return 0;
}

/** Score model m's edited set (k CCs in score.ts setList) and record it; restores the block. */
function whatIf(i: i32, kind: i32, m: i32, hcc: i32, k: i32, pop: i32, vals: usize, scored: i32, round: bool): bool {
  const baseRaw = load<f64>(altF + <usize>(m * 16));
  const baseSeg = load<i32>(altI + <usize>(m * 12));
  const raw = S.scoreSet(m, vals, k, hccNumOut);
  store<f64>(altF + <usize>(m * 16), raw);
  store<i32>(altI + <usize>(m * 12), S.lastSegment);
  const risk = blendAlt(pop, m, vals, scored, round);
  const ok = record(i, kind, m, hcc, raw, load<f64>(altF + <usize>(m * 16), 8), risk, load<f64>(paymentSlot), true);
  store<f64>(altF + <usize>(m * 16), baseRaw);
  store<i32>(altI + <usize>(m * 12), baseSeg);
  return ok;
}
