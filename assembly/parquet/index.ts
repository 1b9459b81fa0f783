// The fast Parquet writer's inner loops (src/io/parquet-writer.ts): the RLE / bit-packed hybrid
// encoding of levels and dictionary keys, and the repetition and definition levels of a list
// column; and, as the scoring worker's other byte loop, the split of exported members' joined
// codes (splitJoined, for src/workers/member-parts.ts). A module of its own, apart from the scoring kernel: numbers-only ABI over its linear
// memory, which the host fills before each call and reads after it (no allocator: the host lays
// out each call's buffers from offset 0 and grows the memory first). Same bytes as the
// JavaScript it replaces; tests/integration/parquet-writer.test.ts reads them back.

/** Unsigned LEB128 at dst; returns the bytes written. */
function varint(dst: usize, v: u32): i32 {
  let k = 0;
  while (v >= 0x80) {
    store<u8>(dst + <usize>k, <u8>(v & 0x7f) | 0x80);
    v >>= 7;
    k++;
  }
  store<u8>(dst + <usize>k, <u8>v);
  return k + 1;
}

/**
 * RLE / bit-packed hybrid encoding of the `n` i32 values at `src`, `width` bits each (≤ 24), at
 * `dst`: one RLE run when every value is the same, otherwise one bit-packed run whose last group
 * of 8 is zero-padded. Returns the bytes written (0 for n = 0).
 */
export function hybrid(src: usize, n: i32, width: i32, dst: usize): i32 {
  if (n == 0) return 0;
  const first = load<u32>(src);
  let same = true;
  for (let i = 1; i < n; i++) {
    if (load<u32>(src + (<usize>i << 2)) != first) {
      same = false;
      break;
    }
  }
  if (same) {
    let k = varint(dst, <u32>n * 2);
    for (let b = 0; b < (width + 7) >> 3; b++) {
      store<u8>(dst + <usize>k, <u8>(first >> (8 * b)));
      k++;
    }
    return k;
  }
  const groups = (n + 7) >> 3;
  const head = varint(dst, <u32>groups * 2 + 1);
  const size = groups * width; // 8 values × width bits per group
  let w = dst + <usize>head;
  const end = w + <usize>size;
  let acc: u64 = 0;
  let bits: i32 = 0;
  for (let i = 0; i < n; i++) {
    acc |= (<u64>load<u32>(src + (<usize>i << 2))) << <u64>bits;
    bits += width;
    if (bits >= 32) {
      store<u32>(w, <u32>acc);
      w += 4;
      acc >>= 32;
      bits -= 32;
    }
  }
  while (bits > 0) {
    store<u8>(w, <u8>acc);
    w++;
    acc >>= 8;
    bits -= 8;
  }
  while (w < end) {
    store<u8>(w, 0);
    w++;
  }
  return head + size;
}

@inline function bit(bitmap: usize, i: i32): bool {
  return ((load<u8>(bitmap + <usize>(i >> 3)) >> <u8>(i & 7)) & 1) != 0;
}

/** Levels with their 4-byte length prefix (data page v1) at dst; returns the bytes written. */
function levels(src: usize, n: i32, width: i32, dst: usize): i32 {
  const k = hybrid(src, n, width, dst + 4);
  store<u32>(dst, <u32>k);
  return k + 4;
}

let levelCount: i32 = 0;

/** The level count of the last listLevels call (the page's value count). */
export function lastLevelCount(): i32 {
  return levelCount;
}

/**
 * The repetition and definition levels of `n` lists, each with its 4-byte length prefix, at dst:
 * `offsets` (n + 1 i32, from 0) delimit the items; `listValid` / `itemValid` are validity bitmaps
 * (0: none null); `base` is the definition level of an empty list, `maxDef` that of a present
 * item (a null item gets base + 1, a null list 0); `defWidth` the bit width of maxDef. `scratch`
 * holds 2 × (n + items) i32. Returns the bytes written; lastLevelCount() the number of levels.
 */
