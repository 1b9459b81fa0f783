// CMS step: diagnosis code normalization and lookup (cms-algorithm.md §1.2 step 1).
// Codes arrive as raw UTF-8 bytes (Arrow Utf8 layout). Normalization: drop '.', ' ', '\t';
// lower → upper case; anything else outside [A-Z0-9] or a length outside 3..7 is malformed.
// The key packs the normalized bytes little-endian into a u64; the pack's open-addressing
// table maps it to a code id that indexes every model's crosswalk (PH_HASH_*).

export const CODE_MALFORMED: i32 = -2;
export const CODE_UNMAPPED: i32 = -1;

// Byte class table: 0 = skip ('.', ' ', tab), 0xff = not allowed, else the upper-case byte.
let byteClass: usize = 0;

export function initByteClasses(table: usize): void {
  byteClass = table;
  for (let b = 0; b < 256; b++) {
    let c: i32 = 0xff;
    if (b == 0x2e || b == 0x20 || b == 0x09) c = 0;
    else if ((b >= 0x41 && b <= 0x5a) || (b >= 0x30 && b <= 0x39)) c = b;
    else if (b >= 0x61 && b <= 0x7a) c = b - 0x20;
    store<u8>(table + <usize>b, <u8>c);
  }
}

/**
 * Normalized u64 key of bytes [p, end), or 0 when the code is malformed. Fast path for the
 * common case (3–7 bytes, already upper-case alphanumeric): one 8-byte load, masked, and a
 * branch-free SWAR test that every byte is in [0-9A-Z] (the same set byteClass maps to itself);
 * the host pads the code buffer by 8 bytes so the load never leaves it.
 */
@inline
export function normalizeKey(p: usize, end: usize): u64 {
  const len = <i32>(end - p);
  if (<u32>(len - 3) <= 4) {
    const x = load<u64>(p) & ((<u64>1 << (<u64>(len << 3))) - 1);
    if (isUpperAlnum(x, len)) return x;
  }
  return normalizeKeySlow(p, end);
}

const ONES: u64 = 0x0101010101010101;
const HIGH: u64 = 0x8080808080808080;

/**
 * Whether the low `len` bytes of x are all in [0-9A-Z] (bytes above len are zero). Per byte b
 * below 0x80, b + (0x80 - lo) sets the high bit iff b >= lo and b + (0x7f - hi) iff b > hi,
 * with no carry into the next byte; a byte with its high bit set fails.
 */
@inline
function isUpperAlnum(x: u64, len: i32): bool {
  const want = HIGH & ((<u64>1 << (<u64>(len << 3))) - 1);
  const ge0 = x + ONES * 0x50; // b >= '0'
  const gt9 = x + ONES * 0x46; // b > '9'
  const geA = x + ONES * 0x3f; // b >= 'A'
  const gtZ = x + ONES * 0x25; // b > 'Z'
  const ok = ((ge0 & ~gt9) | (geA & ~gtZ)) & ~x & want;
  return ok == want;
}

function normalizeKeySlow(p: usize, end: usize): u64 {
  let key: u64 = 0;
  let shift: u64 = 0;
  while (p < end) {
    const c = <u64>load<u8>(byteClass + <usize>load<u8>(p));
    p++;
    if (c == 0) continue;
    if (c == 0xff || shift >= 56) return 0;
    key |= c << shift;
    shift += 8;
  }
  return shift >= 24 ? key : 0;
}

@inline
export function hashKey(key: u64, bits: i32): i32 {
  return <i32>((key * 0x9e3779b97f4a7c15) >>> (<u64>(64 - bits)));
}

/**
 * The slot of a normalized key (16 bytes: key, code id, model bits), or 0 when the key is in
 * no crosswalk or edit list of the year. Slots come in buckets of four (one cache line) filled
 * in order: the four keys are compared without branches, and a bucket with an empty last slot
 * ends the search, so at the pack's load (< 0.5) almost every lookup, hit or miss, reads one
 * line and takes one predictable branch.
 */
@inline
export function findCodeSlot(key: u64, slots: usize, cap: i32): usize {
  const nBuckets = cap >>> 2;
  const bits = 31 - clz<i32>(nBuckets);
  let b = hashKey(key, bits);
  while (true) {
    const p = slots + (<usize>b << 6);
    const k3 = load<u64>(p, 48);
    let r = select<usize>(p + 48, 0, k3 == key);
    r = select<usize>(p + 32, r, load<u64>(p, 32) == key);
    r = select<usize>(p + 16, r, load<u64>(p, 16) == key);
    r = select<usize>(p, r, load<u64>(p) == key);
    if (r != 0 || k3 == 0) return r;
    b = (b + 1) & (nBuckets - 1);
  }
  return 0;
}
