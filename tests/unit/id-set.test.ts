// The member-record duplicate check (src/io/id-set.ts): an open-addressing set of UTF-8 ids.
import { describe, expect, it } from "vitest";
import { IdSet } from "../../src/io/id-set.js";

const enc = new TextEncoder();

describe("IdSet", () => {
  it("accepts each id once and refuses its repeat, across growth, for ids that differ by a byte or a length", () => {
    const set = new IdSet();
    const ids: string[] = [];
    for (let i = 0; i < 20_000; i++) ids.push(`M${String(i).padStart(9, "0")}`);
    ids.push("", "a", "aa", "ä", "a\u0000", "M000000001 ", " M000000001");
    for (const id of ids) {
      const b = enc.encode(`<${id}>`);
      expect(set.add(b, 1, b.length - 1), id).toBe(true);
    }
    expect(set.size).toBe(ids.length);
    for (const id of ids) {
      const b = enc.encode(id);
      expect(set.add(b, 0, b.length), id).toBe(false);
    }
    expect(set.add(enc.encode("M000020000"), 0, 10)).toBe(true);
    set.clear();
    expect(set.size).toBe(0);
    expect(set.add(enc.encode("M000000001"), 0, 10)).toBe(true);
  });
});
