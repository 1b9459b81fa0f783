// Base rates per plan and county (docs/gap-values.md "Base rates"): a generated warehouse with
// plan_id and county_code on its members and a plan_base_rates table, scored with --gaps and a
// flat --base-rate, then dbt builds fact_hcc_opportunities. Each valued gap must be priced at
// its member's county rate, else its plan's rate, else the engine's flat value — to the cent.
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { hcc, sql } from "../support/warehouse.js";

const root = fileURLToPath(new URL("../..", import.meta.url));
const dbtBin = join(root, ".venv", "bin", "dbt");

interface Gap {
  participant_id: string;
  plan_id: string | null;
  county_code: string | null;
  delta_payment_score: number;
  annual_value: number;
  base_rate_source: string;
  engine_annual_value: number;
}

describe.skipIf(!existsSync(dbtBin) && !process.env["CI"])("dbt: gap values priced per plan and county", () => {
  const dir = mkdtempSync(join(tmpdir(), "hcc-base-rates-"));
  const wh = join(dir, "w.duckdb");
  let gaps: Gap[] = [];

  beforeAll(async () => {
    expect(hcc("generate", "--members", "300", "--seed", "21", "--out", wh).status).toBe(0);
    await sql(
      wh,
      "ALTER TABLE sgv_reporting.participants ADD COLUMN plan_id VARCHAR",
      "ALTER TABLE sgv_reporting.participants ADD COLUMN county_code VARCHAR",
      "UPDATE sgv_reporting.participants SET plan_id = CASE WHEN hash(participant_id) % 2 = 0 THEN 'H1' ELSE 'H2' END, county_code = CASE WHEN hash(participant_id) % 3 = 0 THEN '001' ELSE '002' END",
      `CREATE TABLE sgv_reporting.plan_base_rates AS SELECT * FROM (VALUES
         ('H1', '001', 2026, 1100.0), ('H1', NULL, 2026, 1000.0), ('H2', '001', 2025, 700.0)) t(plan_id, county_code, payment_year, monthly_base_rate)`,
    );
    const score = hcc("score", "--source", wh, "--gaps", "--base-rate", "900", "--workers", "1", "--quiet");
    expect(score.status, score.stderr).toBe(0);
    const env = { ...process.env, HCC_WAREHOUSE: wh, DBT_SEND_ANONYMOUS_USAGE_STATS: "false" };
    const dbt = (...args: string[]) =>
      spawnSync("bash", [join(root, "scripts", "dbt.sh"), ...args, "--target", "duckdb"], { cwd: root, env, encoding: "utf8" });
    const seed = dbt("seed");
    expect(seed.status, seed.stdout).toBe(0);
    const build = dbt("build", "--indirect-selection", "cautious", "--select", "+fact_hcc_opportunities");
    expect(build.status, build.stdout).toBe(0);
    gaps = await sql<Gap>(
      wh,
      `SELECT f.participant_id, f.plan_id, p.county_code, f.delta_payment_score, f.annual_value, f.base_rate_source,
              g.annual_value AS engine_annual_value
       FROM hcc_marts.fact_hcc_opportunities f
       JOIN sgv_reporting.participants p USING (participant_id)
       JOIN sgv_reporting.risk_score_gap_values g
         ON g.participant_id = f.participant_id AND g.payment_year = f.payment_year AND g.model = f.model
        AND g.action = 'add' AND g.hcc = 'HCC' || f.hcc
       WHERE f.delta_payment_score IS NOT NULL`,
    );
  }, 300_000);

  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("prices each gap at the county rate, else the plan rate, else the flat rate", () => {
    const cents = (x: number): number => Math.round(x * 100) / 100 + 0;
    const bySource = { plan_county: 0, plan: 0, flat: 0 } as Record<string, number>;
    for (const g of gaps) {
      bySource[g.base_rate_source] = (bySource[g.base_rate_source] ?? 0) + 1;
      if (g.plan_id === "H1" && g.county_code === "001") {
        expect(g.base_rate_source).toBe("plan_county");
        expect(g.annual_value).toBe(cents(g.delta_payment_score * 1100 * 12));
      } else if (g.plan_id === "H1") {
        expect(g.base_rate_source).toBe("plan");
        expect(g.annual_value).toBe(cents(g.delta_payment_score * 1000 * 12));
      } else {
        // H2's only rate is for another payment year: the run's flat --base-rate value stays
        expect(g.base_rate_source).toBe("flat");
        expect(g.annual_value).toBe(g.engine_annual_value);
        expect(g.annual_value).toBe(cents(g.delta_payment_score * 900 * 12));
      }
    }
    expect(bySource["plan_county"]).toBeGreaterThan(0);
    expect(bySource["plan"]).toBeGreaterThan(0);
    expect(bySource["flat"]).toBeGreaterThan(0);
  });
});
