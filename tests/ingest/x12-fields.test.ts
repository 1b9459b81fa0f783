// The 837 builder's hand-written field readers must give what the plain definitions give:
// SV107 pointers as Number() of each component, CCYYMMDD dates as the regex + Number() parse,
// ICD-10 codes upper-cased without dots or blanks.
import { describe, expect, it } from "vitest";
import { daysFromYmd, parseCcyymmdd } from "../../src/ingest/dates.js";
import { normalizeDx, readPointers } from "../../src/ingest/x12-837.js";
import { X12Segment } from "../../src/ingest/x12-segments.js";

const byNumber = (e: string, sep: string): number[] =>
  e
    .split(sep)
    .map((p) => Number(p))
    .filter((n) => Number.isInteger(n) && n > 0);

describe("837 field readers", () => {
  it("readPointers equals Number() per component", () => {
    for (const e of [
      "",
      "1",
      "1:2:3",
      "0",
      "0:4",
      "12::3",
      ":",
      "1:x",
      " 2:3",
      "1.0:2",
      "007",
      "1:2:",
      "-1:2",
      "1e1",
      "4:5:6:7:8:9:10:11:12",
    ])
      for (const sep of [":", ">", "^"])
        expect(readPointers(e.replaceAll(":", sep), sep), `${e} ${sep}`).toEqual(byNumber(e.replaceAll(":", sep), sep));
  });

  it("parseCcyymmdd equals the regex parse for every day of 1899–2201 and malformed values", () => {
    const slow = (s: string): number | null =>
      s.length !== 8 || !/^\d{8}$/.test(s)
        ? null
        : daysFromYmd(Number(s.slice(0, 4)), Number(s.slice(4, 6)), Number(s.slice(6, 8)));
    for (let y = 1899; y <= 2201; y += y > 1905 && y < 2195 ? 7 : 1)
      for (let m = 0; m <= 13; m++)
        for (let d = 0; d <= 32; d++) {
          const s = `${y}${String(m).padStart(2, "0")}${String(d).padStart(2, "0")}`;
          expect(parseCcyymmdd(s), s).toBe(slow(s));
        }
    for (const s of ["", "2025010", "202501011", "2025-1-01", "2025 101", "２０２５０１０１", "20250a01", "/0250101"])
      expect(parseCcyymmdd(s), s).toBe(slow(s));
  });

  it("normalizeDx equals the regex normalisation", () => {
    for (const raw of ["E1122", "e11.22", "E11 22", "I10", "Z79.4", "ｅ11", "É11", "A0\t1", ""])
      expect(normalizeDx(raw), raw).toBe(raw.replace(/[.\s]/g, "").toUpperCase());
  });

  it("a segment refilled with another one forgets the elements of the first", () => {
    const seg = new X12Segment("NM1*82*1*DOC*A****XX*2144897848", "*", 1, 0, 1, false);
    expect(seg.element(9)).toBe("2144897848");
    const src = "xxHI|ABK>E1122|ABF>I10yy";
    seg.reset(src, 2, src.length - 2, "|", 2, 40, 2, false);
    expect(seg.tag).toBe("HI");
    expect(seg.text).toBe("HI|ABK>E1122|ABF>I10");
    expect(seg.count).toBe(3);
    expect([0, 1, 2, 3, 9].map((i) => seg.element(i))).toEqual(["HI", "ABK>E1122", "ABF>I10", "", ""]);
    seg.reset("LX", 0, 2, "*", 3, 80, 3, false);
    expect([seg.tag, seg.count, seg.element(0), seg.element(1)]).toEqual(["LX", 1, "LX", ""]);
  });
});
