// The dbt project against a real DuckDB warehouse: a small fixture scored by the real engine,
// `dbt seed` + `dbt build --target duckdb`, then the marts must agree 100% with the engine.
// Also compiles every model for BigQuery offline, and checks the seeds match data/.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { DuckDBInstance, type DuckDBConnection } from "@duckdb/node-api";
import { loadEngine } from "../../src/load.js";
import type { MemberInput } from "../../src/engine/member.js";
import type { OutputRecord } from "../../src/engine/engine.js";
import { checkSeeds } from "../../src/dbt/export-seeds.js";
import { loadPaymentYear } from "../../src/data/load.js";
import { expectedTuvaScores, type FactorRow } from "./tuva-scores.js";

const root = fileURLToPath(new URL("../..", import.meta.url));
const dbtBin = join(root, ".venv", "bin", "dbt");
const haveDbt = existsSync(dbtBin);
const PY = 2026;
const RUN_ID = "run-dbt-fixture-0001";

interface Participant extends MemberInput {
  rx_plan?: string | null;
}

// Realistic members: hierarchies (E11.22 over E11.9, N18.5 over N18.4), interactions, ESRD,
// a PDP enrollee, a member with no codes, a member without sex (engine error), messy codes.
const PARTICIPANTS: Participant[] = [
  { member_id: "P001", birth_date: "1950-03-02", sex: "F", orec: "0", dual_elgbl_cd: "00", rx_plan: "mapd" },
  { member_id: "P002", birth_date: "1944-11-20", sex: "M", orec: "0", dual_elgbl_cd: "02", rx_plan: "mapd" },
  { member_id: "P003", birth_date: "1958-06-15", sex: "F", orec: "1", dual_elgbl_cd: "01", rx_plan: "pdp" },
  { member_id: "P004", birth_date: "1962-01-09", sex: "M", orec: "2", esrd_status: "dialysis", rx_plan: "mapd" },
  { member_id: "P005", birth_date: "1939-08-30", sex: "F", orec: "0", dual_elgbl_cd: "00", lti: true },
  { member_id: "P006", birth_date: "1953-12-01", sex: "M", orec: "0", dual_elgbl_cd: "00", rx_plan: "mapd" },
  { member_id: "P007", birth_date: "1948-04-17", sex: null, orec: "0" },
  { member_id: "P008", birth_date: "1955-02-28", sex: "2", orec: "0", dual_elgbl_cd: "04", new_enrollee: false },
  // a new enrollee: the segment scores no HCCs, so its kept HCCs are hcc_unscored rows
  { member_id: "P009", birth_date: "1959-07-04", sex: "F", orec: "0", new_enrollee: true, rx_plan: "mapd" },
];

const DX: Record<string, string[]> = {
  P001: ["E11.22", "e11.9", "I50.9", "N18.5", "N18.4", "J44.9"],
  P002: ["F32.4", "I48.91", " I50.22", "E11.9", "G30.9"],
  P003: ["C50.911", "C78.00", "F20.9", "xx.bad"],
  P004: ["N18.6", "E11.22", "I12.0", "Z99.2"],
  P005: ["L89.154", "G82.20", "N39.0", "E43"],
  P006: [],
  P007: ["E11.9"],
  P008: ["M05.79", "I25.10", "E66.01", "Z68.41", "Q99.9"],
  P009: ["E11.22", "I50.9", "I50.22"],
};

const members = (): MemberInput[] => PARTICIPANTS.map((p) => ({ ...p, diagnosis_codes: DX[p.member_id] ?? [] }));

function lit(v: unknown): string {
  if (v === null || v === undefined) return "NULL";
  if (typeof v === "boolean") return v ? "TRUE" : "FALSE";
  if (typeof v === "number") {
    if (!Number.isFinite(v)) throw new Error(`non-finite ${v}`);
    return `${String(v)}::DOUBLE`;
  }
  if (Array.isArray(v)) return `[${v.map(lit).join(", ")}]::VARCHAR[]`;
  if (typeof v === "string") return `'${v.replace(/'/g, "''")}'`;
  throw new Error(`unsupported literal ${typeof v}`);
}