export function listLevels(
  offsets: usize,
  n: i32,
  listValid: usize,
  itemValid: usize,
  base: i32,
  maxDef: i32,
  defWidth: i32,
  scratch: usize,
  dst: usize,
): i32 {
  const first = load<i32>(offsets);
  const cap = n + load<i32>(offsets + (<usize>n << 2)) - first;
  const rep = scratch;
  const def = scratch + (<usize>cap << 2);
  let e = 0;
  for (let i = 0; i < n; i++) {
    if (listValid != 0 && !bit(listValid, i)) {
      store<i32>(rep + (<usize>e << 2), 0);
      store<i32>(def + (<usize>e << 2), 0);
      e++;
      continue;
    }
    const s = load<i32>(offsets + (<usize>i << 2));
    const t = load<i32>(offsets + (<usize>(i + 1) << 2));
    if (s == t) {
      store<i32>(rep + (<usize>e << 2), 0);
      store<i32>(def + (<usize>e << 2), base);
      e++;
      continue;
    }
    for (let j = s; j < t; j++) {
      store<i32>(rep + (<usize>e << 2), j == s ? 0 : 1);
      store<i32>(def + (<usize>e << 2), itemValid != 0 && !bit(itemValid, j) ? base + 1 : maxDef);
      e++;
    }
  }
  levelCount = e;
  const k = levels(rep, e, 1, dst);
  return k + levels(def, e, defWidth, dst + <usize>k);
}

/**
 * PLAIN BYTE_ARRAY values of `n` strings at dst (a 4-byte length, then the bytes, for each):
 * `offsets` (n + 1 i32) delimit them in `bytes`, which holds the bytes from offsets[0] on; with
 * a validity bitmap (`valid`, bit `validFrom + i` for string i) the null ones are skipped.
 * Returns the bytes written.
 */
export function plainStrings(offsets: usize, n: i32, bytes: usize, valid: usize, validFrom: i32, dst: usize): i32 {
  const base = load<i32>(offsets);
  let w = dst;
  for (let i = 0; i < n; i++) {
    if (valid != 0 && !bit(valid, validFrom + i)) continue;
    const s = load<i32>(offsets + (<usize>i << 2));
    const len = load<i32>(offsets + (<usize>(i + 1) << 2)) - s;
    store<u32>(w, <u32>len);
    memory.copy(w + 4, bytes + <usize>(s - base), <usize>len);
    w += 4 + <usize>len;
  }
  return <i32>(w - dst);
}

/**
 * The `n` values of `size` bytes at src whose bit (`validFrom + i`) in the validity bitmap `valid`
 * is set, packed together at dst (a nullable column's PLAIN values, or the keys of its non-null
 * rows). Returns the bytes written.
 */
export function gather(src: usize, n: i32, size: i32, valid: usize, validFrom: i32, dst: usize): i32 {
  let w = dst;
  for (let i = 0; i < n; i++) {
    if (!bit(valid, validFrom + i)) continue;
    const at = src + <usize>(i * size);
    if (size == 8) store<u64>(w, load<u64>(at));
    else if (size == 4) store<u32>(w, load<u32>(at));
    else memory.copy(w, at, <usize>size);
    w += <usize>size;
  }
  return <i32>(w - dst);
}

/**
 * Dictionary encoding of the `n` values of `size` bytes (4 or 8) at src, compared bit for bit:
 * the key of each value (i32, its index among the distinct values in order of first appearance)
 * at `keys`, the distinct values at `dict`, through an open-addressing table of 2^`tableBits`
 * i32 slots at `table` (zeroed here). Returns the number of distinct values, or -1 as soon as
 * there are more than `maxDict` (the caller then writes the values PLAIN). maxDict must be at
 * most half the table's slots.
 */
export function dictionary(
  src: usize,
  n: i32,
  size: i32,
  maxDict: i32,
  table: usize,
  tableBits: i32,
  keys: usize,
  dict: usize,
): i32 {
  const slots = 1 << tableBits;
  const mask = slots - 1;
  memory.fill(table, 0, <usize>slots << 2);
  const shift = <u64>(64 - tableBits);
  let count = 0;
  for (let i = 0; i < n; i++) {
    const v: u64 = size == 8 ? load<u64>(src + (<usize>i << 3)) : <u64>load<u32>(src + (<usize>i << 2));
    let h = <i32>((v * 0x9e3779b97f4a7c15) >> shift);
    let key = -1;
    for (;;) {
      const at = table + (<usize>h << 2);
      const s = load<i32>(at);
      if (s == 0) {
        if (count == maxDict) return -1;
        if (size == 8) store<u64>(dict + (<usize>count << 3), v);
        else store<u32>(dict + (<usize>count << 2), <u32>v);
        count++;
        store<i32>(at, count);
        key = count - 1;
        break;
      }
      const d: u64 = size == 8 ? load<u64>(dict + (<usize>(s - 1) << 3)) : <u64>load<u32>(dict + (<usize>(s - 1) << 2));
      if (d == v) {
        key = s - 1;
        break;
      }
      h = (h + 1) & mask;
    }
    store<i32>(keys + (<usize>i << 2), key);
  }
  return count;
}

