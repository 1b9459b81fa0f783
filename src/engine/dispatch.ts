// Dispatch tables for "first item whose clauses hold" scans (segment selection, a family of
// mutually exclusive terms). Pure: compiled by the pack builder, read by assembly/dispatch.ts.
//
// A record indexes the member's values on up to MAX_DIMS value slots (e.g. age and sex) and
// gives, for each combination, the items whose clauses on those slots can hold, in their
// original order. Every item left out has a clause on a dispatch slot that fails for the
// member, so scanning only the listed items (with their full clauses) finds the same first
// match as scanning them all: the table prunes, it never decides.
//
// Per dimension only the comparisons with the clauses' finite bounds matter, so every value
// below the smallest finite bound behaves like (smallest − 1) and every value above the
// largest like (largest + 1): the kernel clamps into [base, base + last] and subtracts base.
//
// Record (i32 words, offsets relative to the record's first word):
//   nDims, then per dimension: value index, base, last (largest index), stride;
//   then (slots + 1) candidate offsets, then the candidate item ids.
import { INT_MAX, INT_MIN, type Clause } from "./clauses.js";

const MAX_DIMS = 3;
const MAX_SLOTS = 4096;
const MAX_SPAN = 256;

interface Dim {
  value: number;
  base: number;
  last: number;
}

function holds(c: Clause, x: number): boolean {
  const inside = x >= c[1] && x <= c[2];
  return (c[0] & 0x100) !== 0 ? !inside : inside;
}

/** The dimension over value slot `v`, or null when its clauses have no usable finite bound. */
function dimFor(items: readonly Clause[][], v: number): Dim | null {
  let lo = Infinity;
  let hi = -Infinity;
  for (const cs of items) {
    for (const c of cs) {
      if ((c[0] & 0xff) !== v) continue;
      for (const b of [c[1] === INT_MIN ? null : c[1], c[2] === INT_MAX ? null : c[2]]) {
        if (b === null) continue;
        lo = Math.min(lo, b);
        hi = Math.max(hi, b);
      }
    }
  }
  if (lo === Infinity || hi - lo > MAX_SPAN || lo - 1 <= INT_MIN || hi + 1 >= INT_MAX) return null;
  return { value: v, base: lo - 1, last: hi - lo + 2 };
}

/** Candidate lists per slot for `dims` (row-major, the last dimension varying fastest). */
function candidates(items: readonly Clause[][], dims: readonly Dim[]): number[][] {
  // start with every item admitted; refine one dimension at a time
  let slots: number[][] = [items.map((_, i) => i)];
  for (const d of dims) {
    const next: number[][] = [];
    for (const list of slots) {
      for (let j = 0; j <= d.last; j++) {
        const x = d.base + j;
        next.push(list.filter((i) => (items[i] ?? []).every((c) => (c[0] & 0xff) !== d.value || holds(c, x))));
      }
    }
    slots = next;
  }
  return slots;
}

const meanSize = (slots: number[][]): number => slots.reduce((s, l) => s + l.length, 0) / slots.length;

/**
 * A dispatch record over `items` (each a conjunction of clauses; `ids[i]` is what the kernel
 * gets back for item i), or null when no dimension prunes the scan.
 */
export function buildDispatch(items: readonly Clause[][], ids: readonly number[]): number[] | null {
  const values = new Set<number>();
  for (const cs of items) for (const c of cs) values.add(c[0] & 0xff);
  const dims: Dim[] = [];
  let best = candidates(items, dims);
  while (dims.length < MAX_DIMS) {
    let pick: { dim: Dim; slots: number[][] } | null = null;
    for (const v of [...values].sort((a, b) => a - b)) {
      if (dims.some((d) => d.value === v)) continue;
      const dim = dimFor(items, v);
      if (!dim || best.length * (dim.last + 1) > MAX_SLOTS) continue;
      const slots = candidates(items, [...dims, dim]);
      if (!pick || meanSize(slots) < meanSize(pick.slots)) pick = { dim, slots };
    }
    // keep a dimension only when it removes at least half an item per scan on average
    if (!pick || meanSize(pick.slots) > meanSize(best) - 0.5) break;
    dims.push(pick.dim);
    best = pick.slots;
  }
  if (dims.length === 0) return null;
  const words: number[] = [dims.length];
  let stride = best.length;
  for (const d of dims) {
    stride /= d.last + 1;
    words.push(d.value, d.base, d.last, stride);
  }
  const offsets = words.length;
  let at = offsets + best.length + 1;
  for (const list of best) {
    words.push(at);
    at += list.length;
  }
  words.push(at);
  for (const list of best) for (const i of list) words.push(ids[i] ?? -1);
  if (words.length !== at) throw new Error("dispatch record size mismatch");
  return words;
}
