// X12Segment cuts single elements out of the text without splitting it; they must be the
// elements a split gives, also past the last one and before and after `el` was read.
import { describe, expect, it } from "vitest";
import { X12Segment } from "../../src/ingest/x12-segments.js";

describe("X12Segment.element", () => {
  it("equals el[i] (or '') for every index, with empty and missing elements", () => {
    for (const text of ["NM1*82*1*DOC*A****XX*2144897848", "LX", "SV1*HC:99213*100*UN*1***1*", "HI|ABK>E1122|ABF>I10", "*", ""]) {
      const sep = text.includes("|") ? "|" : "*";
      const lazy = new X12Segment(text, sep, 1, 0, 1, false);
      const split = text.split(sep);
      expect(lazy.tag).toBe(split[0]);
      for (let i = 0; i <= split.length + 1; i++) expect(lazy.element(i)).toBe(split[i] ?? "");
      expect(lazy.el).toEqual(split);
      for (let i = 0; i <= split.length + 1; i++) expect(lazy.element(i)).toBe(split[i] ?? "");
    }
  });
});
