// Dispatch tables (src/engine/dispatch.ts builds them): for a "first item whose clauses hold"
// scan, the items that can hold given the member's values on up to three value slots. The
// caller still checks each listed item's full clauses, in order; the table only prunes.

/**
 * Address of the candidate range for the member: two i32 words (start, end) holding word
 * offsets from `rec` of the candidate ids.
 */
@inline
export function dispatchSlot(rec: usize, vals: usize): usize {
  const nd = load<i32>(rec);
  let slot: i32 = 0;
  let p = rec + 4;
  for (let k = 0; k < nd; k++) {
    const x = load<i32>(vals + (<usize>load<i32>(p) << 2));
    const base = load<i32>(p, 4);
    const last = load<i32>(p, 8);
    // clamp into [base, base + last] (the pack builder keeps base + last below I32.MAX):
    // outside it only the comparisons at the ends matter
    const j = x <= base ? 0 : x >= base + last ? last : x - base;
    slot += j * load<i32>(p, 12);
    p += 16;
  }
  return p + (<usize>slot << 2);
}
