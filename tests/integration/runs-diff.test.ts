// `hcc diff --from-run/--to-run` end to end: a generated warehouse scored twice with
// --keep-inputs (the members edited in between, the second run in another payment year), then the
// real bin compares the two runs from their input snapshots. The snapshots must reproduce each
// run's own payment scores; parts sum to the change, swapping the runs negates them, rows land in
// risk_score_changes (a pair re-run replaces its rows), retention removes older snapshots.
// Workers run compiled code: `npm run build:ts` first.
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { hcc, sql } from "../support/warehouse.js";

const root = fileURLToPath(new URL("../..", import.meta.url));
const dbtBin = join(root, ".venv", "bin", "dbt");
const GROUPS = ["demographics", "diagnoses_gained", "diagnoses_lost", "model", "normalization"] as const;
type Row = Record<string, string | number | null>;

const dir = mkdtempSync(join(tmpdir(), "hcc-runs-diff-"));
const wh = join(dir, "w.duckdb");
const runsDir = join(dir, "w.duckdb.runs", "sgv_reporting");

function scoreRun(year: string): string {
  const r = hcc("score", "--source", wh, "--year", year, "--keep-inputs", "2", "--workers", "1", "--quiet");
  expect(r.stderr).toBe("");
  expect(r.status).toBe(0);
  return r.stdout;
}

async function latestRun(): Promise<string> {
  const [row] = await sql<{ run_id: string }>(
    wh,
    "SELECT run_id FROM sgv_reporting.score_runs ORDER BY finished_at DESC LIMIT 1",
  );
  return row?.run_id ?? "";
}

async function paymentScores(): Promise<Map<string, number | null>> {
  const rows = await sql<{ participant_id: string; payment_score: number | null }>(
    wh,
    "SELECT participant_id, payment_score FROM sgv_reporting.risk_scores",
  );
  return new Map(rows.map((r) => [r.participant_id, r.payment_score]));
}

const readCsv = (f: string): Row[] => {
  const [head = "", ...lines] = readFileSync(f, "utf8").trim().split("\n");
  const cols = head.split(",");
  return lines.map((l) => {
    const v = l.split(","); // no commas in these values: errors here name a field only
    return Object.fromEntries(
      cols.map((c, i) => [c, v[i] === "" || v[i] === undefined ? null : /^-?[\d.e-]+$/.test(v[i]) ? Number(v[i]) : v[i]]),
    );
  });
};