async function insertRows(con: DuckDBConnection, table: string, rows: Record<string, unknown>[]): Promise<void> {
  for (const r of rows) {
    const cols = Object.keys(r);
    await con.run(`insert into sgv_reporting.${table} (${cols.join(", ")}) values (${cols.map((c) => lit(r[c])).join(", ")})`);
  }
}

interface Fixture {
  py: number;
  dir: string;
  warehouse: string;
  records: OutputRecord[];
  factors: Record<string, unknown>[];
  dropped: Map<string, string>; // "member:model:HCC" → dropping parent, from explain
  modelCols: string[];
  cms: [string, string, number][];
  opportunities: [string, string, number, string, string][];
  partC: Map<string, string>; // member → Part C population the engine applied
}

async function buildWarehouse(py: number): Promise<Fixture> {
  const engine = loadEngine({ paymentYear: py });
  const ms = members();
  const records = engine.scoreMembers(ms);
  const modelCols = engine.scoredModels.map((i) => (engine.meta.models[i]?.id ?? "").toLowerCase());
  const factors: Record<string, unknown>[] = [];
  const dropped = new Map<string, string>();
  const partC = new Map<string, string>();
  const partD = new Map<string, string>();
  ms.forEach((m, i) => {
    if (records[i]?.error) return;
    const x = engine.explain(m);
    for (const p of x.population) (p.part === "C" ? partC : partD).set(m.member_id, p.name);
    for (const s of x.models) {
      const meta = engine.meta.models.find((mm) => mm.id === s.model);
      const codesOf = (hcc: string): string[] =>
        x.dx.filter((d) => d.ccs.some((c) => c.model === s.model && c.cc === hcc)).map((d) => d.code);
      const nonTerm = (hcc: string, type: string): Record<string, unknown> => ({
        participant_id: m.member_id,
        payment_year: py,
        model: s.model,
        segment: s.segment,
        factor: hcc,
        factor_type: type,
        coefficient: 0,
        hcc: Number(hcc.replace(/^\D+/, "")),
        dx_codes: codesOf(hcc),
        run_id: RUN_ID,
      });
      // the engine's non-term rows, derived here from explain: each hierarchy drop, and each
      // kept HCC without a term (a segment that scores no HCCs)
      for (const d of s.dropped) {
        dropped.set(`${m.member_id}:${s.model}:${d.hcc}`, d.by);
        factors.push(nonTerm(d.hcc, "hcc_dropped"));
      }
      const terms = new Set(s.factors.filter((f) => f.kind === "hcc").map((f) => f.factor));
      const keptCol = records[i]?.[`${s.model.toLowerCase()}_hccs`] as string[] | null | undefined;
      for (const h of keptCol ?? []) if (!terms.has(h)) factors.push(nonTerm(h, "hcc_unscored"));
      for (const f of s.factors) {
        const hcc = f.kind === "hcc" ? Number(f.factor.replace(/^\D+/, "")) : null;
        const vi = meta?.variables.indexOf(f.factor) ?? -1;
        factors.push({
          participant_id: m.member_id,
          payment_year: py,
          model: s.model,
          segment: s.segment,
          factor: f.factor,
          factor_type: f.kind === "hcc" ? "hcc" : f.kind === "divisor" ? "divisor" : (meta?.variableKinds[vi] ?? "demographic"),
          coefficient: f.coefficient,
          hcc,
          dx_codes: f.kind === "hcc" ? codesOf(f.factor) : [],
          run_id: RUN_ID,
        });
      }
    }
  });

  // CMS's MOR: our V28 HCCs, except P001's first HCC is missing and P002 has an extra HCC48
  const cms: [string, string, number][] = [];
  for (const r of records) {
    const hccs = (r["v28_hccs"] as string[] | null) ?? [];
    hccs.forEach((h, k) => {
      if (r.member_id === "P001" && k === 0) return;
      cms.push([r.member_id, "CMS-HCC V28", Number(h.replace(/^\D+/, ""))]);
    });
  }
  cms.push(["P002", "CMS-HCC V28", 48]);
  const firstKept = Number(((records[0]?.["v28_hccs"] as string[] | null)?.[0] ?? "HCC0").replace(/^\D+/, ""));
  const opportunities: [string, string, number, string, string][] = [
    ["P001", "V28", firstKept, "suspect", "coded in 2025"],
    ["P001", "V28", 280, "prior_year", "J44.9 documented 2024"],
    ["P006", "V28", 37, "suspect", "A1c 9.1% on 2025-05-02"],
    ["P006", "V28", 37, "prior_year", "E11.22 in 2024 claims"],
    ["P008", "V28", 48, "suspect", "BMI 41 on vitals"],
  ];

  const dir = mkdtempSync(join(tmpdir(), "hcc-dbt-"));
  const warehouse = join(dir, "warehouse.duckdb");
  const db = await DuckDBInstance.create(warehouse);
  const con = await db.connect();
  try {
    await con.run("create schema sgv_reporting");
    await con.run(`create table sgv_reporting.participants (participant_id varchar not null, birth_date date, sex varchar,
      orec varchar, crec varchar, dual_elgbl_cd varchar, medicaid boolean, lti boolean, new_enrollee boolean, snp boolean,
      low_income boolean, esrd_status varchar, graft_months integer, rx_plan varchar)`);
    await con.run(`create table sgv_reporting.participant_diagnosis_codes (participant_id varchar, diagnosis_code varchar,
      service_date date, source varchar)`);
    const modelDdl = modelCols
      .map((p) => `${p}_raw_score double, ${p}_normalized_score double, ${p}_segment varchar, ${p}_hccs varchar[]`)
      .join(", ");
    await con.run(`create table sgv_reporting.risk_scores (participant_id varchar not null, payment_year integer,
      risk_score double, payment_score double, rx_risk_score double, ${modelDdl}, dx_malformed integer, dx_unmapped integer,
      edits_applied integer, error varchar, orec_default boolean, dual_default boolean, rx_plan_default boolean,
      population varchar, rx_population varchar, run_id varchar)`);
    await con.run(`create table sgv_reporting.risk_score_factors (participant_id varchar, payment_year integer, model varchar,
      segment varchar, factor varchar, factor_type varchar, coefficient double, hcc integer, dx_codes varchar[], run_id varchar)`);
    await con.run(`create table sgv_reporting.score_runs (run_id varchar, started_at timestamp, finished_at timestamp,
      engine_version varchar, payment_year integer, models varchar, data_version varchar, data_manifest_sha256 varchar,
      source varchar, members_in integer, rows_out integer, members_errored integer, orphan_dx_rows integer, status varchar)`);
    await con.run(
      `create table sgv_reporting.hcc_participant (participant_id varchar, payment_year integer, model varchar, hcc integer)`,
    );
    await con.run(`create table sgv_reporting.hcc_opportunities (participant_id varchar, payment_year integer, model varchar,
      hcc varchar, source varchar, evidence varchar)`);

    for (const p of PARTICIPANTS) {
      await con.run(
        `insert into sgv_reporting.participants values (${lit(p.member_id)}, ${lit(p.birth_date)}::DATE, ${lit(p.sex)},
        ${lit(p.orec)}, NULL, ${lit(p.dual_elgbl_cd ?? null)}, NULL, ${lit(p.lti ?? null)}, ${lit(p.new_enrollee ?? null)}, NULL, NULL,
        ${lit(p.esrd_status ?? "none")}, NULL, ${lit(p.rx_plan ?? null)})`,
      );
      for (const [k, code] of (DX[p.member_id] ?? []).entries())
        await con.run(
          `insert into sgv_reporting.participant_diagnosis_codes values (${lit(p.member_id)}, ${lit(code)},
          DATE '2025-01-15' + ${k * 20}, ${lit(k % 2 === 0 ? "claims" : "emr")})`,
        );
    }
    // an exact duplicate dx row, as loaders produce
    await con.run(`insert into sgv_reporting.participant_diagnosis_codes values ('P001', 'E11.22', DATE '2025-01-15', 'claims')`);
    await insertRows(
      con,
      "risk_scores",
      records.map((r) => {
        const { member_id, ...rest } = r;
        // the population whose blend gave each score (explain's), as the engine reports it
        const row: Record<string, unknown> = {
          participant_id: member_id,
          ...rest,
          population: r.risk_score === null ? null : (partC.get(member_id) ?? null),
          rx_population: r.rx_risk_score === null ? null : (partD.get(member_id) ?? null),
          run_id: RUN_ID,
        };
        return row;
      }),
    );
    for (const f of factors) {
      const { payment_year, hcc, ...rest } = f;
      await insertRows(con, "risk_score_factors", [rest]);
      await con.run(
        `update sgv_reporting.risk_score_factors set payment_year = ${Number(payment_year)}, hcc = ${hcc === null ? "NULL" : Number(hcc)}
         where payment_year is null`,
      );
    }
    await con.run(`insert into sgv_reporting.score_runs values ('${RUN_ID}', TIMESTAMP '2026-01-05 02:00:00',
      TIMESTAMP '2026-01-05 02:00:03', '0.1.0', ${py}, '${modelCols.join(",").toUpperCase()}', '${engine.meta.dataVersion ?? ""}',
      NULL, 'fixture', ${PARTICIPANTS.length}, ${records.length}, ${records.filter((r) => r.error).length}, 0, 'committed')`);
    for (const [p, m, h] of cms) await con.run(`insert into sgv_reporting.hcc_participant values ('${p}', ${py}, '${m}', ${h})`);
    for (const [p, m, h, s, e] of opportunities)
      await con.run(
        `insert into sgv_reporting.hcc_opportunities values ('${p}', ${py}, '${m}', 'HCC${h}', ${lit(s)}, ${lit(e)})`,
      );
  } finally {
    con.closeSync();
    db.closeSync();
  }
  return { py, dir, warehouse, records, factors, dropped, modelCols, cms, opportunities, partC };
}

