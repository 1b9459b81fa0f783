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
 * common case (3–7 bytes, already upper-case alphanumeric): one 8-byte load, masked; the host
 * pads the code buffer by 8 bytes so the load never leaves it.
 */
export function normalizeKey(p: usize, end: usize): u64 {
  const len = <i32>(end - p);
  if (len >= 3 && len <= 7) {
    const x = load<u64>(p) & ((<u64>1 << (<u64>(len << 3))) - 1);
    let ok = true;
    for (let i = 0; i < len; i++) {
      const b = <u32>((x >>> (<u64>(i << 3))) & 0xff);
      if (<u32>load<u8>(byteClass + <usize>b) != b) {
        ok = false;
        break;
      }
    }
    if (ok) return x;
  }
  return normalizeKeySlow(p, end);
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

/** Code id for a normalized key, or CODE_UNMAPPED. Slots are 16 bytes: key, id (one line). */
export function lookupCode(key: u64, slots: usize, cap: i32): i32 {
  const bits = 31 - clz<i32>(cap);
  const maskIdx = cap - 1;
  let i = hashKey(key, bits);
  while (true) {
    const p = slots + (<usize>i << 4);
    const k = load<u64>(p);
    if (k == key) return load<i32>(p, 8);
    if (k == 0) return CODE_UNMAPPED;
    i = (i + 1) & maskIdx;
  }
  return CODE_UNMAPPED;
}