describe("hcc diff between two warehouse runs", () => {
  let runA = "";
  let runB = "";
  let scoresA = new Map<string, number | null>();
  let scoresB = new Map<string, number | null>();

  beforeAll(async () => {
    expect(hcc("generate", "--members", "400", "--seed", "11", "--out", wh).status).toBe(0);
    scoreRun("2026");
    runA = await latestRun();
    scoresA = await paymentScores();
    // between the runs: codes dropped and added, a demographic changed, a member gone, one new
    await sql(
      wh,
      "DELETE FROM sgv_reporting.participant_diagnosis_codes WHERE hash(participant_id || diagnosis_code) % 4 = 0",
      "INSERT INTO sgv_reporting.participant_diagnosis_codes (participant_id, diagnosis_code) SELECT participant_id, 'I5022' FROM sgv_reporting.participants WHERE hash(participant_id) % 6 = 0",
      "UPDATE sgv_reporting.participants SET sex = CASE WHEN sex = 'F' THEN 'M' ELSE 'F' END WHERE hash(participant_id) % 9 = 0",
      "DELETE FROM sgv_reporting.participant_diagnosis_codes WHERE participant_id = (SELECT min(participant_id) FROM sgv_reporting.participants)",
      "DELETE FROM sgv_reporting.participants WHERE participant_id = (SELECT min(participant_id) FROM sgv_reporting.participants)",
      "INSERT INTO sgv_reporting.participants (participant_id, birth_date, sex, orec, crec, dual_elgbl_cd) VALUES ('ZZ-NEW', DATE '1950-03-01', 'F', '0', '0', '00')",
    );
    scoreRun("2025");
    runB = await latestRun();
    scoresB = await paymentScores();
  }, 120_000);

  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("records each run's snapshot and average payment score in score_runs", async () => {
    const runs = await sql<{ run_id: string; input_snapshot: string; mean_payment_score: number; payment_year: number }>(
      wh,
      "SELECT run_id, input_snapshot, mean_payment_score, payment_year FROM sgv_reporting.score_runs ORDER BY finished_at",
    );
    expect(runs.map((r) => r.run_id)).toEqual([runA, runB]);
    for (const r of runs) expect(r.input_snapshot).toBe(join(runsDir, r.run_id, "members.parquet"));
    const mean = (m: Map<string, number | null>): number => {
      const xs = [...m.values()].filter((x): x is number => x !== null);
      return xs.reduce((a, b) => a + b, 0) / xs.length;
    };
    expect(runs[0]?.mean_payment_score).toBeCloseTo(mean(scoresA), 9);
    expect(runs[1]?.mean_payment_score).toBeCloseTo(mean(scoresB), 9);
  });

  it("attributes every member; the ends are the runs' own payment scores; parts sum to the change", () => {
    const out = join(dir, "a-b.csv");
    const r = hcc("diff", "--db", wh, "--from-run", runA, "--to-run", runB, "--out", out, "--quiet");
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    expect(r.stdout).toContain("PY2026 → PY2025");
    expect(r.stdout).not.toMatch(/M0000|ZZ-NEW/); // no member ids in the rollup
    const rows = readCsv(out);
    const ids = new Set([...scoresA.keys(), ...scoresB.keys()]);
    expect(rows.length).toBe(ids.size);
    const status = (s: string): number => rows.filter((x) => x["status"] === s).length;
    expect(status("removed")).toBe(1);
    expect(status("added")).toBe(1);
    expect(rows.find((x) => x["participant_id"] === "ZZ-NEW")?.["status"]).toBe("added");
    let gained = 0;
    for (const row of rows) {
      const id = String(row["participant_id"]);
      if (row["status"] !== "ok") continue;
      expect(row["from_payment_score"]).toBe(scoresA.get(id));
      expect(row["to_payment_score"]).toBe(scoresB.get(id));
      const sum = GROUPS.reduce((s, g) => s + Number(row[g]), 0);
      expect(Math.abs(sum - Number(row["total_change"]))).toBeLessThan(1e-9);
      if (Number(row["diagnoses_gained"]) !== 0) gained++;
    }
    expect(status("ok")).toBeGreaterThan(300);
    expect(gained).toBeGreaterThan(0);
    expect(rows.some((x) => Number(x["demographics"]) !== 0)).toBe(true);
    expect(rows.every((x) => x["status"] !== "ok" || Number(x["model"]) !== 0 || Number(x["normalization"]) !== 0)).toBe(true);
  });

  it("swapping the runs negates every part (gained and lost trade places); the table keeps both pairs", async () => {
    const r = hcc("diff", "--db", wh, "--from-run", runB, "--to-run", runA, "--quiet");
    expect(r.status).toBe(0);
    const rows = await sql<Row>(
      wh,
      `SELECT f.participant_id, f.total_change + b.total_change AS total,
              f.demographics + b.demographics AS demographics, f.diagnoses_gained + b.diagnoses_lost AS gained,
              f.diagnoses_lost + b.diagnoses_gained AS lost, f.model + b.model AS model, f.normalization + b.normalization AS normalization
       FROM sgv_reporting.risk_score_changes f JOIN sgv_reporting.risk_score_changes b USING (participant_id)
       WHERE f.from_run_id = '${runA}' AND f.to_run_id = '${runB}' AND b.from_run_id = '${runB}' AND b.to_run_id = '${runA}'
         AND f.status = 'ok'`,
    );
    expect(rows.length).toBeGreaterThan(300);
    for (const row of rows)
      for (const k of ["total", "demographics", "gained", "lost", "model", "normalization"])
        expect(Math.abs(Number(row[k]))).toBeLessThan(1e-9);
    // re-running a pair replaces its rows
    expect(hcc("diff", "--db", wh, "--from-run", runA, "--to-run", runB, "--quiet").status).toBe(0);
    const counts = await sql<{ from_run_id: string; n: number }>(
      wh,
      "SELECT from_run_id, count(*)::INTEGER AS n FROM sgv_reporting.risk_score_changes GROUP BY 1 ORDER BY 1",
    );
    expect(counts.map((c) => c.n)).toEqual([scoresA.size + 1, scoresA.size + 1]);
  });

  it.skipIf(!existsSync(dbtBin) && !process.env["CI"])(
    "dbt: fact_score_run_changes compares run B with run A and rolls up the pair by cause",
    async () => {
      // plans for the by-plan split (read by dbt only; the runs are already scored)
      await sql(
        wh,
        "ALTER TABLE sgv_reporting.participants ADD COLUMN IF NOT EXISTS plan_id VARCHAR",
        "UPDATE sgv_reporting.participants SET plan_id = CASE WHEN hash(participant_id) % 3 = 0 THEN 'H2' ELSE 'H1' END",
      );
      const models = [
        "stg_participants",
        "stg_score_runs",
        "stg_score_run_summaries",
        "stg_risk_score_changes",
        "int_score_run_change_sums",
        "fact_score_run_changes",
        "fact_score_run_changes_by_plan",
      ];
      const r = spawnSync(
        "bash",
        [
          join(root, "scripts", "dbt.sh"),
          "build",
          "--target",
          "duckdb",
          "--indirect-selection",
          "cautious",
          "--select",
          ...models,
        ],
        {
          cwd: root,
          env: { ...process.env, HCC_WAREHOUSE: wh, DBT_SEND_ANONYMOUS_USAGE_STATS: "false" },
          encoding: "utf8",
        },
      );
      expect(r.status, r.stdout + r.stderr).toBe(0);
      const marts = await sql<Row>(wh, "SELECT * FROM hcc_marts.fact_score_run_changes ORDER BY finished_at");
      expect(marts.map((m) => [m["run_id"], m["previous_run_id"], m["is_attributed"]])).toEqual([
        [runA, null, false],
        [runB, runA, true],
      ]);
      const [want] = await sql<Row>(
        wh,
        `SELECT count(*) FILTER (status = 'ok')::INTEGER AS attributed, count(*) FILTER (status = 'added')::INTEGER AS added,
              count(*) FILTER (status = 'removed')::INTEGER AS removed, avg(total_change) FILTER (status = 'ok') AS change,
              avg(diagnoses_lost) FILTER (status = 'ok') AS lost, avg(model) FILTER (status = 'ok') AS model
       FROM sgv_reporting.risk_score_changes WHERE from_run_id = '${runA}' AND to_run_id = '${runB}'`,
      );
      const b = marts[1] ?? {};
      expect([b["members_attributed"], b["members_added"], b["members_removed"]]).toEqual([want?.["attributed"], 1, 1]);
      expect(Number(b["average_change"])).toBeCloseTo(Number(want?.["change"]), 12);
      expect(Number(b["average_diagnoses_lost"])).toBeCloseTo(Number(want?.["lost"]), 12);
      expect(Number(b["average_model"])).toBeCloseTo(Number(want?.["model"]), 12);
      const parts = GROUPS.reduce((s, g) => s + Number(b[`average_${g}`]), 0);
      expect(parts).toBeCloseTo(Number(b["average_change"]), 9);
      const byCause = [...GROUPS.map((g) => `members_by_${g}`), "members_unchanged"].reduce((s, k) => s + Number(b[k]), 0);
      expect(byCause).toBe(b["members_attributed"]);
      expect(Number(b["mean_payment_score_change"])).toBeCloseTo(
        Number(b["mean_payment_score"]) - Number(marts[0]?.["mean_payment_score"]),
        12,
      );
      // by plan: the plans' members add up to the run's, their weighted averages to its average
      const plans = await sql<Row>(wh, `SELECT * FROM hcc_marts.fact_score_run_changes_by_plan WHERE run_id = '${runB}'`);
      expect(plans.map((p) => p["plan_id"]).sort()).toEqual(["H1", "H2", null]); // the removed member has no plan now
      const attributed = plans.reduce((n, p) => n + Number(p["members_attributed"]), 0);
      expect(attributed).toBe(b["members_attributed"]);
      const weighted = plans.reduce((x, p) => x + Number(p["members_attributed"]) * Number(p["average_change"] ?? 0), 0);
      expect(weighted / attributed).toBeCloseTo(Number(b["average_change"]), 12);
    },
    120_000,
  );

  it("keeps the last N snapshots; a pruned or unknown run is a usage error (64)", async () => {
    scoreRun("2026");
    const runC = await latestRun();
    expect(readdirSync(runsDir).sort()).toEqual([runB, runC].sort());
    expect(existsSync(join(runsDir, runA))).toBe(false);
    const gone = hcc("diff", "--db", wh, "--from-run", runA, "--to-run", runC, "--quiet");
    expect(gone.status).toBe(64);
    expect(gone.stderr).toContain("is gone");
    const unknown = hcc("diff", "--db", wh, "--from-run", "20200101000000-00000000", "--to-run", runC, "--quiet");
    expect(unknown.status).toBe(64);
    const mixed = hcc("diff", "--db", wh, "--from-run", runB, "--to-run", runC, "--from-year", "2025", "--quiet");
    expect(mixed.status).toBe(64);
  });

  it("the same members in two runs differ only by payment year: every member-side part is exactly 0", async () => {
    const runs = readdirSync(runsDir).sort();
    const [runB2, runC] = runs as [string, string];
    const r = hcc("diff", "--db", wh, "--from-run", runB2, "--to-run", runC, "--quiet");
    expect(r.status, r.stderr).toBe(0);
    const [row] = await sql<{ n: number; ok: number; member_side: number; year_side: number }>(
      wh,
      `SELECT count(*)::INTEGER AS n, count(*) FILTER (status = 'ok')::INTEGER AS ok,
              count(*) FILTER (demographics <> 0 OR diagnoses_gained <> 0 OR diagnoses_lost <> 0 OR status IN ('added', 'removed'))::INTEGER AS member_side,
              count(*) FILTER (model <> 0 OR normalization <> 0)::INTEGER AS year_side
       FROM sgv_reporting.risk_score_changes WHERE from_run_id = '${runB2}' AND to_run_id = '${runC}'`,
    );
    expect(row?.n).toBe(scoresB.size);
    expect(row?.ok).toBeGreaterThan(300);
    expect(row?.member_side).toBe(0);
    expect(row?.year_side).toBeGreaterThan(0);
  });

  it("refuses --keep-inputs without a warehouse output", () => {
    const r = hcc("score", "--source", wh, "--output", join(dir, "out-dir"), "--keep-inputs", "1", "--quiet");
    expect(r.status).toBe(64);
    expect(r.stderr).toContain("--keep-inputs");
  });
});

