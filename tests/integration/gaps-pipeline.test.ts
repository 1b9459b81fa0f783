// `hcc score --gaps` end to end (docs/gap-values.md): the warehouse's opportunities are joined in
// the read, valued by the workers' kernels and published with the run; every value equals the
// engine's own what-if for the same member (scored independently, from the warehouse rows read
// back here); a later run without --gaps leaves no stale values; bad combinations are refused.
import { beforeAll, describe, expect, it } from "vitest";
import { cpSync, existsSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { hcc, sql } from "../support/warehouse.js";
import { loadEngine } from "../../src/load.js";
import type { MemberInput } from "../../src/engine/member.js";
import type { GapCandidate } from "../../src/engine/gaps.js";

const dir = mkdtempSync(join(tmpdir(), "hcc-gaps-"));
const base = join(dir, "base.duckdb");

interface GapRow {
  participant_id: string;
  model: string;
  hcc: string | null;
  action: string;
  status: string;
  delta_raw_score: number | null;
  delta_normalized_score: number | null;
  delta_risk_score: number | null;
  delta_payment_score: number | null;
  annual_value: number | null;
  hccs_displaced: string[];
  terms_on: string[];
}

beforeAll(() => {
  const r = hcc("generate", "--members", "1500", "--seed", "5", "--out", base);
  expect(r.status, r.stderr).toBe(0);
});

describe("hcc score --gaps (opportunities from the warehouse)", () => {
  it("values every opportunity and kept HCC as the engine does for the same member", async () => {
    const wh = join(dir, "opps.duckdb");
    cpSync(base, wh);
    // an opportunity in another spelling, one for a model the year does not score, one not an HCC
    await sql(
      wh,
      `INSERT INTO sgv_reporting.hcc_opportunities (participant_id, payment_year, hcc, model, source, evidence)
       SELECT participant_id, 2026, 17, 'CMS-HCC V28', 'test', 'spelling' FROM sgv_reporting.participants LIMIT 5`,
      `INSERT INTO sgv_reporting.hcc_opportunities (participant_id, payment_year, hcc, model, source, evidence)
       SELECT participant_id, 2026, 9999, 'V28', 'test', 'not an HCC' FROM sgv_reporting.participants LIMIT 2`,
      // a model PY2026 does not have (V21), in two spellings: one row per member and HCC, model_not_scored
      `INSERT INTO sgv_reporting.hcc_opportunities (participant_id, payment_year, hcc, model, source, evidence)
       SELECT participant_id, 2026, 18, 'CMS-HCC V21', 'test', 'old model' FROM sgv_reporting.participants ORDER BY participant_id LIMIT 3`,
      `INSERT INTO sgv_reporting.hcc_opportunities (participant_id, payment_year, hcc, model, source, evidence)
       SELECT participant_id, 2026, 18, 'V21', 'test', 'old model' FROM sgv_reporting.participants ORDER BY participant_id LIMIT 3`,
    );
    const r = hcc("score", "--source", wh, "--gaps", "--base-rate", "1000", "--results-storage", "table");
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/gap value rows/);
    expect(r.stderr).not.toMatch(/M0000/); // progress and summary never name members

    const rows = await sql<GapRow>(wh, "SELECT * FROM sgv_reporting.risk_score_gap_values");
    const opps = await sql<{ n: string }>(
      wh,
      "SELECT count(DISTINCT (participant_id, hcc, model)) AS n FROM sgv_reporting.hcc_opportunities WHERE payment_year = 2026",
    );
    const adds = rows.filter((x) => x.action === "add");
    expect(adds.length).toBeGreaterThan(100);
    expect(adds.length).toBeLessThanOrEqual(Number(opps[0]!.n));
    expect(adds.filter((x) => x.status === "unknown_hcc").length).toBe(2);
    const foreign = adds.filter((x) => x.status === "model_not_scored");
    expect(foreign.map((x) => [x.model, x.hcc, x.delta_payment_score, x.annual_value])).toEqual([
      ["V21", "HCC18", null, null],
      ["V21", "HCC18", null, null],
      ["V21", "HCC18", null, null],
    ]);
    // every opportunity (member × model × HCC, model spellings folded) has exactly one add row
    const [distinct] = await sql<{ n: number }>(
      wh,
      `SELECT count(DISTINCT (participant_id, replace(model, 'CMS-HCC ', ''), hcc))::INTEGER AS n
       FROM sgv_reporting.hcc_opportunities WHERE payment_year = 2026`,
    );
    expect(adds.length).toBe(distinct?.n);
    expect(rows.some((x) => x.action === "remove")).toBe(true);
    for (const x of rows) {
      if (x.delta_payment_score !== null) expect(x.annual_value).toBeCloseTo(x.delta_payment_score * 12_000, 2);
    }

    // independent check: the same members scored in-process from rows read back from the warehouse
    const members = await sql<Record<string, unknown>>(
      wh,
      `SELECT p.*, (SELECT list(diagnosis_code) FROM sgv_reporting.participant_diagnosis_codes d
                    WHERE d.participant_id = p.participant_id AND diagnosis_code IS NOT NULL) AS diagnosis_codes,
              (SELECT list(DISTINCT regexp_extract(CAST(o.hcc AS VARCHAR), '(\\d+)$', 1)) FROM sgv_reporting.hcc_opportunities o
                    WHERE o.participant_id = p.participant_id AND o.payment_year = 2026 AND o.model LIKE '%V28') AS gaps
       FROM sgv_reporting.participants p ORDER BY participant_id LIMIT 300`,
    );
    const engine = loadEngine({ paymentYear: 2026 });
    const inputs: MemberInput[] = members.map((m) => ({
      ...(m as unknown as MemberInput),
      member_id: String(m["participant_id"]),
      diagnosis_codes: (m["diagnosis_codes"] as string[] | null) ?? [],
    }));
    const cands: GapCandidate[][] = members.map((m) =>
      ((m["gaps"] as string[] | null) ?? []).filter((h) => h !== "9999").map((h) => ({ model: "V28", hcc: Number(h) })),
    );
    const { gaps } = engine.valueGaps(inputs, cands, { add: true, remove: true, all: true });
    const byKey = new Map(rows.map((x) => [`${x.participant_id}|${x.model}|${x.hcc}|${x.action}`, x]));
    let compared = 0;
    for (const g of gaps) {
      const id = inputs[g.member]!.member_id;
      const row = byKey.get(`${id}|${g.model}|${g.hcc}|${g.action}`);
      expect(row, `${g.model} ${g.hcc} ${g.action}`).toBeDefined();
      expect(row!.status).toBe(g.status);
      expect(row!.delta_payment_score).toBe(g.delta_payment_score);
      expect(row!.delta_raw_score).toBe(g.delta_raw_score);
      expect(row!.hccs_displaced).toEqual(g.hccs_displaced);
      expect(row!.terms_on).toEqual(g.terms_on);
      compared++;
    }
    expect(compared).toBeGreaterThan(300);

    // a run without --gaps: no stale values beside the new scores
    const again = hcc("score", "--source", wh, "--quiet", "--results-storage", "table");
    expect(again.status, again.stderr).toBe(0);
    const left = await sql<{ n: string }>(
      wh,
      "SELECT count(*) AS n FROM information_schema.tables WHERE table_name = 'risk_score_gap_values'",
    );
    expect(Number(left[0]!.n)).toBe(0);
  });

  it("a named list for every member goes to a directory output, one row per what-if", async () => {
    const out = join(dir, "out-list");
    const r = hcc("score", "--source", base, "--output", out, "--gaps", "V28:HCC17,V28:HCC226", "--no-at-risk", "--quiet");
    expect(r.status, r.stderr).toBe(0);
    const file = join(out, "risk_score_gap_values.parquet");
    expect(existsSync(file)).toBe(true);
    const byAction = await sql<{ action: string; n: string; members: string }>(
      ":memory:",
      `SELECT action, count(*) AS n, count(DISTINCT participant_id) AS members FROM read_parquet('${file}') GROUP BY 1 ORDER BY 1`,
    );
    // both candidates for every member V28 scores, and their sum; no remove rows
    const [v28] = await sql<{ n: string }>(
      ":memory:",
      `SELECT count(*) AS n FROM read_parquet('${join(out, "risk_scores.parquet")}') WHERE v28_segment IS NOT NULL`,
    );
    expect(Number(v28!.n)).toBeGreaterThan(1000);
    expect(byAction.map((x) => x.action)).toEqual(["add", "add_all"]);
    expect(Number(byAction[0]!.n)).toBe(2 * Number(v28!.n));
    expect(Number(byAction[1]!.n)).toBe(Number(v28!.n));
  });

  it("refuses combinations it cannot honour, naming the fix", () => {
    const a = hcc("score", "--input", join(dir, "x.ndjson"), "--output", join(dir, "y.ndjson"), "--gaps");
    expect(a.status).toBe(64);
    expect(a.stderr).toMatch(/--gaps writes the risk_score_gap_values table/);
    const b = hcc("score", "--source", base, "--gaps", "HCC9999", "--output", join(dir, "o2"));
    expect(b.status).toBe(64);
    expect(b.stderr).toMatch(/HCC9999 is not an HCC/);
    const c = hcc("score", "--source", base, "--base-rate", "900", "--output", join(dir, "o3"));
    expect(c.status).toBe(64);
    expect(c.stderr).toMatch(/--base-rate needs --gaps/);
  });
});