function runDbt(args: string[], env: Record<string, string>): { status: number | null; out: string } {
  const r = spawnSync("bash", [join(root, "scripts", "dbt.sh"), ...args], {
    cwd: root,
    env: { ...process.env, DBT_SEND_ANONYMOUS_USAGE_STATS: "false", ...env },
    encoding: "utf8",
    maxBuffer: 64 * 1024 * 1024,
  });
  return { status: r.status, out: `${r.stdout}\n${r.stderr}` };
}

async function query(warehouse: string, sql: string): Promise<Record<string, unknown>[]> {
  const db = await DuckDBInstance.create(warehouse, { access_mode: "READ_ONLY" });
  const con = await db.connect();
  try {
    return (await con.runAndReadAll(sql)).getRowObjectsJS() as Record<string, unknown>[];
  } finally {
    con.closeSync();
    db.closeSync();
  }
}

const key = (...xs: unknown[]): string => xs.map(String).join(":");

/** Scores the fixture for `py` into a temp warehouse, then `dbt seed` + `dbt build` on it. */
async function buildWarehouseAndRunDbt(py: number): Promise<Fixture> {
  const fx = await buildWarehouse(py);
  const env = { HCC_WAREHOUSE: fx.warehouse, DBT_TARGET_PATH: join(fx.dir, "target"), DBT_LOG_PATH: join(fx.dir, "logs") };
  const seed = runDbt(["seed", "--target", "duckdb"], env);
  if (seed.status !== 0) throw new Error(`dbt seed failed:\n${seed.out}`);
  const build = runDbt(["build", "--target", "duckdb"], env);
  if (build.status !== 0) throw new Error(`dbt build failed:\n${build.out}`);
  return fx;
}

