// CMS risk-adjustment filtering (docs/ingest.md#filtering) and claim frequency handling.
import { describe, expect, it } from "vitest";
import { join } from "node:path";
import { decideClaim, buildProcedureLists, type FilterOptions } from "../../src/ingest/filter.js";
import { daysFromYmd } from "../../src/ingest/dates.js";
import type { Claim } from "../../src/ingest/types.js";
import { claimP, ingest, query, tempDir, writeFile, x12P } from "./helpers.js";

const day = (s: string): number => daysFromYmd(Number(s.slice(0, 4)), Number(s.slice(5, 7)), Number(s.slice(8, 10)))!;
const lists = buildProcedureLists(new Map([[2025, new Set(["99213"])]]));
const opts: FilterOptions = { period: { from: day("2025-01-01"), to: day("2025-12-31") }, procedures: lists, tob87x: true };

function claim(p: Partial<Claim>): Claim {
  return {
    format: "837I",
    kind: "institutional",
    claimId: "X",
    originalRef: null,
    frequency: "1",
    memberId: "M",
    billType: "111",
    placeOfService: null,
    from: day("2025-05-01"),
    to: day("2025-05-03"),
    billingNpi: null,
    renderingNpi: null,
    diagnoses: [{ raw: "E1122", code: "E1122", position: 1, qualifier: "ABK" }],
    lines: [
      {
        number: 1,
        procedure: "99213",
        revenueCode: null,
        pointers: [1],
        from: day("2025-05-01"),
        to: day("2025-05-01"),
        renderingNpi: null,
      },
    ],
    transaction: null,
    location: { file: "f", line: 1, offset: 0 },
    ...p,
  };
}
const decide = (p: Partial<Claim>, o: Partial<FilterOptions> = {}): string => {
  const d = decideClaim(claim(p), { ...opts, ...o });
  return d.outcome === "accepted" ? `accepted:${d.source ?? ""}` : `filtered:${d.reason ?? ""}`;
};

describe("CMS risk-adjustment filter", () => {
  it("inpatient 11x/41x need no procedure code; the through date must be in the period", () => {
    expect(decide({ billType: "111", lines: [] })).toBe("accepted:inpatient");
    expect(decide({ billType: "417", lines: [] })).toBe("accepted:inpatient");
    expect(decide({ billType: "111", to: day("2026-01-02") })).toBe("filtered:out_of_period");
  });
  it("outpatient 12x 13x 43x 71x 73x 76x 77x 85x need an eligible CPT/HCPCS line in the period", () => {
    for (const t of ["12", "13", "43", "71", "73", "76", "77", "85"])
      expect(decide({ billType: `${t}1` })).toBe("accepted:outpatient");
    expect(
      decide({
        billType: "131",
        lines: [{ number: 1, procedure: "36415", revenueCode: null, pointers: [], from: null, to: null, renderingNpi: null }],
      }),
    ).toBe("filtered:no_eligible_procedure");
  });
  it("other bill types are filtered (SNF 21x, hospice 81x, home health 32x …)", () => {
    for (const t of ["18", "21", "22", "32", "33", "34", "72", "81", "82", "83", "86", "89"])
      expect(decide({ billType: `${t}1` })).toBe("filtered:bill_type");
  });
  it("87x follows the option", () => {
    expect(decide({ billType: "871" })).toBe("accepted:outpatient");
    expect(decide({ billType: "871" }, { tob87x: false })).toBe("filtered:bill_type");
  });
  it("professional claims need an eligible line; the line's date decides the period; voids and pharmacy are filtered", () => {
    expect(decide({ kind: "professional", billType: null })).toBe("accepted:professional");
    expect(
      decide({
        kind: "professional",
        billType: null,
        from: day("2024-12-30"),
        to: day("2024-12-30"),
        lines: [
          {
            number: 1,
            procedure: "99213",
            revenueCode: null,
            pointers: [1],
            from: day("2024-12-30"),
            to: day("2024-12-30"),
            renderingNpi: null,
          },
        ],
      }),
    ).toBe("filtered:out_of_period");
    expect(decide({ kind: "professional", billType: null }, { period: null })).toBe("accepted:professional");
    expect(decide({ frequency: "8" })).toBe("filtered:void");
    expect(decide({ kind: "pharmacy", billType: null })).toBe("filtered:not_medical");
    expect(decide({ diagnoses: [] })).toBe("filtered:no_diagnosis");
  });
  it("the line a diagnosis leans on is the eligible line pointing at it", () => {
    const c = claim({
      kind: "professional",
      billType: null,
      diagnoses: [
        { raw: "A", code: "A", position: 1, qualifier: "ABK" },
        { raw: "B", code: "B", position: 2, qualifier: "ABF" },
      ],
      lines: [
        { number: 1, procedure: "99213", revenueCode: null, pointers: [1], from: null, to: null, renderingNpi: null },
        { number: 2, procedure: "99213", revenueCode: null, pointers: [2], from: null, to: null, renderingNpi: null },
      ],
    });
    const d = decideClaim(c, opts);
    expect(c.diagnoses.map((x) => d.lineFor(x))).toEqual([0, 1]);
  });
});

describe("claim frequency: a replacement supersedes, a void removes", () => {
  it("7 replaces the original (REF*F8), 8 voids; a later original with another id stands", async () => {
    const d = tempDir();
    const f = writeFile(
      d,
      "freq.x12",
      x12P([
        claimP("O1", ["E1122"]),
        claimP("O2", ["I509"]),
        claimP("R1", ["E119"], { freq: "7", ref: "O1" }),
        claimP("V1", ["I509"], { freq: "8", ref: "O2" }),
        claimP("O3", ["J449"]),
      ]),
    );
    const db = join(d, "w.duckdb");
    const r = await ingest([f], db);
    expect(r.counts.claimsIn).toBe(5);
    const o = await query(db, "SELECT claim_id, outcome, reason FROM sgv_reporting.claims_ingest_outcomes ORDER BY claim_seq");
    expect(o.map((x) => `${String(x["claim_id"])}:${String(x["reason"] ?? x["outcome"])}`)).toEqual([
      "O1:replaced",
      "O2:voided",
      "R1:accepted",
      "V1:void",
      "O3:accepted",
    ]);
    const dx = await query(
      db,
      "SELECT list(diagnosis_code ORDER BY diagnosis_code) AS l FROM sgv_reporting.participant_diagnosis_codes",
    );
    expect(dx[0]!["l"]).toEqual(["E119", "J449"]);
  });
});
