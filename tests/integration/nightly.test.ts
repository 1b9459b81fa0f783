// `hcc nightly` end to end on the embedded default: generate → score (worker pool) → dbt build
// (seeds included) → validate; then `hcc validate` on the same file; and a PY2025 (V24/V28 blend) run whose
// Tuva-compatible marts are checked. Needs the venv (dbt).
import { describe, expect, it } from "vitest";
import { DuckDBInstance } from "@duckdb/node-api";
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const bin = new URL("../../bin/hcc.js", import.meta.url).pathname;
const venv = new URL("../../.venv/bin/dbt", import.meta.url).pathname;

/** Segments DuckDB writes without compressing: one value for the whole segment, or the values as they are. */
const PLAIN = ["Constant", "Uncompressed"];

/** The Parquet file each view of dbt's schemas reads (schema.view → path). */
async function viewFiles(db: string): Promise<Map<string, string>> {
  const inst = await DuckDBInstance.create(db, { access_mode: "READ_ONLY" });
  const con = await inst.connect();
  try {
    const rows = (
      await con.runAndReadAll(
        `SELECT schema_name || '.' || view_name, regexp_extract(sql, 'read_parquet\\(''([^'']+)''\\)', 1)
         FROM duckdb_views() WHERE schema_name LIKE 'hcc\\_%' ESCAPE '\\' AND sql LIKE '%read_parquet(%'`,
      )
    ).getRows();
    return new Map(rows.map((r) => [String(r[0]), String(r[1])]));
  } finally {
    con.closeSync();
    inst.closeSync();
  }
}

/** The distinct compression methods of a table's column segments (DuckDB storage_info). */
async function compressionsOf(db: string, table: string): Promise<string[]> {
  const inst = await DuckDBInstance.create(db, { access_mode: "READ_ONLY" });
  const con = await inst.connect();
  try {
    const rows = (
      await con.runAndReadAll(
        `SELECT DISTINCT compression FROM pragma_storage_info('${table}') WHERE segment_type <> 'VALIDITY' ORDER BY 1`,
      )
    ).getRows();
    return rows.map((r) => String(r[0]));
  } finally {
    con.closeSync();
    inst.closeSync();
  }
}