const TUVA_SCORE_COLUMNS = [
  "v24_risk_score",
  "v28_risk_score",
  "blended_risk_score",
  "normalized_risk_score",
  "payment_risk_score",
] as const;

/**
 * patient_risk_scores means what Tuva's does: for every MA member, the score columns equal
 * Tuva's definitions recomputed from the engine's terms (tuva-scores.ts), the model columns are
 * weight × the engine's raw score (not its normalized score), and there are no member months.
 * Returns how many members were checked against the definitions.
 */
async function expectTuvaScores(fx: Fixture): Promise<number> {
  const rows = await query(fx.warehouse, "select * from hcc_cms_hcc.patient_risk_scores order by person_id");
  const year = loadPaymentYear(fx.py);
  const ma = year.populations.find((p) => p.name === "MA");
  const blend = (ma?.components ?? []).map((c) => ({ model: c.model, weight: c.weight, nf: c.nf[0]?.value ?? NaN }));
  let checked = 0;
  for (const row of rows) {
    const id = String(row["person_id"]);
    expect(row["payment_year"]).toBe(fx.py);
    expect(row["payer"]).toBeNull();
    expect(row["member_months"]).toBeNull();
    expect(row["payment_risk_score_weighted_by_months"]).toBeNull();
    if (fx.partC.get(id) !== "MA") continue;
    const factors = fx.factors.filter(
      (f) => f["participant_id"] === id && f["factor_type"] !== "hcc_dropped" && f["factor_type"] !== "hcc_unscored",
    ) as unknown as FactorRow[];
    const want = expectedTuvaScores(factors, blend, ma?.maci ?? year.maci);
    expect(Object.fromEntries(TUVA_SCORE_COLUMNS.map((c) => [c, row[c]])), id).toEqual(want);
    const rec = fx.records.find((r) => r.member_id === id);
    for (const { model, weight } of blend) {
      const raw = Number(rec?.[`${model.toLowerCase()}_raw_score`]);
      expect(Math.abs(Number(row[`${model.toLowerCase()}_risk_score`]) - weight * raw), `${id} ${model}`).toBeLessThanOrEqual(
        0.002,
      );
    }
    checked++;
  }
  return checked;
}

