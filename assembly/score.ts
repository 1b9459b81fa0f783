// CMS steps for one member under one model: dx → CC with edits (§1.2–1.3), pre-hierarchy rules
// and hierarchies (§1.4), diagnostic groups, interactions and count variables (§3.3–3.4),
// segment selection (§2) and the coefficient sum (§1.6). Every model-specific fact comes from
// the model block (layout.ts MB_*); nothing here names a model.
import {
  MB_N_CC, MB_CC_NUM, MB_CODE_ROWS, MB_CC_LIST, MB_HIER_RULE_OF, MB_EDITS, MB_CLAUSES,
  MB_N_PRE, MB_PRE, MB_INT_POOL, MB_HIER, MB_GROUP_MASK, MB_VARS, MB_N_SEGS, MB_SEGS,
  MB_TERM_VAR, MB_TERM_COEF, MB_TERM_NEXT, MB_DISPATCH, MB_SEG_DISPATCH, MB_TERM_DISPATCH, SEG_SEL_START, SEG_SEL_COUNT, SEG_USES_HCCS, SEG_HCC_COEF,
  SEG_TERM_START, SEG_TERM_COUNT, SEG_DIV_START, SEG_DIV_COUNT, SEG_STRIDE, V_COUNT,
  T_DX_CC, T_EDIT, T_SEGMENT, T_HCC_TERM, T_HCC_UNSCORED, T_VAR_TERM, T_DIVISOR, T_RAW,
} from "./layout";
import { word, tableAt, modelBlock } from "./pack";
import { clausesHold } from "./clauses";
import { dispatchSlot } from "./dispatch";
import { applyEdits, EDIT_NONE, EDIT_INVALID } from "./edits";
import { applyPreHierarchy, applyHierarchySorted } from "./hierarchy";
import { emit, traceOn, factorsOn, currentMember } from "./trace";

// Scratch owned by the kernel, reserved by index.ts at pack install (sized to the pack).
export let ccFlags: usize = 0; // u8[maxCC]
export let setList: usize = 0; // i32[maxSet]
export let setCap: i32 = 0;
export let firedSlot: usize = 0; // i32

// Results of the last scoreModel call.
export let lastSegment: i32 = -1;
export let lastEdits: i32 = 0;
export let lastNSet: i32 = 0; // CCs in setList (sorted) before hierarchies
// What-if support (index.ts gap records): kept HCCs as local CC indices, and the term
// variables that matched (only while recordVars is on).
export let keptLocal: usize = 0; // i32[maxCC]
export let firedVars: usize = 0; // i32[maxTerms]
export let recordVars: bool = false;
export let lastNVars: i32 = 0;
export let lastKept: i32 = 0;

export function setRecordVars(on: bool): void {
  recordVars = on;
}

@inline
function setCc(cc: i32, nSet: i32): i32 {
  if (load<u8>(ccFlags + <usize>cc) == 0) {
    store<u8>(ccFlags + <usize>cc, 1);
    if (nSet < setCap) {
      store<i32>(setList + (<usize>nSet << 2), cc);
      return nSet + 1;
    }
  }
  return nSet;
}

/**
 * Score model `m` for the member whose codes some scored model maps are hits[0..nHit) (3 i32
 * each: dx index, code id, model bits; codes absent here change no model). Writes the kept HCC
 * numbers (ascending) to hccOut and returns the raw score (NaN when no segment applies). The
 * number of HCCs written is left in the V_COUNT slot of `vals`.
 */
export function scoreModel(m: i32, vals: usize, hits: usize, nHit: i32, mceOn: bool, hccOut: usize): f64 {
  const mb = modelBlock(m);
  const ccNum = tableAt(mb, MB_CC_NUM);
  const intPool = tableAt(mb, MB_INT_POOL);
  const clausePool = tableAt(mb, MB_CLAUSES);
  // ccFlags is all zero here: every flag set below is in setList and cleared again once the
  // kept HCCs are read (cheaper than a memory.fill over every CC per member and model)
  lastEdits = 0;

  // dx → CC, with edits
  const codeRows = tableAt(mb, MB_CODE_ROWS);
  const ccList = tableAt(mb, MB_CC_LIST);
  const edits = tableAt(mb, MB_EDITS);
  let nSet: i32 = 0;
  for (let k = 0; k < nHit; k++) {
    const h = hits + <usize>(k * 12);
    if ((load<i32>(h, 8) & (1 << m)) == 0) continue;
    const d = load<i32>(h);
    const id = load<i32>(h, 4);
    const row = codeRows + (<usize>id << 4);
    const es = load<i32>(row, 8);
    const ee = load<i32>(row, 12);
    if (es != ee) {
      const r = applyEdits(edits, clausePool, es, ee, vals, mceOn, firedSlot);
      if (r != EDIT_NONE) {
        lastEdits++;
        if (traceOn) emit(T_EDIT, d, m, load<i32>(firedSlot), 0);
        if (r != EDIT_INVALID) {
          nSet = setCc(r, nSet);
          if (traceOn) emit(T_DX_CC, d, m, load<i32>(ccNum + (<usize>r << 2)), 1);
          else if (factorsOn) emit(T_DX_CC, d, m, load<i32>(ccNum + (<usize>r << 2)), <f64>currentMember);
        }
        continue;
      }
    }
    const cs = load<i32>(row);
    const ce = load<i32>(row, 4);
    for (let i = cs; i < ce; i++) {
      const cc = load<i32>(ccList + (<usize>i << 2));
      nSet = setCc(cc, nSet);
      if (traceOn) emit(T_DX_CC, d, m, load<i32>(ccNum + (<usize>cc << 2)), 0);
      else if (factorsOn) emit(T_DX_CC, d, m, load<i32>(ccNum + (<usize>cc << 2)), <f64>currentMember);
    }
  }

  lastNSet = nSet;
  return scoreSet(m, vals, nSet, hccOut);
}

