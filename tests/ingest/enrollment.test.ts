// 834 → participants: standard fields only, with the segment each field came from.
import { describe, expect, it } from "vitest";
import { join } from "node:path";
import { SAMPLES, ingest, query, tempDir } from "./helpers.js";

describe("834 enrollment", () => {
  it("sample_834_01: ids from REF*0F, DMG birth date and sex, coverage dates, Medicaid from REF*1D, sources recorded", async () => {
    const db = join(tempDir(), "w.duckdb");
    const r = await ingest([join(SAMPLES, "sample_834_01.txt"), join(SAMPLES, "sample_834_02.txt")], db);
    expect(r.counts.claimsIn).toBe(0);
    expect(r.counts.membersIn).toBe(6);
    const p = await query(
      db,
      "SELECT participant_id, birth_date::VARCHAR AS b, sex, medicaid, dual_elgbl_cd, coverage_start_date::VARCHAR AS c FROM sgv_reporting.participants ORDER BY 1",
    );
    expect(p.find((x) => x["participant_id"] === "MBR001")).toMatchObject({
      b: "1900-01-01",
      sex: "F",
      medicaid: true,
      dual_elgbl_cd: null,
      c: "2024-01-01",
    });
    // sample_834_02 has 'randomDoB': kept, birth date empty, the reason in the field sources
    expect(p.find((x) => x["participant_id"] === "randomParticipantID")).toMatchObject({ b: null, sex: "F" });
    const s = await query(
      db,
      "SELECT field_sources FROM sgv_reporting.participants_provenance WHERE participant_id = 'randomParticipantID'",
    );
    expect(JSON.parse(String(s[0]!["field_sources"]))).toMatchObject({
      participant_id: "REF*0F",
      birth_date: expect.stringMatching(/not a valid/) as unknown,
    });
  });
});
