// Bad input: every claim ends accepted, filtered or rejected with its location; the rest of the
// file is ingested; claims in = accepted + filtered + rejected (issue 11).
import { describe, expect, it } from "vitest";
import { join } from "node:path";
import { claimP, ingest, query, tempDir, writeFile, x12P } from "./helpers.js";

async function outcomes(db: string): Promise<Record<string, unknown>[]> {
  return query(
    db,
    "SELECT claim_id, outcome, reason, message, source_line::INTEGER AS source_line, segment, segment_index::INTEGER AS segment_index, element, json_pointer FROM sgv_reporting.claims_ingest_outcomes ORDER BY claim_seq",
  );
}

describe("hcc ingest: bad input", () => {
  it("truncated segment: the claim it cuts is rejected with its line; earlier claims stand", async () => {
    const d = tempDir();
    const full = x12P([claimP("A1", ["E1122"]), claimP("A2", ["I509"])], { se: false, ge: false, iea: false });
    const cut = full.slice(0, full.lastIndexOf("SV1") + 12); // ends inside SV1, no terminator
    const f = writeFile(d, "cut.x12", cut);
    const r = await ingest([f], join(d, "w.duckdb"));
    expect(r.counts.claimsIn).toBe(2);
    expect(r.counts.accepted + r.counts.filtered + r.counts.rejected).toBe(2);
    const o = await outcomes(join(d, "w.duckdb"));
    // the transaction has no SE: both claims are rejected (the envelope cannot vouch for them)
    expect(o.map((x) => x["outcome"])).toEqual(["rejected", "rejected"]);
    expect(o[1]!["reason"]).toBe("E_SEGMENT");
    expect(String(o[1]!["message"])).toMatch(/truncated/);
    expect(o[1]!["segment"]).toBe("SV1");
    expect(o[0]!["reason"]).toBe("E_ENVELOPE");
    expect(String(o[0]!["message"])).toMatch(/has no SE/);
  });

  it("wrong delimiters inside a claim: that claim is rejected with segment and line, the next claim is accepted", async () => {
    const d = tempDir();
    const bad = claimP("B1", ["E1122"]).map((s) => s.replaceAll("*", "|"));
    const f = writeFile(d, "delims.x12", x12P([bad, claimP("B2", ["I509"])]));
    const r = await ingest([f], join(d, "w.duckdb"));
    expect(r.counts.claimsIn).toBe(2);
    const o = await outcomes(join(d, "w.duckdb"));
    expect(o[0]).toMatchObject({ outcome: "rejected", reason: "E_SEGMENT", source_line: 10, segment_index: 10 });
    expect(String(o[0]!["message"])).toMatch(/element separator/);
    expect(o[1]).toMatchObject({ claim_id: "B2", outcome: "accepted" });
  });

  it("missing SE rejects the transaction's claims; missing GE/IEA are warnings and the claims stand", async () => {
    const d = tempDir();
    const noSe = writeFile(d, "nose.x12", x12P([claimP("C1", ["E1122"])], { se: false }));
    const noGe = writeFile(d, "noge.x12", x12P([claimP("C2", ["E1122"])], { ge: false, iea: false }));
    const badCount = writeFile(d, "count.x12", x12P([claimP("C3", ["E1122"])], { seCount: 3 }));
    const r = await ingest([noSe, noGe, badCount], join(d, "w.duckdb"));
    const o = await outcomes(join(d, "w.duckdb"));
    expect(o.map((x) => `${String(x["claim_id"])}:${String(x["outcome"])}:${String(x["reason"])}`)).toEqual([
      "C1:rejected:E_ENVELOPE",
      "C2:accepted:null",
      "C3:rejected:E_ENVELOPE",
    ]);
    expect(r.warnings).toBeGreaterThanOrEqual(2);
    // the rejected transactions' diagnoses stay out of the published diagnoses (C2's E1122 only)
    const dx = await query(
      join(d, "w.duckdb"),
      `SELECT k.claim_id, d.diagnosis_code FROM sgv_reporting.claims_diagnoses d
       JOIN sgv_reporting.claims_ingest_outcomes k USING (claim_seq) ORDER BY 1`,
    );
    expect(dx.map((x) => `${String(x["claim_id"])}:${String(x["diagnosis_code"])}`)).toEqual(["C2:E1122"]);
    expect(r.counts.dxRows).toBe(1);
    const runs = await query(join(d, "w.duckdb"), "SELECT warnings FROM sgv_reporting.ingest_runs");
    expect(String(runs[0]!["warnings"])).toMatch(/no GE/);
    expect(String(runs[0]!["warnings"])).toMatch(/no IEA/);
  });

  it("non-UTF-8 bytes: the claim holding them is rejected (X12 and NDJSON), the rest ingested", async () => {
    const d = tempDir();
    const text = x12P([claimP("D1", ["E1122"]), claimP("D2", ["I509"])]);
    const i = text.indexOf("CLM*D2");
    const bytes = Buffer.concat([Buffer.from(text.slice(0, i + 7)), Buffer.from([0xff, 0xfe]), Buffer.from(text.slice(i + 7))]);
    const x = writeFile(d, "enc.x12", bytes);
    const eob = (id: string): string =>
      JSON.stringify({
        resourceType: "ExplanationOfBenefit",
        id,
        patient: { reference: "Patient/P1" },
        billablePeriod: { start: "2025-02-01", end: "2025-02-01" },
        diagnosis: [
          { sequence: 1, diagnosisCodeableConcept: { coding: [{ system: "http://hl7.org/fhir/sid/icd-10-cm", code: "E1122" }] } },
        ],
        item: [
          {
            sequence: 1,
            productOrService: { coding: [{ system: "https://bluebutton.cms.gov/resources/codesystem/hcpcs", code: "99213" }] },
          },
        ],
      });
    const nd = writeFile(
      d,
      "enc.ndjson",
      Buffer.concat([Buffer.from(eob("E1") + "\n"), Buffer.from([0x7b, 0xc3, 0x28, 0x7d, 0x0a]), Buffer.from(eob("E3") + "\n")]),
    );
    const r = await ingest([x, nd], join(d, "w.duckdb"));
    expect(r.counts.claimsIn).toBe(5);
    const o = await outcomes(join(d, "w.duckdb"));
    expect(o.map((z) => `${String(z["outcome"])}:${String(z["reason"])}`)).toEqual([
      "accepted:null",
      "rejected:E_ENCODING",
      "accepted:null",
      "rejected:E_ENCODING",
      "accepted:null",
    ]);
    expect(o[3]!["source_line"]).toBe(2);
  });

  it("invalid JSON lines and unknown resource types are rejected with line and JSON pointer", async () => {
    const d = tempDir();
    const good = JSON.stringify({
      resourceType: "ExplanationOfBenefit",
      id: "G1",
      patient: { reference: "Patient/P1" },
      billablePeriod: { start: "2025-02-01" },
      diagnosis: [],
    });
    const f = writeFile(
      d,
      "mix.ndjson",
      [
        good,
        "{not json",
        JSON.stringify({ resourceType: "Patient", id: "x" }),
        "",
        JSON.stringify({
          resourceType: "ExplanationOfBenefit",
          id: "G2",
          patient: { reference: "Patient/P1" },
          billablePeriod: { start: "2025-13-01" },
        }),
      ].join("\n") + "\n",
    );
    const r = await ingest([f], join(d, "w.duckdb"));
    expect(r.counts.claimsIn).toBe(4);
    const o = await outcomes(join(d, "w.duckdb"));
    expect(o.map((z) => [z["outcome"], z["reason"], z["source_line"], z["json_pointer"]])).toEqual([
      ["filtered", "no_diagnosis", 1, null],
      ["rejected", "E_JSON", 2, null],
      ["rejected", "E_RESOURCE", 3, "/resourceType"],
      ["rejected", "E_DATE", 5, "/billablePeriod/start"],
    ]);
    // messages never echo the record's content
    for (const x of o) expect(typeof x["message"] === "string" ? x["message"] : "").not.toMatch(/P1|G1|G2|not json/);
  });

  it("sequences outside FHIR positiveInt are rejected with their pointer; the staged 32-bit columns never see them", async () => {
    const d = tempDir();
    const eob = (id: string, dxSeq: unknown, itemSeq: unknown): string =>
      JSON.stringify({
        resourceType: "ExplanationOfBenefit",
        id,
        patient: { reference: "Patient/P1" },
        billablePeriod: { start: "2025-02-01" },
        diagnosis: [
          {
            sequence: dxSeq,
            diagnosisCodeableConcept: { coding: [{ system: "http://hl7.org/fhir/sid/icd-10-cm", code: "E11.9" }] },
          },
        ],
        item: [
          { sequence: itemSeq, productOrService: { coding: [{ system: "http://www.ama-assn.org/go/cpt", code: "99213" }] } },
        ],
      });
    const f = writeFile(
      d,
      "seq.ndjson",
      [
        eob("OK", 2147483647, 1),
        eob("BIG", 2147483648, 1),
        eob("ZERO", 0, 1),
        eob("HALF", 1, 1.5),
        eob("ITEMBIG", 1, 2 ** 31),
      ].join("\n") + "\n",
    );
    const db = join(d, "w.duckdb");
    const r = await ingest([f], db);
    expect(r.counts.claimsIn).toBe(5);
    const o = await outcomes(db);
    expect(o.map((z) => [z["outcome"], z["reason"], z["json_pointer"]])).toEqual([
      ["accepted", null, null],
      ["rejected", "E_RESOURCE", "/diagnosis/0/sequence"],
      ["rejected", "E_RESOURCE", "/diagnosis/0/sequence"],
      ["rejected", "E_RESOURCE", "/item/0/sequence"],
      ["rejected", "E_RESOURCE", "/item/0/sequence"],
    ]);
    const dx = await query(db, "SELECT dx_position, line_number FROM sgv_reporting.claims_diagnoses");
    expect(dx).toEqual([{ dx_position: 2147483647, line_number: 1 }]);
  });

  it("an LX01 that is not a whole number 1 … 2^31 − 1 numbers the line by count", async () => {
    const d = tempDir();
    const lx = (n: string): string[] => [`LX*${n}`, "SV1*HC:99213*100*UN*1***1", "DTP*472*D8*20250301"];
    const f = writeFile(
      d,
      "lx.x12",
      x12P([["CLM*L1*100***11:B:1*Y*A*Y*Y", "HI*ABK:E119", ...lx("99999999999"), ...lx("-2"), ...lx("0"), ...lx("7")]]),
    );
    const db = join(d, "w.duckdb");
    await ingest([f], db);
    // the diagnosis leans on the first eligible line, whose LX01 does not fit 32 bits: line 1 by count
    const dx = await query(db, "SELECT line_number FROM sgv_reporting.claims_diagnoses");
    expect(dx).toEqual([{ line_number: 1 }]);
    const lines = await query(db, "SELECT line_count FROM sgv_reporting.claims_ingest_outcomes");
    expect(lines).toEqual([{ line_count: 4 }]);
  });

  it("a file that is not a claim format fails the ingest and leaves the previous tables (atomic)", async () => {
    const d = tempDir();
    const db = join(d, "w.duckdb");
    const ok = writeFile(d, "ok.x12", x12P([claimP("F1", ["E1122"])]));
    const first = await ingest([ok], db);
    expect(first.counts.accepted).toBe(1);
    const junk = writeFile(d, "junk.txt", "hello, world\n");
    await expect(ingest([ok, junk], db)).rejects.toThrow(/unknown format/);
    const rows = await query(db, "SELECT count(*)::INTEGER AS n FROM sgv_reporting.participant_diagnosis_codes");
    expect(rows[0]!["n"]).toBe(1);
    const runs = await query(db, "SELECT count(*)::INTEGER AS n FROM sgv_reporting.ingest_runs");
    expect(runs[0]!["n"]).toBe(1);
    const stale = await query(db, "SELECT count(*)::INTEGER AS n FROM duckdb_tables() WHERE table_name LIKE 'hcc_ingest_%'");
    expect(stale[0]!["n"]).toBe(0);
  });
});
