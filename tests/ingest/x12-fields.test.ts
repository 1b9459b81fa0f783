// The 837 builder's hand-written field readers must give what the plain definitions give:
// SV107 pointers as Number() of each component, CCYYMMDD dates as the regex + Number() parse,
// ICD-10 codes upper-cased without dots or blanks.
import { describe, expect, it } from "vitest";
import { daysFromYmd, parseCcyymmdd, parseIsoDate } from "../../src/ingest/dates.js";
import { Claim837Builder, normalizeDx, readPointers } from "../../src/ingest/x12-837.js";
import type { Claim, ClaimFormat, Rejection } from "../../src/ingest/types.js";
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

  it("parseIsoDate equals the regex parse for every day of 1899–2201 and malformed values", () => {
    const slow = (s: string): number | null => {
      const m = /^(\d{4})-(\d{2})-(\d{2})(?:$|T)/.exec(s);
      return m ? daysFromYmd(Number(m[1]), Number(m[2]), Number(m[3])) : null;
    };
    for (let y = 1899; y <= 2201; y += y > 1905 && y < 2195 ? 7 : 1)
      for (let m = 0; m <= 13; m++)
        for (let d = 0; d <= 32; d++) {
          const s = `${y}-${String(m).padStart(2, "0")}-${String(d).padStart(2, "0")}`;
          expect(parseIsoDate(s), s).toBe(slow(s));
          expect(parseIsoDate(`${s}T10:00:00Z`), s).toBe(slow(`${s}T10:00:00Z`));
        }
    for (const s of [
      "",
      "2025-01-0",
      "2025-01-011",
      "2025-01-01 ",
      "2025-01-01t",
      "2025/01/01",
      "2025-1-01",
      "+025-01-01",
      "２０２５-01-01",
      "2025-0a-01",
      "2025-01-01T",
    ])
      expect(parseIsoDate(s), s).toBe(slow(s));
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

  it("CLM05's parts and the HI qualifiers are read as split() and a qualifier set read them", () => {
    const d = { element: "*", component: ":", repetition: "^", segment: "~" };
    const read = (format: ClaimFormat, clm05: string, hi: string): { claim?: Claim; rejection?: Rejection } => {
      const out: { claim?: Claim; rejection?: Rejection } = {};
      const b = new Claim837Builder("f.x12", format, d, 1, { claim: (c) => (out.claim = c), reject: (r) => (out.rejection = r) });
      const segs = [
        "HL*1**20*1",
        "HL*2*1*22*0",
        "NM1*IL*1*DOE*J****MI*M1",
        `CLM*C1*100***${clm05}*Y*A*Y*Y`,
        hi,
        "DTP*434*D8*20250301",
      ];
      segs.forEach((t, i) => b.push(new X12Segment(t, "*", i + 1, 0, i + 1, false)));
      b.end();
      return out;
    };
    for (const format of ["837P", "837I"] as const)
      for (const clm05 of ["11:B:1", "11", "11:B", "11:B:7:X", "", ":B:1", "13::8", "11:B:", "11:B: 1 ", "1:B:1", "ab:B:1"]) {
        const comp = clm05.split(":");
        const facility = comp[0]!;
        const frequency = (comp[2] ?? "").trim();
        const element = !clm05
          ? "CLM05"
          : !/^[0-9]$/.test(frequency)
            ? "CLM05-3"
            : format === "837I" && !/^[0-9]{2}$/.test(facility)
              ? "CLM05-1"
              : null;
        const r = read(format, clm05, "HI*ABK:E119");
        expect({ format, clm05, element: r.rejection?.location.element ?? null }).toEqual({ format, clm05, element });
        if (r.claim)
          expect({
            format,
            clm05,
            frequency: r.claim.frequency,
            billType: r.claim.billType,
            pos: r.claim.placeOfService,
          }).toEqual({
            format,
            clm05,
            frequency,
            billType: format === "837I" && facility ? facility + frequency : null,
            pos: format === "837P" && facility ? facility : null,
          });
      }
    const qualifiers = new Set(["ABK", "ABF", "ABJ"]);
    const elements = [
      "ABK:A01",
      "ABF:B02",
      "ABJ:C03",
      "BK:D04",
      "ABKX:E05",
      "abk:F06",
      "ABZ:G07",
      "ABF",
      "APR:H08",
      "AB:I09",
      "ABJ:J10:X",
    ];
    const r = read("837I", "11:A:1", `HI*${elements.join("*")}`);
    const expected = elements
      .map((e) => e.split(":"))
      .filter(([q, code]) => qualifiers.has(q!) && code)
      .map(([q, code]) => ({ qualifier: q, raw: code }));
    // "ABF" without a code is an empty diagnosis: the claim is rejected for it
    expect(r.rejection?.location.element).toBe("HI08-2");
    const ok = read("837I", "11:A:1", `HI*${elements.filter((e) => e !== "ABF").join("*")}`);
    expect(ok.claim?.diagnoses.map((x) => ({ qualifier: x.qualifier, raw: x.raw }))).toEqual(expected);
  });

  it("segment tags are read as the text before the first separator", () => {
    for (const tag of ["CLM", "HI", "NM1", "SV1", "ISA", "LX", "ZZ", "ZZ9", "Z9Z", "nm1", "N", "ABCD", "É1", "1", "A-B", "99"])
      expect(new X12Segment(`${tag}*x*y`, "*", 1, 0, 1, false).tag, tag).toBe(tag);
  });
});
