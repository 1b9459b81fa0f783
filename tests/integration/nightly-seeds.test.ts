// `hcc nightly` loads the dbt seeds once per data version (src/cli/seed-state.ts) and reports its
// stage times (--timings). Real dbt on a tiny generated warehouse: a build that fails records
// nothing; the first successful build loads the seeds and records them; the next leaves them out
// of `dbt build` (their tests still run); a seed table changed behind its back is reloaded; changed
// seed files are not current. The unit tests likewise run once per project code version. Needs the
// venv (dbt).
import { describe, expect, it } from "vitest";
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, appendFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SEED_STATE_TABLE, seedsAreCurrent, unitTestsAreCurrent } from "../../src/cli/seed-state.js";
import { hcc, sql } from "../support/warehouse.js";

const venv = new URL("../../.venv/bin/dbt", import.meta.url).pathname;
const dbtDir = new URL("../../dbt", import.meta.url).pathname;

interface Timings {
  stages: { stage: string; seconds: number; note?: string }[];
  seeds_skipped: boolean | null;
  unit_tests_skipped: boolean | null;
  dbt: {
    phases: Record<"seeds" | "models" | "tests", { nodes: number; busy_seconds: number; node_seconds: number }>;
    nodes: { unique_id: string; resource_type: string; execution_time: number }[];
  } | null;
}

async function hasSeedState(db: string): Promise<boolean> {
  const rows = await sql<{ n: string }>(
    db,
    `select count(*) as n from information_schema.tables where table_schema = 'hcc_reference' and table_name = '${SEED_STATE_TABLE}'`,
  );
  return Number(rows[0]?.n) === 1;
}

function nightly(db: string, timings: string): { status: number | null; stderr: string; t: Timings | null } {
  const r = hcc("nightly", "--db", db, "--timings", timings, "--quiet");
  const t = existsSync(timings) ? (JSON.parse(readFileSync(timings, "utf8")) as Timings) : null;
  rmSync(timings, { force: true });
  return { status: r.status, stderr: r.stderr, t };
}

describe.skipIf(!existsSync(venv) && !process.env["CI"])("hcc nightly: seeds once per data version", () => {
  it("records the seeds only after a successful build, then skips them until they change", async () => {
    const dir = mkdtempSync(join(tmpdir(), "hcc-nightly-seeds-"));
    const db = join(dir, "warehouse.duckdb");
    const timings = join(dir, "timings.json");
    try {
      const g = hcc("generate", "--members", "300", "--seed", "4", "--out", db);
      expect(g.status).toBe(0);

      // 1. a build that fails (a seed table of the wrong shape is in the way) records nothing
      await sql(db, "create schema hcc_reference", "create table hcc_reference.hcc_labels (payment_year date)");
      const failed = nightly(db, timings);
      expect(failed.status).not.toBe(0);
      expect(failed.t?.stages.find((s) => s.stage === "dbt build")?.note).toBe("failed");
      expect(await hasSeedState(db)).toBe(false);
      await sql(db, "drop table hcc_reference.hcc_labels");

      // 2. first successful build: seeds loaded by `dbt build` (no separate `dbt seed`), recorded
      const first = nightly(db, timings);
      expect(first.stderr).toContain(
        "validate: 300 participants; missing from marts 0; score mismatches 0; HCC set differences 0",
      );
      expect(first.status).toBe(0);
      expect(first.t?.seeds_skipped).toBe(false);
      expect(first.t?.dbt?.phases.seeds.nodes).toBe(5);
      expect(first.t?.stages.map((s) => s.stage)).toEqual([
        "score",
        "state check",
        "dbt build",
        "state record",
        "validate",
        "total",
      ]);
      expect(first.t?.dbt?.nodes.length).toBeGreaterThan(100);
      expect(await hasSeedState(db)).toBe(true);
      expect(await seedsAreCurrent(db, dbtDir, "hcc_reference")).toBe(true);
      // the unit tests ran, passed, and are recorded for this project code
      const unitTests = (t: Timings | null): number => t?.dbt?.nodes.filter((n) => n.resource_type === "unit_test").length ?? -1;
      expect(first.t?.unit_tests_skipped).toBe(false);
      expect(unitTests(first.t)).toBeGreaterThan(5);
      expect(await unitTestsAreCurrent(db, dbtDir, "hcc_reference")).toBe(true);
      // no member ids in the output
      expect(first.stderr).not.toMatch(/M0000\d{5}/);

      // 3. unchanged: seeds left out of the build; the seed tests still run
      const second = nightly(db, timings);
      expect(second.status).toBe(0);
      expect(second.t?.seeds_skipped).toBe(true);
      expect(second.t?.dbt?.phases.seeds.nodes).toBe(0);
      // 3b. ... and so are the unit tests (same project code); every data test still runs
      expect(second.t?.unit_tests_skipped).toBe(true);
      expect(unitTests(second.t)).toBe(0);
      expect(second.t?.dbt?.phases.tests.nodes).toBe((first.t?.dbt?.phases.tests.nodes ?? 0) - unitTests(first.t));
      expect(second.t?.stages.map((s) => s.stage)).toEqual(["score", "state check", "dbt build", "validate", "total"]);
      expect(second.t?.dbt?.nodes.some((n) => n.unique_id.includes("hcc_labels") && n.resource_type === "test")).toBe(true);

      // 4. a seed table changed behind the record's back: reloaded
      await sql(
        db,
        "update hcc_reference.hcc_labels set label = 'edited' where hcc = (select min(hcc) from hcc_reference.hcc_labels)",
      );
      expect(await seedsAreCurrent(db, dbtDir, "hcc_reference")).toBe(false);
      const third = nightly(db, timings);
      expect(third.status).toBe(0);
      expect(third.t?.seeds_skipped).toBe(false);
      expect(await sql(db, "select count(*) as n from hcc_reference.hcc_labels where label = 'edited'")).toEqual([{ n: "0" }]);
      expect(await seedsAreCurrent(db, dbtDir, "hcc_reference")).toBe(true);

      // 5. changed seed files (a copy of dbt/ with one more CSV line) are not current
      const changed = join(dir, "dbt");
      cpSync(dbtDir, changed, { recursive: true, filter: (src) => !src.includes(`${dbtDir}/target`) });
      appendFileSync(join(changed, "seeds", "hcc_labels.csv"), "2099,V28,1,HCC1,test\n");
      expect(await seedsAreCurrent(db, changed, "hcc_reference")).toBe(false);
      expect(await unitTestsAreCurrent(db, changed, "hcc_reference")).toBe(false);

      // 6. changed model SQL: the seeds are still current, the unit tests are not
      const changedSql = join(dir, "dbt-sql");
      cpSync(dbtDir, changedSql, { recursive: true, filter: (src) => !src.includes(`${dbtDir}/target`) });
      mkdirSync(join(dir, "scripts"));
      cpSync(join(dbtDir, "..", "scripts", "requirements.txt"), join(dir, "scripts", "requirements.txt"));
      expect(await unitTestsAreCurrent(db, changedSql, "hcc_reference")).toBe(true);
      appendFileSync(join(changedSql, "models", "marts", "fact_member_hccs.sql"), "\n-- edited\n");
      expect(await seedsAreCurrent(db, changedSql, "hcc_reference")).toBe(true);
      expect(await unitTestsAreCurrent(db, changedSql, "hcc_reference")).toBe(false);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
