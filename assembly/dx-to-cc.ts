// CMS step: diagnosis code normalization and lookup (cms-algorithm.md §1.2 step 1).
// Codes arrive as raw UTF-8 bytes (Arrow Utf8 layout). Normalization: drop '.', ' ', '\t';
// lower → upper case; anything else outside [A-Z0-9] or a length outside 3..7 is malformed.
// The key packs the normalized bytes little-endian into a u64; the pack's open-addressing
// table maps it to a code id that indexes every model's crosswalk (PH_HASH_*).

export const CODE_MALFORMED: i32 = -2;
export const CODE_UNMAPPED: i32 = -1;

/** Normalized u64 key of bytes [p, end), or 0 when the code is malformed. */
export function normalizeKey(p: usize, end: usize): u64 {
  let key: u64 = 0;
  let len: i32 = 0;
  while (p < end) {
    let c = <u32>load<u8>(p);
    p++;
    if (c == 0x2e || c == 0x20 || c == 0x09) continue;
    if (c >= 0x61 && c <= 0x7a) c -= 0x20;
    const isAlnum = (c >= 0x41 && c <= 0x5a) || (c >= 0x30 && c <= 0x39);
    if (!isAlnum || len >= 7) return 0;
    key |= (<u64>c) << (<u64>(len << 3));
    len++;
  }
  return len >= 3 ? key : 0;
}

@inline
export function hashKey(key: u64, bits: i32): i32 {
  return <i32>((key * 0x9e3779b97f4a7c15) >>> (<u64>(64 - bits)));
}

/** Code id for a normalized key, or CODE_UNMAPPED. */
export function lookupCode(key: u64, keys: usize, vals: usize, cap: i32): i32 {
  const bits = 31 - clz<i32>(cap);
  const maskIdx = cap - 1;
  let i = hashKey(key, bits);
  while (true) {
    const k = load<u64>(keys + (<usize>i << 3));
    if (k == key) return load<i32>(vals + (<usize>i << 2));
    if (k == 0) return CODE_UNMAPPED;
    i = (i + 1) & maskIdx;
  }
  return CODE_UNMAPPED;
}
