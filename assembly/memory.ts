// Bump allocator over linear memory. The host reserves the model pack once and batch buffers
// at their high-water mark; nothing is allocated per member.
// 64-byte (cache line) alignment: the pack's hash buckets are line-aligned within the pack.
let top: usize = (__heap_base + 63) & ~(<usize>63);

/** Reserve `bytes` (64-byte aligned), growing memory when needed. Returns the address. */
export function reserveBytes(bytes: i32): usize {
  const p = top;
  top = (top + <usize>bytes + 63) & ~(<usize>63);
  const needPages = <i32>((top + 0xffff) >>> 16);
  const havePages = memory.size();
  if (needPages > havePages) {
    if (memory.grow(needPages - havePages) < 0) unreachable();
  }
  return p;
}

export function currentTop(): usize {
  return top;
}

/** Release everything reserved after `mark` (a value returned by currentTop). */
export function releaseTo(mark: usize): void {
  top = mark;
}
