// A `--no-factors` run writes no factor rows, so the marts cannot use the engine's terms, codes
// or hierarchy drops: fact_member_hccs must still list every kept HCC (from risk_scores' lists),
// without codes or coefficients, and nothing dropped; validation still agrees 100%.
import { describe, expect, it } from "vitest";
import { DuckDBInstance } from "@duckdb/node-api";
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const bin = new URL("../../bin/hcc.js", import.meta.url).pathname;
const venv = new URL("../../.venv/bin/dbt", import.meta.url).pathname;

describe.skipIf(!existsSync(venv) && !process.env["CI"])("hcc nightly --no-factors", () => {
  it("kept HCCs come from risk_scores' lists; no codes, coefficients or drops are invented", async () => {
    const dir = mkdtempSync(join(tmpdir(), "hcc-nofactors-"));
    const db = join(dir, "warehouse.duckdb");
    try {
      const r = spawnSync("node", [bin, "nightly", "--db", db, "--members", "400", "--seed", "3", "--no-factors", "--quiet"], {
        encoding: "utf8",
      });
      expect(r.stderr).toContain("validate: 400 participants; missing from marts 0; score mismatches 0; HCC set differences 0");
      expect(r.status).toBe(0);
      const inst = await DuckDBInstance.create(db, { access_mode: "READ_ONLY" });
      const con = await inst.connect();
      try {
        const row = (
          await con.runAndReadAll(`select
            (select count(*) from sgv_reporting.risk_score_factors) as n_factors,
            (select count(*) from hcc_marts.fact_member_hccs where hcc_status = 'kept' and model = 'V28') as n_kept,
            (select count(*) from hcc_marts.fact_member_hccs where hcc_status <> 'kept') as n_other,
            (select count(*) from hcc_marts.fact_member_hccs where dx_codes is not null or coefficient is not null) as n_invented,
            (select sum(len(v28_hccs)) from sgv_reporting.risk_scores) as n_listed`)
        ).getRowObjectsJS()[0];
        expect(row?.["n_factors"]).toBe(0n);
        expect(Number(row?.["n_kept"])).toBeGreaterThan(100);
        expect(Number(row?.["n_kept"])).toBe(Number(row?.["n_listed"]));
        expect(row?.["n_other"]).toBe(0n);
        expect(row?.["n_invented"]).toBe(0n);
      } finally {
        con.closeSync();
        inst.closeSync();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