describe.skipIf(!haveDbt && !process.env["CI"])("dbt project on DuckDB (real engine results)", () => {
  let fx: Fixture;

  beforeAll(async () => {
    fx = await buildWarehouseAndRunDbt(PY);
  });

  afterAll(() => {
    if (fx && !process.env["HCC_DBT_KEEP"]) rmSync(fx.dir, { recursive: true, force: true });
  });

  it("fact_patient_risk_scores has every participant and the engine's scores exactly", async () => {
    const rows = await query(fx.warehouse, "select * from hcc_marts.fact_patient_risk_scores order by participant_id");
    expect(rows.map((r) => r["participant_id"])).toEqual(PARTICIPANTS.map((p) => p.member_id));
    for (const rec of fx.records) {
      const row = rows.find((r) => r["participant_id"] === rec.member_id);
      expect(row?.["is_scored"]).toBe(true);
      expect(row?.["payment_year"]).toBe(PY);
      expect(row?.["risk_score"]).toBe(rec.risk_score);
      expect(row?.["payment_score"]).toBe(rec.payment_score);
      expect(row?.["rx_risk_score"]).toBe(rec.rx_risk_score);
      expect(row?.["error"]).toBe(rec.error);
      for (const p of fx.modelCols) {
        expect(row?.[`${p}_raw_score`], `${rec.member_id} ${p}`).toBe(rec[`${p}_raw_score`]);
        expect(row?.[`${p}_normalized_score`]).toBe(rec[`${p}_normalized_score`]);
        expect(row?.[`${p}_segment`]).toBe(rec[`${p}_segment`]);
      }
    }
    expect(rows.find((r) => r["participant_id"] === "P007")?.["error"]).not.toBeNull();
    expect(rows.find((r) => r["participant_id"] === "P001")?.["part_c_population"]).toBe("MA");
    expect(rows.find((r) => r["participant_id"] === "P004")?.["part_c_population"]).toBe("ESRD");
    expect(rows.find((r) => r["participant_id"] === "P003")?.["part_d_population"]).toBe("Part D PDP");
    // the kept-HCC count is the engine's lists; the MACI is the engine's population's
    const year = loadPaymentYear(PY);
    for (const rec of fx.records) {
      const row = rows.find((r) => r["participant_id"] === rec.member_id);
      const kept = fx.modelCols.reduce((n, p) => n + ((rec[`${p}_hccs`] as string[] | null)?.length ?? 0), 0);
      expect(Number(row?.["n_kept_hccs"]), rec.member_id).toBe(kept);
      const pop = year.populations.find((p) => p.part === "C" && p.name === fx.partC.get(rec.member_id));
      expect(row?.["maci"] ?? null, rec.member_id).toBe(rec.risk_score === null || !pop ? null : (pop.maci ?? year.maci));
    }
  });

  it("fact_member_hccs: kept HCCs equal the engine's, dropped HCCs equal the engine's hierarchy drops", async () => {
    const rows = await query(fx.warehouse, "select * from hcc_marts.fact_member_hccs");
    const kept = new Set(
      rows.filter((r) => r["hcc_status"] === "kept").map((r) => key(r["participant_id"], r["model"], r["hcc_code"])),
    );
    const expected = new Set<string>();
    for (const rec of fx.records)
      for (const p of fx.modelCols)
        for (const h of (rec[`${p}_hccs`] as string[] | null) ?? []) expected.add(key(rec.member_id, p.toUpperCase(), h));
    expect([...kept].sort()).toEqual([...expected].sort());
    const dropped = new Map(
      rows
        .filter((r) => r["hcc_status"] === "dropped")
        .map((r) => [key(r["participant_id"], r["model"], r["hcc_code"]), r["dropped_by_hcc_code"]]),
    );
    expect(dropped).toEqual(fx.dropped);
    expect(fx.dropped.size).toBeGreaterThan(0);
    const e1122 = rows.find((r) => r["participant_id"] === "P001" && r["model"] === "V28" && r["hcc_code"] === "HCC37");
    expect(e1122?.["dx_codes"]).toBe("E1122");
    // every HCC row's codes are the engine's (explain's) codes behind it, normalized and sorted:
    // terms, kept HCCs of a segment that scores none, and hierarchy drops alike
    const norm = (xs: unknown): string | null => {
      const c = [...new Set((xs as string[]).map((x) => x.toUpperCase().replace(/[.\s]/g, "")))].sort();
      return c.length > 0 ? c.join(", ") : null;
    };
    const hccRows = fx.factors.filter((f) => ["hcc", "hcc_unscored", "hcc_dropped"].includes(String(f["factor_type"])));
    expect(hccRows.some((f) => f["factor_type"] === "hcc_unscored")).toBe(true);
    for (const f of hccRows) {
      const r = rows.find(
        (x) => x["participant_id"] === f["participant_id"] && x["model"] === f["model"] && x["hcc_code"] === f["factor"],
      );
      expect(r?.["hcc_status"], `${String(f["participant_id"])} ${String(f["factor"])}`).toBe(
        f["factor_type"] === "hcc_dropped" ? "dropped" : "kept",
      );
      expect(r?.["dx_codes"], `${String(f["participant_id"])} ${String(f["factor"])}`).toBe(norm(f["dx_codes"]));
    }
    const ne = rows.filter((r) => r["participant_id"] === "P009" && r["model"] === "V28" && r["hcc_status"] === "kept");
    expect(ne.length).toBeGreaterThan(0);
    expect(ne.every((r) => r["coefficient"] === null && r["dx_codes"] !== null)).toBe(true);
    // the coefficient is the engine's term
    for (const f of fx.factors.filter((x) => x["factor_type"] === "hcc")) {
      const r = rows.find(
        (x) => x["participant_id"] === f["participant_id"] && x["model"] === f["model"] && x["hcc_code"] === f["factor"],
      );
      expect(r?.["coefficient"]).toBe(f["coefficient"]);
    }
  });

  it("reconciliation against the MOR and open opportunity gaps", async () => {
    const rec = await query(fx.warehouse, "select * from hcc_marts.fact_hcc_reconciliation");
    const status = (s: string) =>
      rec
        .filter((r) => r["reconciliation_status"] === s)
        .map((r) => key(r["participant_id"], r["hcc"]))
        .sort();
    const ours = new Set<string>();
    for (const r of fx.records)
      for (const h of (r["v28_hccs"] as string[] | null) ?? []) ours.add(key(r.member_id, Number(h.slice(3))));
    const cms = new Set(fx.cms.map(([p, , h]) => key(p, h)));
    expect(status("matched")).toEqual([...ours].filter((k) => cms.has(k)).sort());
    expect(status("only_ours")).toEqual([...ours].filter((k) => !cms.has(k)).sort());
    expect(status("only_cms")).toEqual([...cms].filter((k) => !ours.has(k)).sort());
    expect(rec.every((r) => r["model"] === "V28")).toBe(true);

    const gaps = await query(fx.warehouse, "select * from hcc_marts.fact_hcc_opportunities");
    const open = [...new Set(fx.opportunities.filter(([p, , h]) => !ours.has(key(p, h))).map(([p, , h]) => key(p, h)))].sort();
    expect(gaps.map((r) => key(r["participant_id"], r["hcc"])).sort()).toEqual(open);
    expect(gaps.find((r) => r["participant_id"] === "P006")?.["n_opportunity_records"]).toBe(2n);
  });

  it("Tuva-compatible marts carry Tuva's columns with Tuva's definitions", async () => {
    const scores = await query(fx.warehouse, "select * from hcc_cms_hcc.patient_risk_scores order by person_id");
    expect(Object.keys(scores[0] ?? {})).toEqual([
      "person_id",
      "payer",
      "v24_risk_score",
      "v28_risk_score",
      "blended_risk_score",
      "normalized_risk_score",
      "payment_risk_score",
      "payment_risk_score_weighted_by_months",
      "member_months",
      "payment_year",
      "tuva_last_run",
    ]);
    // every member without an engine error; ESRD members (not MA) are checked by the dbt tests
    expect(scores.map((r) => r["person_id"])).toEqual(fx.records.filter((r) => !r.error).map((r) => r.member_id));
    expect(await expectTuvaScores(fx)).toBe([...fx.partC.values()].filter((p) => p === "MA").length);
    const factors = await query(fx.warehouse, "select * from hcc_cms_hcc.patient_risk_factors");
    expect(Object.keys(factors[0] ?? {}).slice(0, 12)).toEqual([
      "person_id",
      "payer",
      "enrollment_status_default",
      "medicaid_dual_status_default",
      "orec_default",
      "institutional_status_default",
      "factor_type",
      "risk_factor_description",
      "coefficient",
      "model_version",
      "payment_year",
      "tuva_last_run",
    ]);
    expect(factors.length).toBe(
      fx.factors.filter((f) => ["hcc", "demographic", "interaction", "count", "bonus"].includes(String(f["factor_type"]))).length,
    );
  });
});

