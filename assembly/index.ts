// Kernel entry points: the only file with exports. Numbers-only ABI; see docs/architecture.md
// ("Kernel ABI") and layout.ts for every buffer layout.
import {
  NIN, NVAL, NDESC, NOUT_F, NOUT_I, TRACE_STRIDE, D_N, D_IN, D_MEMBER_OFFSETS, D_CODE_OFFSETS,
  D_CODE_BYTES, D_MODEL_MASK, D_OPTIONS, D_OUT_MEMBER_F64, D_OUT_MEMBER_I32, D_OUT_MODEL_F64,
  D_OUT_MODEL_I32, D_OUT_HCC, D_OUT_HCC_CAP, D_TRACE, D_TRACE_CAP, D_TRACE_LEN, D_ASOF_DAYS,
  D_SCRATCH, D_OUT_HCC_LEN, OPT_MCE, OPT_ROUND3, OPT_TRACE, OUT_RISK, OUT_PAYMENT, OUT_RX_RISK,
  OUT_ERROR, OUT_FLAGS, OUT_DX_MALFORMED, OUT_DX_UNMAPPED, OUT_EDITS, OUT_AGE, OUT_POP_C, OUT_POP_D, ERR_NONE, OPT_FACTORS,
  FLAG_NO_SEGMENT, FLAG_MODELS_INCOMPLETE, V_COUNT, T_DX, PK_VERSION, OPT_GAP_ADD, OPT_GAP_REMOVE,
  OPT_GAP_ALL, D_GAP_LEN, D_GAP_POOL_LEN,
} from "./layout";
import { writeFactorColumns } from "./factors";
import { writeModelColumns } from "./model-columns";
import { initGaps, beginGaps, saveModel, memberGaps, gapLen, gapPoolLen } from "./gaps";
import { reserveBytes, currentTop, releaseTo } from "./memory";
import { installPack, nModels, hashCap, hashKeys } from "./pack";
import { normalizeKey, findCodeSlot, initByteClasses, CODE_MALFORMED, CODE_UNMAPPED } from "./dx-to-cc";
import { deriveValues, ageAsOf } from "./demographics";
import * as S from "./score";
import { findPopulation, populationModels, allPopulationModels, blend, round3 } from "./blend";
import {
  beginTrace, traceLength, emit, traceOn, setFactors, setMember, traceOverflow, suspendTrace, resumeTrace,
} from "./trace";

export const ABI_NIN: i32 = NIN;
export const ABI_NVAL: i32 = NVAL;
export const ABI_NDESC: i32 = NDESC;
export const ABI_NOUT_F: i32 = NOUT_F;
export const ABI_NOUT_I: i32 = NOUT_I;
export const ABI_TRACE_STRIDE: i32 = TRACE_STRIDE;
export const ABI_PACK_VERSION: i32 = PK_VERSION;

let vals: usize = 0; // i32[NVAL]
let paymentSlot: usize = 0; // f64
let maxCc: i32 = 0;

/** Reserve `bytes` of linear memory (64-byte aligned). */
export function reserve(bytes: i32): usize {
  return reserveBytes(bytes);
}
export function mark(): usize {
  return currentTop();
}
export function release(to: usize): void {
  releaseTo(to);
}

/** Install the model pack already copied to `ptr`; sizes the kernel's scratch. 0 = ok. */
export function setPack(ptr: usize): i32 {
  const rc = installPack(ptr);
  if (rc != 0) return rc;
  maxCc = S.maxCcCount(nModels);
  S.ccFlags = reserveBytes(maxCc + 8);
  memory.fill(S.ccFlags, 0, <usize>(maxCc + 8)); // scoreModel keeps it all zero between calls
  S.setCap = maxCc;
  S.setList = reserveBytes(maxCc * 4);
  S.firedSlot = reserveBytes(4);
  vals = reserveBytes(NVAL * 4);
  paymentSlot = reserveBytes(8);
  initByteClasses(reserveBytes(256));
  const maxTerms = S.maxTermCount(nModels);
  S.firedVars = reserveBytes(maxTerms * 4 + 4);
  S.keptLocal = reserveBytes(maxCc * 4 + 4);
  initGaps(nModels, maxCc, maxTerms);
  return 0;
}

export function packModels(): i32 {
  return nModels;
}

/**
 * The risk_score_factors columns of the batch the last factor-mode scoreBatch scored, from its
 * trace (`desc`: NFDESC i32 words, layout.ts FD_*). 0, or -1 when an output is too small.
 */
export function factorColumns(desc: usize): i32 {
  return writeFactorColumns(desc);
}