describe("hcc explain --gaps", () => {
  it("--json: one entry per gap with per-model and blend deltas, and the value of each kept HCC", () => {
    const r = hcc(
      "explain",
      "--year",
      "2025",
      "--age",
      "72",
      "--sex",
      "F",
      "--orec",
      "0",
      "E11.9",
      "I50.9",
      "--gaps",
      "V24:HCC18,HCC17",
      "--json",
    );
    expect(r.status, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout) as {
      record: { payment_score: number };
      gap_values: {
        kept_hcc_values: { model: string; hcc: string; delta_payment_score: number }[];
        gaps: {
          gap: string;
          models: { model: string; delta_raw_score: number; delta_normalized_score: number; delta_payment_score: number }[];
          blend: { delta_payment_score: number };
        }[];
      };
    };
    const g = out.gap_values;
    expect(g.gaps.map((x) => x.gap)).toEqual(["HCC18", "HCC17"]);
    expect(g.gaps[0]!.models.map((m) => m.model)).toEqual(["V24"]);
    expect(g.gaps[1]!.models.map((m) => m.model).sort()).toEqual(["V24", "V28"]); // PY2025 blends both
    for (const e of g.gaps) {
      expect(e.blend.delta_payment_score).toBeGreaterThan(0);
      for (const m of e.models) expect(typeof m.delta_normalized_score).toBe("number");
    }
    // kept HCCs of both models, each worth something to lose
    expect(new Set(g.kept_hcc_values.map((v) => v.model))).toEqual(new Set(["V24", "V28"]));
    for (const v of g.kept_hcc_values) expect(v.delta_payment_score).toBeLessThan(0);
    const text = hcc("explain", "--age", "72", "--sex", "F", "E11.9", "--gaps", "HCC226");
    expect(text.stdout).toMatch(/Gaps \(each added alone\)/);
    expect(text.stdout).toMatch(/turns on DIABETES_HF_V28/);
  });
});
