// `hcc nightly` end to end on the embedded default: generate → score (worker pool) → dbt seed +
// build → validate; then `hcc validate` on the same file. Needs the venv (dbt).
import { describe, expect, it } from "vitest";
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const bin = new URL("../../bin/hcc.js", import.meta.url).pathname;
const venv = new URL("../../.venv/bin/dbt", import.meta.url).pathname;

describe.skipIf(!existsSync(venv) && !process.env["CI"])("hcc nightly (embedded DuckDB warehouse)", () => {
  it("creates, scores, builds the dbt marts and validates them 100% against the engine", () => {
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
  });
});
