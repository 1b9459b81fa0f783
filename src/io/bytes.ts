// A byte buffer that grows by doubling; `len` bytes of `buf` are in use.
export class GrowableBytes {
  buf: Uint8Array;
  len = 0;
  constructor(cap = 1 << 16) {
    this.buf = new Uint8Array(cap);
  }
  /** Makes room for `extra` more bytes (buf may be replaced: re-read it after calling). */
  reserve(extra: number): void {
    if (this.len + extra <= this.buf.length) return;
    let cap = this.buf.length * 2;
    while (cap < this.len + extra) cap *= 2;
    const next = new Uint8Array(cap);
    next.set(this.buf.subarray(0, this.len));
    this.buf = next;
    this.grew();
  }
  /** Called after buf was replaced. */
  protected grew(): void {}
}