/**
 * One model's risk_scores columns of the batch the last scoreBatch scored (`desc`: NMCDESC i32
 * words, layout.ts MC_*). 0, or -1 when the keys do not fit.
 */
export function modelColumns(desc: usize): i32 {
  return writeModelColumns(desc);
}

/** AGEF for a date of birth, as of a date (both days since 1970-01-01); 0 when born later, capped at 131. */
export function computeAge(dobDays: i32, asOfDays: i32): i32 {
  return ageAsOf(dobDays, asOfDays);
}

export function roundScore(x: f64): f64 {
  return round3(x);
}

/**
 * Score a batch. `desc` points at NDESC i32 words (layout.ts D_*). Returns 0; -1 when the HCC
 * output pool is too small (the host sizes it; a broken invariant, not a data problem); -3 when
 * the gap output is full (the host grows it and scores again); -4 for a bad gap candidate.
 */
export function scoreBatch(desc: usize): i32 {
  const n = load<i32>(desc + (<usize>D_N << 2));
  const inBase = <usize>load<i32>(desc + (<usize>D_IN << 2));
  const memberOffsets = <usize>load<i32>(desc + (<usize>D_MEMBER_OFFSETS << 2));
  const codeOffsets = <usize>load<i32>(desc + (<usize>D_CODE_OFFSETS << 2));
  const codeBytes = <usize>load<i32>(desc + (<usize>D_CODE_BYTES << 2));
  const reqMask = load<i32>(desc + (<usize>D_MODEL_MASK << 2));
  const options = load<i32>(desc + (<usize>D_OPTIONS << 2));
  const outF = <usize>load<i32>(desc + (<usize>D_OUT_MEMBER_F64 << 2));
  const outI = <usize>load<i32>(desc + (<usize>D_OUT_MEMBER_I32 << 2));
  const outMF = <usize>load<i32>(desc + (<usize>D_OUT_MODEL_F64 << 2));
  const outMI = <usize>load<i32>(desc + (<usize>D_OUT_MODEL_I32 << 2));
  const hccPool = <usize>load<i32>(desc + (<usize>D_OUT_HCC << 2));
  const hccCap = load<i32>(desc + (<usize>D_OUT_HCC_CAP << 2));
  const asOf = load<i32>(desc + (<usize>D_ASOF_DAYS << 2));
  const hits = <usize>load<i32>(desc + (<usize>D_SCRATCH << 2));
  const mceOn = (options & OPT_MCE) != 0;
  const round = (options & OPT_ROUND3) != 0;
  beginTrace(
    <usize>load<i32>(desc + (<usize>D_TRACE << 2)),
    load<i32>(desc + (<usize>D_TRACE_CAP << 2)),
    (options & OPT_TRACE) != 0,
  );
  setFactors((options & OPT_FACTORS) != 0 && (options & OPT_TRACE) == 0);
  const gapOpts = options & (OPT_GAP_ADD | OPT_GAP_REMOVE | OPT_GAP_ALL);
  if (gapOpts != 0) beginGaps(desc);
  S.setRecordVars(gapOpts != 0);
  let hccLen: i32 = 0;
  let rc: i32 = 0;
  // model blocks the host can read: the requested models, or every population's (default)
  const outMask = reqMask != 0 ? reqMask : allPopulationModels();
  for (let i = 0; i < n; i++) {
    setMember(i);
    const oi = outI + <usize>(i * NOUT_I * 4);
    const oF = outF + <usize>(i * NOUT_F * 8);
    store<i32>(oi + (<usize>OUT_FLAGS << 2), 0);
    store<i32>(oi + (<usize>OUT_AGE << 2), -1);
    const err = deriveValues(
      inBase + <usize>(i * NIN * 4), asOf, vals, oi + (<usize>OUT_FLAGS << 2), oi + (<usize>OUT_AGE << 2),
    );

    let mask = 0;
    let popC = -1;
    let popD = -1;
    if (err == ERR_NONE) {
      popC = findPopulation(0, vals);
      popD = findPopulation(1, vals);
      mask = reqMask != 0 ? reqMask : populationModels(popC) | populationModels(popD);
    }

    // normalize and look up every code once. Codes some scored model maps or edits go to
    // `hits` as (dx index, code id, model bits), in dx order; the others cannot change a score.
    const ms = load<i32>(memberOffsets + (<usize>i << 2));
    const nDx = load<i32>(memberOffsets + (<usize>(i + 1) << 2)) - ms;
    let malformed = 0;
    let unmapped = 0;
    let nHit = 0;
    for (let d = 0; d < nDx; d++) {
      const cs = load<i32>(codeOffsets + (<usize>(ms + d) << 2));
      const ce = load<i32>(codeOffsets + (<usize>(ms + d + 1) << 2));
      const key = normalizeKey(codeBytes + <usize>cs, codeBytes + <usize>ce);
      let id = CODE_MALFORMED;
      let bits = 0;
      if (key != 0) {
        const slot = findCodeSlot(key, hashKeys, hashCap);
        id = slot != 0 ? load<i32>(slot, 8) : CODE_UNMAPPED;
        bits = slot != 0 ? load<i32>(slot, 12) & mask : 0;
        unmapped += <i32>(slot == 0);
      } else malformed++;
      const h = hits + <usize>(nHit * 12);
      store<i32>(h, d);
      store<i32>(h, id, 4);
      store<i32>(h, bits, 8);
      nHit += <i32>(bits != 0);
      if (traceOn) emit(T_DX, d, id, 0, 0);
    }
    store<i32>(oi + (<usize>OUT_DX_MALFORMED << 2), malformed);
    store<i32>(oi + (<usize>OUT_DX_UNMAPPED << 2), unmapped);
    store<i32>(oi + (<usize>OUT_ERROR << 2), err);
    store<i32>(oi + (<usize>OUT_EDITS << 2), 0);

    // per model results go straight to the output blocks (model-major: [m][i], so the host
    // copies out only the models it scores); blend reads them there
    let edits = 0;
    for (let m = 0; m < nModels; m++) {
      if ((outMask & (1 << m)) == 0) continue; // never read: no population uses it, not requested
      const mf = outMF + <usize>((m * n + i) * 16);
      const mi = outMI + <usize>((m * n + i) * 12);
      store<f64>(mf, NaN);
      store<f64>(mf, NaN, 8);
      store<i32>(mi, -1);
      store<i32>(mi, hccLen, 4);
      store<i32>(mi, 0, 8);
      if ((mask & (1 << m)) == 0) continue;
      if (hccLen + maxCc > hccCap) {
        rc = -1;
        break;
      }
      const raw = S.scoreModel(m, vals, hits, nHit, mceOn, hccPool + (<usize>hccLen << 2));
      const count = load<i32>(vals + (<usize>V_COUNT << 2));
      store<f64>(mf, raw);
      store<i32>(mi, S.lastSegment);
      store<i32>(mi, count, 8);
      hccLen += count;
      edits += S.lastEdits;
      if (gapOpts != 0) saveModel(m, vals);
      if (S.lastSegment < 0) {
        const fp = oi + (<usize>OUT_FLAGS << 2);
        store<i32>(fp, load<i32>(fp) | FLAG_NO_SEGMENT);
      }
    }
    if (rc != 0) break;
    store<i32>(oi + (<usize>OUT_EDITS << 2), edits);
    const risk = blend(popC, vals, outMF, outMI, n, i, mask, round, paymentSlot);
    store<f64>(oF + (<usize>OUT_RISK << 3), risk);
    store<f64>(oF + (<usize>OUT_PAYMENT << 3), load<f64>(paymentSlot));
    const rxRisk = blend(popD, vals, outMF, outMI, n, i, mask, round, paymentSlot);
    store<f64>(oF + (<usize>OUT_RX_RISK << 3), rxRisk);
    store<i32>(oi + (<usize>OUT_POP_C << 2), isNaN(risk) ? -1 : popC);
    store<i32>(oi + (<usize>OUT_POP_D << 2), isNaN(rxRisk) ? -1 : popD);
    if (err == ERR_NONE && isNaN(risk) && popC >= 0 && (populationModels(popC) & ~mask) != 0) {
      const fp = oi + (<usize>OUT_FLAGS << 2);
      store<i32>(fp, load<i32>(fp) | FLAG_MODELS_INCOMPLETE);
    }
    if (gapOpts != 0 && err == ERR_NONE) {
      suspendTrace();
      rc = memberGaps(i, n, vals, mask, popC, popD, outMF, outMI, round, gapOpts);
      resumeTrace();
      if (rc != 0) break;
    }
  }
  store<i32>(desc + (<usize>D_GAP_LEN << 2), gapOpts != 0 ? gapLen : 0);
  store<i32>(desc + (<usize>D_GAP_POOL_LEN << 2), gapOpts != 0 ? gapPoolLen : 0);
  store<i32>(desc + (<usize>D_OUT_HCC_LEN << 2), hccLen);
  store<i32>(desc + (<usize>D_TRACE_LEN << 2), traceLength());
  if (rc == 0 && traceOverflow > 0) rc = -2;
  return rc;
}