/**
 * The steps after dx → CC for model `m`: setList[0..nSet) holds the member's CCs, each with its
 * ccFlags byte set (every flag is clear again on return). Writes the kept HCC numbers
 * (ascending) to hccOut and their local indices to keptLocal; returns the raw score (NaN when no
 * segment applies). Gap what-ifs call it with an edited CC set.
 */
export function scoreSet(m: i32, vals: usize, nSet: i32, hccOut: usize): f64 {
  const mb = modelBlock(m);
  const ccNum = tableAt(mb, MB_CC_NUM);
  const intPool = tableAt(mb, MB_INT_POOL);
  const clausePool = tableAt(mb, MB_CLAUSES);
  // model-specific rules, then hierarchies (only when some CC is set). The set CCs are sorted
  // ascending first: local index order is CC number order, and the pack builder guarantees the
  // hierarchy rules are in ascending parent order, so visiting set parents in this order applies
  // the rules in published order (§1.4) without scanning every rule.
  let count: i32 = 0;
  let maskLo: u32 = 0;
  let maskHi: u32 = 0;
  if (nSet > 0) {
    applyPreHierarchy(ccFlags, tableAt(mb, MB_PRE), word(mb, MB_N_PRE), intPool, ccNum, m);
    for (let i = 1; i < nSet; i++) {
      const v = load<i32>(setList + (<usize>i << 2));
      let j = i;
      while (j > 0 && load<i32>(setList + (<usize>(j - 1) << 2)) > v) {
        store<i32>(setList + (<usize>j << 2), load<i32>(setList + (<usize>(j - 1) << 2)));
        j--;
      }
      store<i32>(setList + (<usize>j << 2), v);
    }
    applyHierarchySorted(ccFlags, setList, nSet, tableAt(mb, MB_HIER_RULE_OF), tableAt(mb, MB_HIER), intPool, ccNum, m);
    const gm = tableAt(mb, MB_GROUP_MASK);
    for (let i = 0; i < nSet; i++) {
      const cc = load<i32>(setList + (<usize>i << 2));
      if (load<u8>(ccFlags + <usize>cc) == 0) continue;
      store<u8>(ccFlags + <usize>cc, 0);
      store<i32>(hccOut + (<usize>count << 2), cc);
      store<i32>(keptLocal + (<usize>count << 2), cc);
      count++;
      maskLo |= load<u32>(gm + (<usize>cc << 3));
      maskHi |= load<u32>(gm + (<usize>cc << 3), 4);
    }
  }
  store<i32>(vals + (<usize>V_COUNT << 2), count);
  lastKept = count;

  // segment selection: first segment whose clauses hold, among those the dispatch table lists
  // for the member (all of them when the model has no table)
  const segs = tableAt(mb, MB_SEGS);
  const nSegs = word(mb, MB_N_SEGS);
  const dispatch = tableAt(mb, MB_DISPATCH);
  const segRec = word(mb, MB_SEG_DISPATCH);
  let seg: usize = 0;
  let s = nSegs;
  if (segRec >= 0) {
    const rec = dispatch + (<usize>segRec << 2);
    const range = dispatchSlot(rec, vals);
    const ce = load<i32>(range, 4);
    for (let c = load<i32>(range); c < ce; c++) {
      const k = load<i32>(rec + (<usize>c << 2));
      const sp = segs + <usize>(k * SEG_STRIDE * 4);
      if (clausesHold(clausePool, word(sp, SEG_SEL_START), word(sp, SEG_SEL_COUNT), vals)) {
        s = k;
        seg = sp;
        break;
      }
    }
  } else {
    for (s = 0; s < nSegs; s++) {
      seg = segs + <usize>(s * SEG_STRIDE * 4);
      if (clausesHold(clausePool, word(seg, SEG_SEL_START), word(seg, SEG_SEL_COUNT), vals)) break;
    }
  }
  // coefficient sum over kept HCCs in ascending order (so dx order cannot change rounding),
  // then translate local indices to CC numbers for the caller
  let score: f64 = 0;
  const usesHccs = s < nSegs && word(seg, SEG_USES_HCCS) != 0;
  const coef = usesHccs ? tableAt(seg, SEG_HCC_COEF) : 0;
  if (s < nSegs && traceOn) emit(T_SEGMENT, 0, m, s, 0);
  for (let i = 0; i < count; i++) {
    const p = hccOut + (<usize>i << 2);
    const cc = load<i32>(p);
    const num = load<i32>(ccNum + (<usize>cc << 2));
    if (usesHccs) {
      const c = load<f64>(coef + (<usize>cc << 3));
      score += c;
      if (traceOn || factorsOn) emit(T_HCC_TERM, num, m, currentMember, c);
    } else if (factorsOn && s < nSegs) emit(T_HCC_UNSCORED, num, m, currentMember, 0);
    store<i32>(p, num);
  }
  lastNVars = 0;
  if (s == nSegs) {
    lastSegment = -1;
    return NaN;
  }
  lastSegment = s;
  const vars = tableAt(mb, MB_VARS);
  const termVar = tableAt(mb, MB_TERM_VAR);
  const termCoef = tableAt(mb, MB_TERM_COEF);
  // terms of one mutually exclusive family (the cells of a template, D1–D10P) are contiguous;
  // after a match, termNext skips the rest of the family
  const termNext = tableAt(mb, MB_TERM_NEXT);
  // a family run with a dispatch table: only the listed terms can match (first match wins)
  const termDispatch = tableAt(mb, MB_TERM_DISPATCH);
  const ts = word(seg, SEG_TERM_START);
  const te = ts + word(seg, SEG_TERM_COUNT);
  let t = ts;
  while (t < te) {
    const d = load<i32>(termDispatch + (<usize>t << 2));
    if (d >= 0) {
      const rec = dispatch + (<usize>d << 2);
      const range = dispatchSlot(rec, vals);
      const ce = load<i32>(range, 4);
      for (let c = load<i32>(range); c < ce; c++) {
        const u = load<i32>(rec + (<usize>c << 2));
        const v = load<i32>(termVar + (<usize>u << 2));
        if (varHolds(vars, v, clausePool, vals, maskLo, maskHi)) {
          const cf = load<f64>(termCoef + (<usize>u << 3));
          score += cf;
          if (traceOn || factorsOn) emit(T_VAR_TERM, v, m, currentMember, cf);
          if (recordVars) noteVar(v);
          break;
        }
      }
      t = load<i32>(termNext + (<usize>t << 2));
      continue;
    }
    const v = load<i32>(termVar + (<usize>t << 2));
    if (varHolds(vars, v, clausePool, vals, maskLo, maskHi)) {
      const c = load<f64>(termCoef + (<usize>t << 3));
      score += c;
      if (traceOn || factorsOn) emit(T_VAR_TERM, v, m, currentMember, c);
      if (recordVars) noteVar(v);
      t = load<i32>(termNext + (<usize>t << 2));
    } else t++;
  }
  const ds = word(seg, SEG_DIV_START);
  const de = ds + word(seg, SEG_DIV_COUNT);
  for (let t = ds; t < de; t++) {
    const v = load<i32>(termVar + (<usize>t << 2));
    if (varHolds(vars, v, clausePool, vals, maskLo, maskHi)) {
      const c = load<f64>(termCoef + (<usize>t << 3));
      score = score / c;
      if (traceOn || factorsOn) emit(T_DIVISOR, v, m, currentMember, c);
      if (recordVars) noteVar(v);
    }
  }
  if (traceOn) emit(T_RAW, 0, m, s, score);
  return score;
}