describe("run snapshots of a grouped-layout warehouse (no export: the member query is written)", () => {
  const gdir = mkdtempSync(join(tmpdir(), "hcc-runs-grouped-"));
  const gwh = join(gdir, "g.duckdb");
  afterAll(() => rmSync(gdir, { recursive: true, force: true }));

  it("keeps the members with their code lists; a rerun attributes nothing to any group", async () => {
    expect(hcc("generate", "--members", "200", "--seed", "4", "--layout", "grouped", "--out", gwh).status).toBe(0);
    for (let k = 0; k < 2; k++) {
      const r = hcc("score", "--source", gwh, "--keep-inputs", "3", "--workers", "1", "--quiet");
      expect(r.status, r.stderr).toBe(0);
    }
    const runs = await sql<{ run_id: string; input_snapshot: string }>(
      gwh,
      "SELECT run_id, input_snapshot FROM sgv_reporting.score_runs ORDER BY finished_at",
    );
    const [codes] = await sql<{ snapshot: number; warehouse: number }>(
      gwh,
      `SELECT (SELECT sum(len(diagnosis_codes))::INTEGER FROM read_parquet('${runs[0]?.input_snapshot ?? ""}')) AS snapshot,
              (SELECT sum(len(diagnosis_codes))::INTEGER FROM sgv_reporting.participants) AS warehouse`,
    );
    expect(codes?.snapshot).toBe(codes?.warehouse);
    const out = join(gdir, "d.csv");
    const d = hcc(
      "diff",
      "--db",
      gwh,
      "--from-run",
      runs[0]?.run_id ?? "",
      "--to-run",
      runs[1]?.run_id ?? "",
      "--out",
      out,
      "--quiet",
    );
    expect(d.status, d.stderr).toBe(0);
    const rows = readCsv(out);
    expect(rows.length).toBe(200);
    for (const row of rows) {
      expect(row["status"]).toBe("ok");
      expect(row["total_change"]).toBe(0);
      expect(row["dominant_cause"]).toBe("none");
    }
  }, 120_000);
});

describe("hcc nightly --keep-inputs", () => {
  const ndir = mkdtempSync(join(tmpdir(), "hcc-runs-nightly-"));
  const nwh = join(ndir, "n.duckdb");
  afterAll(() => rmSync(ndir, { recursive: true, force: true }));

  it("keeps the nightly run's members (the last one only with 1)", async () => {
    for (let k = 0; k < 2; k++) {
      const r = hcc("nightly", "--db", nwh, "--members", "100", "--no-dbt", "--keep-inputs", "1", "--workers", "1", "--quiet");
      expect(r.status, r.stderr).toBe(0);
    }
    const runs = await sql<{ run_id: string; input_snapshot: string }>(
      nwh,
      "SELECT run_id, input_snapshot FROM sgv_reporting.score_runs ORDER BY finished_at",
    );
    expect(runs.length).toBe(2);
    expect(existsSync(runs[0]?.input_snapshot ?? "")).toBe(false);
    expect(existsSync(runs[1]?.input_snapshot ?? "")).toBe(true);
    expect(readdirSync(join(ndir, "n.duckdb.runs", "sgv_reporting"))).toEqual([runs[1]?.run_id]);
  }, 120_000);
});
