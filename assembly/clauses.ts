// Rule clauses: every model rule (edit, segment, variable, normalization rule) is a conjunction
// of tests over the member's value vector (layout.ts V_*). A clause is 3 i32: the value index
// (bit 8 set = negated), lo, hi; it holds when lo <= value <= hi (negated: when it does not).

@inline
export function clausesHold(pool: usize, start: i32, count: i32, vals: usize): bool {
  let p = pool + <usize>(start * 12);
  const end = p + <usize>(count * 12);
  while (p < end) {
    const w = load<i32>(p);
    const v = load<i32>(vals + (<usize>(w & 0xff) << 2));
    const inside = v >= load<i32>(p, 4) && v <= load<i32>(p, 8);
    if (inside == ((w & 0x100) != 0)) return false;
    p += 12;
  }
  return true;
}
