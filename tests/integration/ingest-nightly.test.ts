// `hcc nightly --claims`: a warehouse that starts from claim and enrollment files — ingest →
// score → dbt build → validate — and the RADV audit-trail mart ties kept HCCs to claims.
import { describe, expect, it } from "vitest";
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { writeEobNdjson, writeX12Claims, writeX12Enrollment } from "../../src/ingest/generate.js";
import { DATA, ROOT, query, tempDir } from "../ingest/helpers.js";

const bin = join(ROOT, "bin", "hcc.js");
const dbt = join(ROOT, ".venv", "bin", "dbt");

describe.skipIf(!existsSync(dbt) && !process.env["CI"])("hcc nightly --claims", () => {
  it("ingests 834 + 837P + 837I + EOB files, scores, builds dbt and validates; every kept HCC has claim evidence", async () => {
    const dir = tempDir();
    const codes = readFileSync(join(DATA, "py2026", "V28", "crosswalk.tsv"), "utf8")
      .split("\n")
      .slice(1)
      .map((l) => l.split("\t")[0] ?? "")
      .filter(Boolean);
    const o = { seed: 3, year: 2025, members: 300, hccCodes: codes };
    const files = [join(dir, "m.834"), join(dir, "p.x12"), join(dir, "i.x12"), join(dir, "e.ndjson")];
    writeX12Enrollment(files[0]!, o);
    writeX12Claims(files[1]!, "837P", 400_000, o);
    writeX12Claims(files[2]!, "837I", 400_000, { ...o, seed: 4 });
    writeEobNdjson(files[3]!, 400_000, { ...o, seed: 5 });
    const db = join(dir, "w.duckdb");
    const r = spawnSync("node", [bin, "nightly", "--db", db, "--year", "2026", "--claims", ...files], { encoding: "utf8" });
    expect(r.stderr).toMatch(/validate: 300 participants; missing from marts 0; score mismatches 0; HCC set differences 0/);
    expect(r.status).toBe(0);
    expect(r.stderr).not.toMatch(/M000\d{5}/); // no member ids in progress output
    const [e] = await query(
      db,
      "SELECT count(*)::INTEGER AS n, count(DISTINCT participant_id)::INTEGER AS m FROM hcc_marts.fact_hcc_claim_evidence",
    );
    expect(e!["n"]).toBeGreaterThan(100);
    // every HCC the engine kept from a code has at least one accepted claim behind it
    const [missing] = await query(
      db,
      `SELECT count(*)::INTEGER AS n FROM hcc_intermediate.int_hcc_dx_codes_unnested k
       WHERE NOT EXISTS (SELECT 1 FROM hcc_marts.fact_hcc_claim_evidence f
         WHERE f.participant_id = k.participant_id AND f.model = k.model AND f.hcc = k.hcc)`,
    );
    expect(missing!["n"]).toBe(0);
  }, 300_000);
});