/**
 * Dictionary encoding of `n` strings (a text column the parse threads build, src/ingest/dx-part.ts):
 * `offsets` (n + 1 i32) delimit them in `bytes`, which holds the bytes from offsets[0] on; a
 * string whose bit in `valid` is clear (0: no bitmap) is null, gets key 0 and is not entered. The
 * key of each string (i32, the index of its value among the distinct values in order of first
 * appearance) goes to `keys`, the row where each distinct value first appears to `firstRow`,
 * through an open-addressing table of 2^`tableBits` i32 slots at `table` (zeroed here; at least
 * twice as many slots as strings). Bytes are hashed FNV-1a and compared with memory.compare.
 * Returns the number of distinct values.
 */
export function stringDictionary(
  offsets: usize,
  n: i32,
  bytes: usize,
  valid: usize,
  table: usize,
  tableBits: i32,
  keys: usize,
  firstRow: usize,
): i32 {
  const slots = 1 << tableBits;
  const mask = slots - 1;
  memory.fill(table, 0, <usize>slots << 2);
  const base = load<i32>(offsets);
  let count = 0;
  for (let i = 0; i < n; i++) {
    if (valid != 0 && !bit(valid, i)) {
      store<i32>(keys + (<usize>i << 2), 0);
      continue;
    }
    const s = load<i32>(offsets + (<usize>i << 2)) - base;
    const len = load<i32>(offsets + (<usize>(i + 1) << 2)) - base - s;
    const at = bytes + <usize>s;
    let h: u32 = 0x811c9dc5;
    for (let j = 0; j < len; j++) h = (h ^ <u32>load<u8>(at + <usize>j)) * 0x01000193;
    let slot = <i32>(h & <u32>mask);
    let key = -1;
    for (;;) {
      const e = load<i32>(table + (<usize>slot << 2));
      if (e == 0) {
        store<i32>(firstRow + (<usize>count << 2), i);
        count++;
        store<i32>(table + (<usize>slot << 2), count);
        key = count - 1;
        break;
      }
      const r = load<i32>(firstRow + (<usize>(e - 1) << 2));
      const rs = load<i32>(offsets + (<usize>r << 2)) - base;
      const rl = load<i32>(offsets + (<usize>(r + 1) << 2)) - base - rs;
      if (rl == len && memory.compare(bytes + <usize>rs, at, <usize>len) == 0) {
        key = e - 1;
        break;
      }
      slot = (slot + 1) & mask;
    }
    store<i32>(keys + (<usize>i << 2), key);
  }
  return count;
}

let splitWritten: i32 = 0;

/** The compacted byte count of the last splitJoined call. */
export function splitBytes(): i32 {
  return splitWritten;
}

/**
 * The scoring worker's split of exported members' joined codes (src/workers/member-parts.ts):
 * each of the `rows` strings that `offsets` (rows + 1 i32) delimit in `bytes` holds a member's
 * codes joined by the byte `sep` (U+001F, io/joined-codes.ts CODE_SEPARATOR); a string whose bit
 * in `valid` (0: no bitmap) is clear has no codes.
 * The separators are removed in place (splitBytes() gives the bytes left), the item offsets go to
 * `codeOffsets` (at most `cap` + 1 of them: items past `cap` are counted, not written) and each
 * member's item count so far to `listOffsets` (rows + 1). Returns the item count. Same result as
 * the JavaScript loop it replaces, without a bounds check per byte.
 */
export function splitJoined(
  offsets: usize,
  rows: i32,
  bytes: usize,
  valid: usize,
  sep: u8,
  codeOffsets: usize,
  cap: i32,
  listOffsets: usize,
): i32 {
  let n = 0;
  let w: usize = 0;
  store<i32>(codeOffsets, 0);
  store<i32>(listOffsets, 0);
  for (let i = 0; i < rows; i++) {
    if (valid == 0 || bit(valid, i)) {
      const e = <usize>load<i32>(offsets + (<usize>(i + 1) << 2));
      for (let k = <usize>load<i32>(offsets + (<usize>i << 2)); k < e; k++) {
        const c = load<u8>(bytes + k);
        if (c == sep) {
          n++;
          if (n <= cap) store<i32>(codeOffsets + (<usize>n << 2), <i32>w);
        } else {
          store<u8>(bytes + w, c);
          w++;
        }
      }
      n++;
      if (n <= cap) store<i32>(codeOffsets + (<usize>n << 2), <i32>w);
    }
    store<i32>(listOffsets + (<usize>(i + 1) << 2), n);
  }
  splitWritten = <i32>w;
  return n;
}
