// Regression tests for "Results always mean this run, complete" (DuckDB warehouse and files):
// each case failed before its fix. Runs go through the CLI, so exit codes and messages are
// what a user sees; the warehouse is inspected with DuckDB afterwards.
import { beforeAll, describe, expect, it } from "vitest";
import { cpSync, existsSync, mkdtempSync, readdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { hcc, sql } from "../support/warehouse.js";

const dir = mkdtempSync(join(tmpdir(), "hcc-reliability-"));
const base = join(dir, "base.duckdb");

/** A scored copy of the base warehouse (results in table storage: one self-contained file). */
function scoredCopy(name: string): string {
  const wh = join(dir, `${name}.duckdb`);
  cpSync(base, wh);
  const r = hcc("score", "--source", wh, "--output", wh, "--quiet", "--results-storage", "table");
  expect(r.status, r.stderr).toBe(0);
  return wh;
}

const counts = async (wh: string) =>
  (
    await sql<{ scores: string; factors: string; runs: string; ids: string }>(
      wh,
      `SELECT (SELECT count(*) FROM sgv_reporting.risk_scores) AS scores,
              (SELECT count(*) FROM sgv_reporting.risk_score_factors) AS factors,
              (SELECT count(*) FROM sgv_reporting.score_runs WHERE status = 'succeeded') AS runs,
              (SELECT count(DISTINCT run_id) FROM (SELECT run_id FROM sgv_reporting.risk_scores UNION ALL SELECT run_id FROM sgv_reporting.risk_score_factors)) AS ids`,
    )
  )[0];

beforeAll(() => {
  const r = hcc("generate", "--members", "400", "--seed", "11", "--out", base);
  expect(r.status, r.stderr).toBe(0);
});

describe("every result table switches to the new run, also to empty", () => {
  it("an empty participants table: both result tables become empty, score_runs says 0 members", async () => {
    const wh = scoredCopy("empty");
    expect(Number((await counts(wh))?.scores)).toBe(400);
    await sql(wh, "DELETE FROM sgv_reporting.participants");
    const r = hcc("score", "--source", wh, "--output", wh, "--quiet");
    expect(r.status, r.stderr).toBe(0);
    const c = await counts(wh);
    expect([Number(c?.scores), Number(c?.factors), Number(c?.runs)]).toEqual([0, 0, 2]);
    const [last] = await sql<{ members_in: string }>(
      wh,
      "SELECT members_in FROM sgv_reporting.score_runs ORDER BY finished_at DESC LIMIT 1",
    );
    expect(Number(last?.members_in)).toBe(0);
  });

  it("every member errors (guard off): no factor rows of the previous run survive", async () => {
    const wh = scoredCopy("all-errors");
    await sql(wh, "UPDATE sgv_reporting.participants SET sex = 'X'");
    const r = hcc("score", "--source", wh, "--output", wh, "--quiet", "--max-error-rate", "1");
    expect(r.status, r.stderr).toBe(0);
    const c = await counts(wh);
    expect([Number(c?.scores), Number(c?.factors), Number(c?.ids)]).toEqual([400, 0, 1]);
  });

  it("--no-factors replaces the factor table by an empty one of this run", async () => {
    const wh = scoredCopy("no-factors");
    expect(hcc("score", "--source", wh, "--output", wh, "--quiet", "--no-factors").status).toBe(0);
    const c = await counts(wh);
    expect([Number(c?.scores), Number(c?.factors), Number(c?.ids)]).toEqual([400, 0, 1]);
  });
});

describe("a schema that cannot describe members fails (exit 65), previous results intact", () => {
  it.each([
    ["sex renamed to gender", "ALTER TABLE sgv_reporting.participants RENAME COLUMN sex TO gender", /column sex missing/],
    [
      "no birth_date (and no age)",
      "ALTER TABLE sgv_reporting.participants DROP COLUMN birth_date",
      /column birth_date \(or age\) missing/,
    ],
  ])("%s", async (_what, alter, message) => {
    const wh = scoredCopy(`schema-${_what.replace(/\W+/g, "-")}`);
    const before = await sql(wh, "SELECT run_id, count(*) AS n FROM sgv_reporting.risk_scores GROUP BY 1");
    await sql(wh, alter);
    const r = hcc("score", "--source", wh, "--output", wh, "--quiet");
    expect(r.status, `${r.stderr} signal ${String(r.signal)}`).toBe(65);
    expect(r.stderr).toMatch(message);
    expect(r.stderr).toMatch(/no member can be scored/);
    expect(await sql(wh, "SELECT run_id, count(*) AS n FROM sgv_reporting.risk_scores GROUP BY 1")).toEqual(before);
  });

  it("too many error rows: exit 65 by field, nothing committed, the failure recorded in score_runs", async () => {
    const wh = scoredCopy("error-rate");
    await sql(wh, "UPDATE sgv_reporting.participants SET sex = 'X' WHERE hash(participant_id) % 10 < 3");
    const r = hcc("score", "--source", wh, "--output", wh, "--quiet");
    expect(r.status, `${r.stderr} signal ${String(r.signal)}`).toBe(65);
    expect(r.stderr).toMatch(/members \(\d+\.\d%\) could not be scored \(by field: sex \d+\), more than --max-error-rate 0\.01/);
    const c = await counts(wh);
    expect([Number(c?.scores), Number(c?.runs), Number(c?.ids)]).toEqual([400, 1, 1]);
    const [failed] = await sql<{ status: string; error: string; rows_out: string }>(
      wh,
      "SELECT status, error, rows_out FROM sgv_reporting.score_runs WHERE status = 'failed'",
    );
    expect(failed?.error).toMatch(/could not be scored/);
    expect(Number(failed?.rows_out)).toBe(0);
    // with the guard relaxed the same warehouse scores
    expect(hcc("score", "--source", wh, "--output", wh, "--quiet", "--max-error-rate", "0.5").status).toBe(0);
  });

  it("layout auto with both a diagnosis_codes column and a long table is an error naming both", async () => {
    const wh = scoredCopy("ambiguous");
    await sql(wh, "ALTER TABLE sgv_reporting.participants ADD COLUMN diagnosis_codes VARCHAR[]");
    const r = hcc("score", "--source", wh, "--output", wh, "--quiet");
    expect(r.status, `${r.stderr} signal ${String(r.signal)}`).toBe(65);
    expect(r.stderr).toMatch(
      /layout auto is ambiguous: sgv_reporting\.participants\.diagnosis_codes and table sgv_reporting\.participant_diagnosis_codes/,
    );
    expect(hcc("score", "--source", wh, "--output", wh, "--quiet", "--layout", "long").status).toBe(0);
  });
});

describe("counts users need", () => {
  it("null diagnosis codes are counted in score_runs and the summary", async () => {
    const wh = join(dir, "nulls.duckdb");
    cpSync(base, wh);
    await sql(
      wh,
      `INSERT INTO sgv_reporting.participant_diagnosis_codes (participant_id, diagnosis_code)
       SELECT participant_id, NULL FROM sgv_reporting.participants LIMIT 7`,
    );
    const r = hcc("score", "--source", wh, "--output", wh);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/null diagnosis codes skipped: 7/);
    const [run] = await sql<{ null_dx_codes: string }>(wh, "SELECT null_dx_codes FROM sgv_reporting.score_runs");
    expect(Number(run?.null_dx_codes)).toBe(7);
  });
});

