// The staging writer writes claim rows cell by cell as bytes. Each cell must be what the text
// definition gives (q(): quoted when it holds a comma, quote or line break, "" for an empty
// string, nothing for null; numbers as String(); dates as formatDays), in UTF-8. Diagnosis rows go
// to a Parquet part (dx-part.ts), read back here with DuckDB: the same values, nulls and types.
// (The warehouse step reading these files back is covered by the ingest tests that publish.)
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { formatDays } from "../../src/ingest/dates.js";
import { DX_COLUMNS, StagingWriter, stagingFile } from "../../src/ingest/staging.js";
import type { Claim, Decision, Rejection, SourceLocation } from "../../src/ingest/types.js";
import { query, tempDir } from "./helpers.js";

/** The rows of a dx staging part (DuckDB reads the Parquet file), dates as days since 1970-01-01. */
async function dxRows(file: string): Promise<Record<string, unknown>[]> {
  return query(
    ":memory:",
    `SELECT * REPLACE (CAST(service_date - DATE '1970-01-01' AS INTEGER) AS service_date) FROM read_parquet('${file}')`,
  );
}

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
  it("writes every cell as the text definition does (quotes, UTF-8, empty vs null, numbers, edge dates)", async () => {
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
              { raw: "Z,1", code: "Z1", position: 2147483647, qualifier: "" },
              { raw: "é1", code: "É1", position: 3, qualifier: "ABF" },
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

    const dxExpected = cases.flatMap(([c, d], i) =>
      c.diagnoses.map((dx) => {
        const li = d.lineFor(dx);
        const l = li >= 0 ? c.lines[li]! : null;
        return {
          claim_seq: i + 1,
          diagnosis_code: dx.code,
          diagnosis_code_raw: dx.raw,
          dx_position: dx.position,
          dx_qualifier: dx.qualifier,
          line_number: l ? l.number : null,
          procedure_code: l ? l.procedure : null,
          revenue_code: l ? l.revenueCode : null,
          line_rendering_npi: l ? l.renderingNpi : null,
          service_date: l && l.to !== null ? l.to : c.to,
        };
      }),
    );
    const dxFile = stagingFile(dir, "dx", 1);
    expect(dxFile.endsWith("dx-1.parquet")).toBe(true);
    const dx = await dxRows(dxFile);
    expect(dx).toEqual(dxExpected);
    expect(Object.keys(dx[0]!)).toEqual([...DX_COLUMNS]);
    const types = await query(
      ":memory:",
      `SELECT column_name, column_type FROM (DESCRIBE SELECT * FROM read_parquet('${dxFile}'))`,
    );
    expect(Object.fromEntries(types.map((t) => [t["column_name"], t["column_type"]]))).toEqual({
      claim_seq: "INTEGER",
      diagnosis_code: "VARCHAR",
      diagnosis_code_raw: "VARCHAR",
      dx_position: "INTEGER",
      dx_qualifier: "VARCHAR",
      line_number: "INTEGER",
      procedure_code: "VARCHAR",
      revenue_code: "VARCHAR",
      line_rendering_npi: "VARCHAR",
      service_date: "DATE",
    });
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

  it("flushes long runs of rows in order (more than one buffer, more than one dx row group)", async () => {
    const dir = tempDir();
    const w = new StagingWriter(dir, 2);
    const n = 20000;
    const dxOf = (i: number): Claim["diagnoses"] =>
      Array.from({ length: 4 }, (_, k) => ({
        raw: `A${i % 1000}.${k}`,
        code: `A${i % 1000}${k}`,
        position: k + 1,
        qualifier: k ? "ABF" : "ABK",
      }));
    for (let i = 0; i < n; i++)
      w.writeClaim(claim({ claimId: `C${i}`, memberId: `M${i % 97}`, diagnoses: dxOf(i) }, "f.x12"), i % 3 ? accepted : filtered);
    expect(w.claimRows).toBe(n);
    w.close();
    const rows = readFileSync(stagingFile(dir, "claims", 2), "utf8")
      .trimEnd()
      .split("\n")
      .slice(1);
    expect(rows.length).toBe(n);
    rows.forEach((r, i) => expect(r.split(",")[3]).toBe(`C${i}`));
    // 80,000 diagnosis rows: two row groups (65,536 rows each at most), each with its own dictionaries
    const file = stagingFile(dir, "dx", 2);
    const groups = await query(":memory:", `SELECT DISTINCT row_group_id FROM parquet_metadata('${file}')`);
    expect(groups.length).toBe(2);
    const dx = await dxRows(file);
    expect(dx.length).toBe(4 * n);
    dx.forEach((r, j) => {
      const i = j >> 2;
      const k = j & 3;
      expect(r).toEqual({
        claim_seq: i + 1,
        diagnosis_code: `A${i % 1000}${k}`,
        diagnosis_code_raw: `A${i % 1000}.${k}`,
        dx_position: k + 1,
        dx_qualifier: k ? "ABF" : "ABK",
        line_number: i % 3 ? 1 : null,
        procedure_code: i % 3 ? "99213" : null,
        revenue_code: null,
        line_rendering_npi: null,
        service_date: 20001, // the line has no end date: the claim's
      });
    });
  });

  it("a diagnosis position or line number outside 32 bits is an internal error, not a wrapped value", () => {
    const dir = tempDir();
    const w = new StagingWriter(dir, 4);
    const big = claim({ diagnoses: [{ raw: "E11.9", code: "E119", position: 2 ** 31, qualifier: "ABK" }] }, "f.x12");
    expect(() => w.writeClaim(big, accepted)).toThrow(/dx_position value 2147483648 is not a 32-bit whole number/);
    w.close();
  });
});