describe.skipIf(!haveDbt && !process.env["CI"])("dbt Tuva-compatible marts on a PY2025 (V24/V28 blend) warehouse", () => {
  let fx: Fixture;

  beforeAll(async () => {
    fx = await buildWarehouseAndRunDbt(2025);
  });

  afterAll(() => {
    if (fx && !process.env["HCC_DBT_KEEP"]) rmSync(fx.dir, { recursive: true, force: true });
  });

  it("keeps the engine's CMS scores in fact_patient_risk_scores", async () => {
    const rows = await query(fx.warehouse, "select * from hcc_marts.fact_patient_risk_scores");
    for (const rec of fx.records) {
      const row = rows.find((r) => r["participant_id"] === rec.member_id);
      expect(row?.["risk_score"], rec.member_id).toBe(rec.risk_score);
      expect(row?.["payment_score"], rec.member_id).toBe(rec.payment_score);
    }
  });

  it("patient_risk_scores blends weighted raw V24 and V28 scores as Tuva does", async () => {
    expect(await expectTuvaScores(fx)).toBeGreaterThanOrEqual(5);
    const rows = await query(
      fx.warehouse,
      "select * from hcc_cms_hcc.patient_risk_scores where v24_risk_score is not null and v28_risk_score is not null",
    );
    expect(rows.length).toBeGreaterThanOrEqual(5);
  });
});

