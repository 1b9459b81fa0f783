// The dbt-native pattern (docs/dbt.md "Scoring pattern"): with var hcc_scoring: udf the BigQuery
// target compiles the UDF models and staging reads them instead of the engine's tables; the
// default (engine) compiles as before with the UDF models disabled; DuckDB refuses 'udf'.
// Offline: placeholder credentials, no connection (as tests/integration/dbt.test.ts does).
import { afterAll, describe, expect, it } from "vitest";
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("../..", import.meta.url));
const haveDbt = existsSync(join(root, ".venv", "bin", "dbt"));
const dir = mkdtempSync(join(tmpdir(), "hcc-dbt-udf-"));
const adc = join(dir, "adc.json");
writeFileSync(adc, JSON.stringify({ type: "authorized_user", client_id: "x", client_secret: "x", refresh_token: "x" }));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function dbt(name: string, args: string[]): { status: number | null; out: string; target: string } {
  const target = join(dir, name, "target");
  const r = spawnSync("bash", [join(root, "scripts", "dbt.sh"), ...args], {
    cwd: root,
    env: {
      ...process.env,
      DBT_SEND_ANONYMOUS_USAGE_STATS: "false",
      GOOGLE_APPLICATION_CREDENTIALS: adc,
      HCC_BQ_PROJECT: "placeholder-project",
      HCC_BQ_DATASET: "hcc",
      HCC_WAREHOUSE: join(dir, name, "warehouse.duckdb"),
      DBT_TARGET_PATH: target,
      DBT_LOG_PATH: join(dir, name, "logs"),
    },
    encoding: "utf8",
    maxBuffer: 64 * 1024 * 1024,
  });
  return { status: r.status, out: `${r.stdout}\n${r.stderr}`, target };
}

const compiled = (target: string, path: string): string =>
  readFileSync(join(target, "compiled", "hcc_wasm", "models", path), "utf8");

describe.skipIf(!haveDbt && !process.env["CI"])("dbt scoring pattern: engine or udf", () => {
  it("udf on BigQuery: int_hcc_udf_scores calls the function and staging reads the UDF models", () => {
    const r = dbt("udf", [
      "compile",
      "--target",
      "bigquery",
      "--vars",
      "{hcc_introspect: false, hcc_scoring: udf, hcc_payment_year: 2027, hcc_udf_dataset: hcc_udf}",
      "--no-populate-cache",
    ]);
    expect(r.status, r.out).toBe(0);
    expect(r.out).not.toMatch(/error/i);
    const scores = compiled(r.target, "intermediate/int_hcc_udf_scores.sql");
    expect(scores).toContain("`placeholder-project.hcc_udf.hcc_score_2027`(struct(");
    expect(scores).toMatch(/array_agg\(diagnosis_code_raw ignore nulls/);
    expect(scores).toContain("cast(participants.graft_months as float64) as graft_months");
    expect(scores).toContain("result.*");
    expect(compiled(r.target, "intermediate/int_hcc_udf_factors.sql")).toContain("cross join unnest(scores.factors) as factor");
    expect(compiled(r.target, "staging/stg_risk_scores.sql")).toContain("`hcc_intermediate`.`int_hcc_udf_scores`");
    expect(compiled(r.target, "staging/stg_hcc_raw_scores.sql")).toContain("`hcc_intermediate`.`int_hcc_udf_scores`");
    expect(compiled(r.target, "staging/stg_risk_score_factors.sql")).toContain("`hcc_intermediate`.`int_hcc_udf_factors`");
    expect(compiled(r.target, "staging/stg_score_runs.sql")).toContain("`hcc_intermediate`.`int_hcc_udf_runs`");
    // the marts are unchanged: they read staging either way
    expect(compiled(r.target, "marts/fact_patient_risk_scores.sql")).toContain("`hcc_staging`.`stg_risk_scores`");
  });

  it("engine (default) on BigQuery: the UDF models are disabled and staging reads sgv_reporting", () => {
    const r = dbt("engine", ["compile", "--target", "bigquery", "--vars", "{hcc_introspect: false}", "--no-populate-cache"]);
    expect(r.status, r.out).toBe(0);
    expect(existsSync(join(r.target, "compiled", "hcc_wasm", "models", "intermediate", "int_hcc_udf_scores.sql"))).toBe(false);
    expect(compiled(r.target, "staging/stg_risk_scores.sql")).toContain("`sgv_reporting`.`risk_scores`");
  });

  it("udf on DuckDB is refused with the reason", () => {
    const r = dbt("duckdb", ["parse", "--target", "duckdb", "--vars", "{hcc_scoring: udf}"]);
    expect(r.status).not.toBe(0);
    expect(r.out).toContain("var hcc_scoring: 'udf' needs the bigquery target");
  });
});
