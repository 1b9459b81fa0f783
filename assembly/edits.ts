// CMS step: edits (cms-algorithm.md §1.3). Hard-coded age/sex edits run first, the first match
// wins: "invalid" drops the diagnosis, "override" assigns one CC and skips the crosswalk for
// this diagnosis (every crosswalk slot, §10 D-16). MCE plausibility edits (mce = 1) run after
// them when the MCE switch is on and can only invalidate. Tables: MB_CODE_EDIT_START, MB_EDITS.
import { clausesHold } from "./clauses";

export const EDIT_NONE: i32 = -1;
export const EDIT_INVALID: i32 = -2;

/** Returns EDIT_NONE, EDIT_INVALID, or the local CC index an override assigns. */
export function applyEdits(
  edits: usize, clausePool: usize, start: i32, end: i32, vals: usize, mceOn: bool, firedIdx: usize,
): i32 {
  let result = EDIT_NONE;
  let hardDone = false;
  for (let e = start; e < end; e++) {
    const p = edits + <usize>(e * 20);
    const isMce = load<i32>(p, 16) != 0;
    if (isMce) {
      if (!mceOn) continue;
    } else if (hardDone) continue;
    if (!clausesHold(clausePool, load<i32>(p), load<i32>(p, 4), vals)) continue;
    store<i32>(firedIdx, e);
    if (isMce) return EDIT_INVALID;
    hardDone = true;
    result = load<i32>(p, 8) == 0 ? EDIT_INVALID : load<i32>(p, 12);
  }
  return result;
}
