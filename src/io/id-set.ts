// Member ids seen so far, as UTF-8 bytes: the duplicate check of a member-record file. The workers
// send each range's ids as one byte buffer and offsets (the participant_id column they built), and
// this set stores them in one growing arena with an open-addressing table of entry numbers: no JS
// string per id on the main thread, which otherwise spends its time (and the workers' cores) on
// deserializing, hashing and collecting 300k strings per 300k members. Equal bytes ⇔ equal ids
// (the ids were well-formed UTF-8 text when parsed).

/** A batch's ids: id k is bytes[offsets[k], offsets[k + 1]). */
export interface IdBytes {
  bytes: Uint8Array;
  offsets: Int32Array;
}

export class IdSet {
  private arena = new Uint8Array(1 << 16);
  private used = 0;
  /** Per entry: start in the arena, then end. */
  private spans = new Int32Array(2 * 1024);
  private count = 0;
  /**
   * Open addressing, two Int32 per slot: the id's hash, then its entry number + 1 (0 = empty).
   * The hash sits beside the entry so a probe reads one place; the arena is read only on a match.
   */
  private slots = new Int32Array(2 * 2048);

  get size(): number {
    return this.count;
  }

  clear(): void {
    this.used = 0;
    this.count = 0;
    this.slots.fill(0);
  }

  /** Adds id src[s, e); false when an equal id is already in the set. */
  add(src: Uint8Array, s: number, e: number): boolean {
    // FNV-1a, 32 bits
    let h = 0x811c9dc5;
    for (let i = s; i < e; i++) h = Math.imul(h ^ src[i]!, 0x01000193);
    h |= 0; // as the Int32Array holds it (an empty id never went through Math.imul)
    const slots = this.slots;
    const mask = (slots.length >> 1) - 1;
    let at = h & mask;
    for (let entry = slots[2 * at + 1]!; entry !== 0; entry = slots[2 * at + 1]!) {
      if (slots[2 * at] === h && this.equal(entry - 1, src, s, e)) return false;
      at = (at + 1) & mask;
    }
    const k = this.count++;
    this.store(k, src, s, e);
    slots[2 * at] = h;
    slots[2 * at + 1] = k + 1;
    if (this.count * 2 > mask + 1) this.rehash();
    return true;
  }

  private equal(k: number, src: Uint8Array, s: number, e: number): boolean {
    const a = this.spans[2 * k]!;
    if (this.spans[2 * k + 1]! - a !== e - s) return false;
    const arena = this.arena;
    for (let i = 0; i < e - s; i++) if (arena[a + i] !== src[s + i]) return false;
    return true;
  }

  private store(k: number, src: Uint8Array, s: number, e: number): void {
    if (this.used + (e - s) > this.arena.length) {
      const grown = new Uint8Array(Math.max(this.arena.length * 2, this.used + (e - s)));
      grown.set(this.arena.subarray(0, this.used));
      this.arena = grown;
    }
    if (2 * k + 2 > this.spans.length) {
      const spans = new Int32Array(this.spans.length * 2);
      spans.set(this.spans);
      this.spans = spans;
    }
    const arena = this.arena;
    for (let i = s, o = this.used; i < e; i++) arena[o++] = src[i]!;
    this.spans[2 * k] = this.used;
    this.used += e - s;
    this.spans[2 * k + 1] = this.used;
  }

  private rehash(): void {
    const old = this.slots;
    const slots = new Int32Array(old.length * 2);
    const mask = (slots.length >> 1) - 1;
    for (let j = 0; j < old.length; j += 2) {
      if (old[j + 1] === 0) continue;
      let at = old[j]! & mask;
      while (slots[2 * at + 1] !== 0) at = (at + 1) & mask;
      slots[2 * at] = old[j]!;
      slots[2 * at + 1] = old[j + 1]!;
    }
    this.slots = slots;
  }
}

/** A batch's participant_id column (Utf8, no nulls) as IdBytes, copied out of the batch's buffers. */
export function idBytesOf(values: Uint8Array, offsets: Int32Array, rows: number): IdBytes {
  const base = offsets[0]!;
  const bytes = values.slice(base, offsets[rows]);
  const offs = new Int32Array(rows + 1);
  for (let i = 0; i <= rows; i++) offs[i] = offsets[i]! - base;
  return { bytes, offsets: offs };
}