describe.skipIf(!existsSync(venv) && !process.env["CI"])("hcc nightly (embedded DuckDB warehouse)", () => {
  it("creates, scores, builds the dbt marts and validates them 100% against the engine", async () => {
    const dir = mkdtempSync(join(tmpdir(), "hcc-nightly-"));
    const db = join(dir, "warehouse.duckdb");
    const r = spawnSync("node", [bin, "nightly", "--db", db, "--members", "1500", "--seed", "5", "--quiet"], {
      encoding: "utf8",
    });
    expect(r.stderr).toContain("validate: 1500 participants; missing from marts 0; score mismatches 0; HCC set differences 0");
    expect(r.status).toBe(0);
    // no member ids or codes in progress output
    expect(r.stderr).not.toMatch(/M0000\d{5}/);
    const v = spawnSync("node", [bin, "validate", "--db", db], { encoding: "utf8" });
    expect(v.status).toBe(0);
    expect(v.stdout).toMatch(
      /1500 participants; missing from fact_patient_risk_scores: 0; score mismatches: 0; HCC set differences: 0/,
    );
    // dbt's table models are views over Parquet files beside the warehouse (HCC_DBT_STORAGE unset:
    // parquet), in slot a after the first build
    const marts = await viewFiles(db);
    expect(marts.get("hcc_marts.fact_patient_risk_scores")).toBe(
      `${db}.dbt/parquet/hcc_marts.fact_patient_risk_scores.a.parquet`,
    );
    expect(marts.get("hcc_intermediate.int_hcc_calculations")).toMatch(
      /\.dbt\/parquet\/hcc_intermediate\.int_hcc_calculations\.a\.parquet$/,
    );
    expect(marts.get("hcc_staging.stg_hcc_raw_scores")).toMatch(/\.a\.parquet$/);
    // the next build writes the other slot and moves the views to it, still valid
    const again = spawnSync("node", [bin, "nightly", "--db", db, "--quiet"], { encoding: "utf8" });
    expect(again.status).toBe(0);
    expect(again.stderr).toContain("missing from marts 0; score mismatches 0; HCC set differences 0");
    const moved = await viewFiles(db);
    expect([...moved.keys()].sort()).toEqual([...marts.keys()].sort());
    for (const [view, file] of marts) expect(moved.get(view), view).toBe(file.replace(/\.a\.parquet$/, ".b.parquet"));
    rmSync(dir, { recursive: true, force: true });
  });

  it.each([
    ["HCC_DBT_STORAGE", "tables", "HCC_DBT_STORAGE: 'tables' is not parquet or table"],
    ["HCC_DBT_COMPRESSION", "zstd", "HCC_DBT_COMPRESSION: 'zstd' is not auto or uncompressed"],
  ])("%s: a value it does not know stops the nightly before it starts", (name, value, message) => {
    const dir = mkdtempSync(join(tmpdir(), "hcc-nightly-"));
    const db = join(dir, "warehouse.duckdb");
    const r = spawnSync("node", [bin, "nightly", "--db", db, "--members", "50", "--quiet"], {
      encoding: "utf8",
      env: { ...process.env, [name]: value },
    });
    expect(r.status).toBe(64);
    expect(r.stderr).toContain(message);
    expect(existsSync(db)).toBe(false);
    rmSync(dir, { recursive: true, force: true });
  });

  it("PY2025: the dbt build (with its Tuva-definition tests) passes on a V24/V28 blend cohort", async () => {
    const dir = mkdtempSync(join(tmpdir(), "hcc-nightly-"));
    const db = join(dir, "warehouse.duckdb");
    const args = [bin, "nightly", "--db", db, "--members", "400", "--seed", "7", "--year", "2025", "--quiet"];
    // this build keeps dbt's models as tables in the warehouse file, uncompressed
    // (HCC_DBT_STORAGE, HCC_DBT_COMPRESSION; docs/dbt.md)
    const env = { ...process.env, HCC_DBT_STORAGE: "table", HCC_DBT_COMPRESSION: "uncompressed" };
    const r = spawnSync("node", args, { encoding: "utf8", env });
    expect(r.stderr).toContain("validate: 400 participants; missing from marts 0; score mismatches 0; HCC set differences 0");
    expect(r.status).toBe(0);
    const inst = await DuckDBInstance.create(db, { access_mode: "READ_ONLY" });
    const con = await inst.connect();
    try {
      const row = (
        await con.runAndReadAll(`select count(t.v24_risk_score) as n_v24, count(t.v28_risk_score) as n_v28,
          count(t.member_months) as n_months, count(f.risk_score) as n_cms,
          count(case when t.normalized_risk_score <> f.risk_score then 1 end) as n_rounding_differs
          from hcc_cms_hcc.patient_risk_scores t
          join hcc_marts.fact_patient_risk_scores f on f.participant_id = t.person_id and f.payment_year = t.payment_year`)
      ).getRowObjectsJS()[0];
      // every scored MA member has both model columns; Tuva's per-factor-type rounding and CMS's
      // differ for some members (the dbt tests bound the difference)
      expect(row?.["n_v24"]).toBe(row?.["n_cms"]);
      expect(row?.["n_v28"]).toBe(row?.["n_cms"]);
      expect(row?.["n_months"]).toBe(0n);
      expect(Number(row?.["n_rounding_differs"])).toBeGreaterThan(0);
    } finally {
      con.closeSync();
      inst.closeSync();
    }
    const methods = await compressionsOf(db, "hcc_marts.fact_patient_risk_scores");
    expect(methods).toContain("Uncompressed");
    expect(methods.filter((c) => !PLAIN.includes(c))).toEqual([]);
    rmSync(dir, { recursive: true, force: true });
  });
});
