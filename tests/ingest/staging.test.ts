// The staging writer writes claim and diagnosis rows cell by cell as bytes. Each cell must be what
// the text definition gives (q(): quoted when it holds a comma, quote or line break, "" for an
// empty string, nothing for null; numbers as String(); dates as formatDays), in UTF-8. (The
// warehouse step reading these files back is covered by the ingest tests that publish.)
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { formatDays } from "../../src/ingest/dates.js";
import { StagingWriter, stagingFile } from "../../src/ingest/staging.js";
import type { Claim, Decision, Rejection, SourceLocation } from "../../src/ingest/types.js";
import { tempDir } from "./helpers.js";

const q = (v: string | number | null): string => {
  if (v === null) return "";
  if (typeof v === "number") return String(v);
  return /[",\n\r]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v === "" ? '""' : v;
};

/** The location columns source_file … json_pointer, as text. */
const whereCells = (l: SourceLocation): (string | number)[] => [
  q(l.file),
  l.line || "",
  l.offset,
  q(l.segment ?? null),
  l.segmentIndex ?? "",
  q(l.element ?? null),
  q(l.pointer ?? null),
];

const DAY_1900 = -25567;
const DAY_2199 = 84005; // 2199-12-31

function claim(over: Partial<Claim>, file: string): Claim {
  return {
    format: "837P",
    kind: "professional",
    claimId: "C1",
    originalRef: null,
    frequency: "1",
    memberId: "M1",
    billType: null,
    placeOfService: "11",
    from: 20000,
    to: 20001,
    billingNpi: "1234567893",
    renderingNpi: null,
    diagnoses: [{ raw: "E11.9", code: "E119", position: 1, qualifier: "ABK" }],
    lines: [{ number: 1, procedure: "99213", revenueCode: null, pointers: [1], from: 20000, to: null, renderingNpi: null }],
    transaction: 3,
    location: { file, line: 7, offset: 123, segment: "CLM", segmentIndex: 9 },
    ...over,
  };
}

const accepted: Decision = { outcome: "accepted", reason: null, source: "professional", lineFor: () => 0 };
const filtered: Decision = { outcome: "filtered", reason: "no_eligible_procedure", source: null, lineFor: () => -1 };

describe("staging writer", () => {
  it("writes every cell as the text definition does (quotes, UTF-8, empty vs null, numbers, edge dates)", () => {
    const dir = tempDir();
    const file = join(dir, 'in, "odd" näme.x12');
    const cases: [Claim, Decision][] = [
      [claim({}, file), accepted],
      [
        claim(
          {
            claimId: 'A,"B"\nC',
            originalRef: "",
            memberId: "Müller-Ωμέγα-😀",
            billType: "131",
            placeOfService: null,
            from: DAY_1900,
            to: DAY_2199,
            renderingNpi: "x\ry",
            transaction: null,
            diagnoses: [
              { raw: "e11.9 ", code: "E119", position: 12, qualifier: "ABF" },
              { raw: "Z,1", code: "Z1", position: 2147483648, qualifier: "" },
            ],
            location: { file, line: 0, offset: 2 ** 40, pointer: "/item/0/a,b" },
          },
          file,
        ),
        filtered,
      ],
      [claim({ from: null, to: null, frequency: "", lines: [] }, file), accepted],
      [claim({ from: 11016, to: 11016 }, file), accepted], // 2000-02-29
    ];
    const w = new StagingWriter(dir, 1);
    for (const [c, d] of cases) w.writeClaim(c, d);
    w.close();

    const claimLines = cases.map(([c, d], i) => {
      const l = c.location;
      return [
        i + 1,
        c.format,
        c.kind,
        q(c.claimId),
        q(c.originalRef),
        q(c.frequency),
        q(c.memberId),
        q(c.billType),
        q(c.placeOfService),
        c.from === null ? "" : formatDays(c.from),
        c.to === null ? "" : formatDays(c.to),
        q(c.billingNpi),
        q(c.renderingNpi),
        c.transaction ?? "",
        d.outcome,
        d.reason ?? "",
        "",
        d.source ?? "",
        ...whereCells(l),
        c.diagnoses.length,
        c.lines.length,
      ].join(",");
    });
    const text = readFileSync(stagingFile(dir, "claims", 1), "utf8").split("\n");
    expect(text.slice(1, -1).join("\n")).toBe(claimLines.join("\n"));
    expect(text.at(-1)).toBe("");

    const dxLines = cases.flatMap(([c, d], i) =>
      c.diagnoses.map((dx) => {
        const li = d.lineFor(dx);
        const l = li >= 0 ? c.lines[li]! : null;
        const to = (v: number | null): string => (v === null ? "" : formatDays(v));
        const head = [i + 1, q(dx.code), q(dx.raw), dx.position, q(dx.qualifier)].join(",");
        return l
          ? `${head},${l.number},${q(l.procedure)},${q(l.revenueCode)},${q(l.renderingNpi)},${to(l.to ?? c.to)}`
          : `${head},,,,,${to(c.to)}`;
      }),
    );
    const dx = readFileSync(stagingFile(dir, "dx", 1), "utf8").split("\n");
    expect(dx.slice(1, -1).join("\n")).toBe(dxLines.join("\n"));
    expect(formatDays(DAY_1900)).toBe("1900-01-01");
    expect(formatDays(DAY_2199)).toBe("2199-12-31");
  });

  it("writes rejection rows as the text definition does, numbered with the claims", () => {
    const dir = tempDir();
    const file = join(dir, "bad,file.x12");
    const w = new StagingWriter(dir, 3);
    w.writeClaim(claim({}, file), accepted);
    const rejections: Rejection[] = [
      {
        code: "E_SEGMENT",
        message: 'SV1: the file ends inside this segment, "truncated"',
        location: { file, line: 12, offset: 4096, segment: "SV1", segmentIndex: 40, element: "SV101-2" },
        format: "837P",
        claimId: "R,1",
        memberId: "Ünïcode",
        transaction: 2,
      },
      {
        code: "E_JSON",
        message: "not JSON",
        location: { file, line: 0, offset: 0, pointer: "/item/0" },
        format: "fhir-eob",
        claimId: null,
        memberId: "",
        transaction: null,
      },
    ];
    for (const r of rejections) w.writeRejection(r);
    w.close();
    const expected = rejections.map((r, i) => {
      const l = r.location;
      return [
        i + 2,
        r.format,
        "",
        q(r.claimId),
        "",
        "",
        q(r.memberId),
        "",
        "",
        "",
        "",
        "",
        "",
        r.transaction ?? "",
        "rejected",
        r.code,
        q(r.message),
        "",
        ...whereCells(l),
        "",
        "",
      ].join(",");
    });
    const text = readFileSync(stagingFile(dir, "claims", 3), "utf8").split("\n");
    expect(text.slice(2, -1).join("\n")).toBe(expected.join("\n"));
    expect(w.claimRows).toBe(3);
  });

  it("flushes long runs of rows in order (more than one buffer)", () => {
    const dir = tempDir();
    const w = new StagingWriter(dir, 2);
    const n = 20000;
    for (let i = 0; i < n; i++) w.writeClaim(claim({ claimId: `C${i}`, memberId: `M${i % 97}` }, "f.x12"), accepted);
    expect(w.claimRows).toBe(n);
    w.close();
    const rows = readFileSync(stagingFile(dir, "claims", 2), "utf8")
      .trimEnd()
      .split("\n")
      .slice(1);
    expect(rows.length).toBe(n);
    rows.forEach((r, i) => expect(r.split(",")[3]).toBe(`C${i}`));
  });
});