@inline
function noteVar(v: i32): void {
  store<i32>(firedVars + (<usize>lastNVars << 2), v);
  lastNVars++;
}

@inline
function varHolds(vars: usize, v: i32, clausePool: usize, vals: usize, maskLo: u32, maskHi: u32): bool {
  const p = vars + <usize>(v * 16);
  const needLo = load<u32>(p);
  const needHi = load<u32>(p, 4);
  if ((maskLo & needLo) != needLo || (maskHi & needHi) != needHi) return false;
  return clausesHold(clausePool, load<i32>(p, 8), load<i32>(p, 12), vals);
}

/** Largest term count (terms and divisors) over the pack's models' segments: bounds firedVars. */
export function maxTermCount(nModels: i32): i32 {
  let mx = 0;
  for (let m = 0; m < nModels; m++) {
    const mb = modelBlock(m);
    const segs = tableAt(mb, MB_SEGS);
    const nSegs = word(mb, MB_N_SEGS);
    for (let s = 0; s < nSegs; s++) {
      const sp = segs + <usize>(s * SEG_STRIDE * 4);
      const n = word(sp, SEG_TERM_COUNT) + word(sp, SEG_DIV_COUNT);
      if (n > mx) mx = n;
    }
  }
  return mx;
}

/** Largest CC count over the pack's models (sizes the kernel scratch). */
export function maxCcCount(nModels: i32): i32 {
  let mx = 0;
  for (let m = 0; m < nModels; m++) {
    const n = word(modelBlock(m), MB_N_CC);
    if (n > mx) mx = n;
  }
  return mx;
}