describe("a read never creates, a failed run leaves no new files", () => {
  it("--source of a missing warehouse: error, no file created", () => {
    const missing = join(dir, "nope.duckdb");
    const r = hcc("score", "--source", missing, "--output", join(dir, "out-dir"), "--quiet");
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/nope\.duckdb/);
    expect(existsSync(missing)).toBe(false);
    expect(existsSync(join(dir, "out-dir"))).toBe(false);
  });

  it("a failed run into a new warehouse leaves neither the warehouse nor its .results directory", async () => {
    const src = join(dir, "bad-src.duckdb");
    cpSync(base, src);
    await sql(src, "ALTER TABLE sgv_reporting.participants RENAME COLUMN sex TO gender");
    const out = join(dir, "fresh-out.duckdb");
    const r = hcc("score", "--source", src, "--output", out, "--quiet");
    expect(r.status, `signal ${String(r.signal)}: ${r.stderr}`).toBe(65);
    expect(readdirSync(dir).filter((f) => f.startsWith("fresh-out"))).toEqual([]);
  });
});

describe("more clean failures", () => {
  it("a code containing U+001F is a data error (65) naming the row, not an internal error", async () => {
    const wh = join(dir, "sep.duckdb");
    cpSync(base, wh);
    await sql(
      wh,
      `INSERT INTO sgv_reporting.participant_diagnosis_codes (participant_id, diagnosis_code) SELECT min(participant_id), 'E11' || chr(31) || '9' FROM sgv_reporting.participants`,
    );
    const r = hcc("score", "--source", wh, "--output", wh, "--quiet");
    expect(r.status, `${r.stderr} signal ${String(r.signal)}`).toBe(65);
    expect(r.stderr).toMatch(
      /participant_diagnosis_codes: row \d+: column diagnosis_code: contains the control character U\+001F \(1 rows\)/,
    );
  });

  it("an unusable results directory: exit 73 with its path, previous results intact", async () => {
    const wh = scoredCopy("results-blocked");
    // a file where the results directory should be (a read-only directory does not stop root)
    const blocked = join(dir, "results-blocked-2.duckdb");
    cpSync(wh, blocked);
    writeFileSync(`${blocked}.results`, "not a directory");
    const r = hcc("score", "--source", blocked, "--output", blocked, "--quiet");
    expect(r.status).toBe(73);
    expect(r.stderr).toMatch(/results-blocked-2\.duckdb\.results\/sgv_reporting: cannot create the run's results directory/);
    expect(Number((await counts(blocked))?.scores)).toBe(400);
  });

  it("warehouse schema names are case-insensitive, as in DuckDB", async () => {
    const wh = scoredCopy("schema-case");
    const r = hcc("score", "--source", wh, "--output", wh, "--quiet", "--schema", "SGV_Reporting", "--results-storage", "table");
    expect(r.status, r.stderr).toBe(0);
    const c = await counts(wh);
    expect([Number(c?.scores), Number(c?.runs), Number(c?.ids)]).toEqual([400, 2, 1]);
  });
});