describe.skipIf(!haveDbt && !process.env["CI"])("dbt project on BigQuery (offline compile)", () => {
  it("compiles every model for the bigquery target without a connection", () => {
    const dir = mkdtempSync(join(tmpdir(), "hcc-dbt-bq-"));
    try {
      // placeholder application default credentials: the client is built, no token is fetched
      const adc = join(dir, "adc.json");
      writeFileSync(adc, JSON.stringify({ type: "authorized_user", client_id: "x", client_secret: "x", refresh_token: "x" }));
      const r = runDbt(["compile", "--target", "bigquery", "--vars", "{hcc_introspect: false}", "--no-populate-cache"], {
        GOOGLE_APPLICATION_CREDENTIALS: adc,
        HCC_BQ_PROJECT: "placeholder-project",
        HCC_BQ_DATASET: "hcc",
        DBT_TARGET_PATH: join(dir, "target"),
        DBT_LOG_PATH: join(dir, "logs"),
      });
      expect(r.status, r.out).toBe(0);
      expect(r.out).not.toMatch(/error/i);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("dbt seeds", () => {
  it("the committed seeds match data/ (hcc data export-seeds --check)", () => {
    expect(checkSeeds(join(root, "data"), join(root, "dbt", "seeds"))).toEqual([]);
  });
});
