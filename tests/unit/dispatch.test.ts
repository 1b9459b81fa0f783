// Dispatch tables (src/engine/dispatch.ts) only prune a first-match scan: over random clause
// sets and value vectors, the first listed item whose clauses hold is the first item overall.
import { describe, expect, it } from "vitest";
import { buildDispatch } from "../../src/engine/dispatch.js";
import { INT_MAX, INT_MIN, type Clause } from "../../src/engine/clauses.js";
import { mulberry32 } from "../differential/generate-members.js";

const holds = (cs: Clause[], vals: number[]): boolean =>
  cs.every((c) => {
    const x = vals[c[0] & 0xff] ?? 0;
    const inside = x >= c[1] && x <= c[2];
    return (c[0] & 0x100) !== 0 ? !inside : inside;
  });

/** The kernel's lookup (assembly/dispatch.ts dispatchSlot) in JS: the candidate ids. */
function listed(rec: number[], vals: number[]): number[] {
  const nd = rec[0] ?? 0;
  let slot = 0;
  for (let k = 0; k < nd; k++) {
    const [v, base, last, stride] = rec.slice(1 + 4 * k, 5 + 4 * k) as [number, number, number, number];
    const x = vals[v] ?? 0;
    slot += (x <= base ? 0 : x >= base + last ? last : x - base) * stride;
  }
  const off = 1 + 4 * nd + slot;
  return rec.slice(rec[off], rec[off + 1]);
}

describe("dispatch tables", () => {
  it("find the same first match as a full scan", () => {
    const rnd = mulberry32(7);
    const int = (lo: number, hi: number): number => lo + Math.floor(rnd() * (hi - lo + 1));
    let withTable = 0;
    for (let trial = 0; trial < 300; trial++) {
      const nItems = int(1, 40);
      const items: Clause[][] = [];
      for (let i = 0; i < nItems; i++) {
        const cs: Clause[] = [];
        for (let c = int(0, 4); c > 0; c--) {
          const v = int(0, 4);
          const lo = rnd() < 0.15 ? INT_MIN : int(-3, 100);
          const hi = rnd() < 0.15 ? INT_MAX : lo === INT_MIN ? int(-3, 100) : lo + int(0, 30);
          cs.push([(rnd() < 0.15 ? 0x100 : 0) | v, lo, hi]);
        }
        items.push(cs);
      }
      const ids = items.map((_, i) => 1000 + i);
      const rec = buildDispatch(items, ids);
      if (!rec) continue;
      withTable++;
      for (let probe = 0; probe < 400; probe++) {
        const vals = Array.from({ length: 5 }, () => (rnd() < 0.05 ? (rnd() < 0.5 ? INT_MIN : INT_MAX) : int(-10, 140)));
        const full = items.findIndex((cs) => holds(cs, vals));
        const cand = listed(rec, vals);
        const viaTable = cand.find((id) => holds(items[id - 1000] ?? [], vals));
        expect(viaTable ?? -1).toBe(full < 0 ? -1 : 1000 + full);
        // listed ids keep the original order
        expect([...cand].sort((a, b) => a - b)).toEqual(cand);
      }
    }
    expect(withTable).toBeGreaterThan(100);
  });
});
