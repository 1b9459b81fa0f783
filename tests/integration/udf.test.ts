// The BigQuery UDF bundle run the way BigQuery runs it (src/udf/sandbox.ts: a fresh node:vm
// context with only ECMAScript built-ins and WebAssembly, one call per row, arguments encoded per
// BigQuery's JavaScript type mapping) on 100,000 generated members, in both initialisation modes:
// every output field, factors included, identical to `hcc score` on the same warehouse.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DuckDBInstance, type DuckDBConnection } from "@duckdb/node-api";
import { generateWarehouse } from "../../src/cli/generate.js";
import { buildUdfBundleFromData } from "../../src/udf/artifacts.js";
import { buildUdfBundle, countStructFields, BIGQUERY_UDF_LIMITS, type UdfBundle, type UdfLimits } from "../../src/udf/bundle.js";
import { createUdfSandbox, type BigQueryMemberRow } from "../../src/udf/sandbox.js";
import { loadKernelModule, loadPack } from "../../src/load.js";
import { Engine } from "../../src/engine/engine.js";

const MEMBERS = 100_000;
const dir = mkdtempSync(join(tmpdir(), "hcc-udf-"));
const wh = join(dir, "warehouse.duckdb");
const bin = new URL("../../bin/hcc.js", import.meta.url).pathname;

type Row = Record<string, unknown>;
let members: (BigQueryMemberRow & { participant_id: string })[] = [];
let scores: Row[] = [];
let factorsById = new Map<string, Row[]>();
let bundle: UdfBundle;

async function all(c: DuckDBConnection, sql: string): Promise<Row[]> {
  return (await c.runAndReadAll(sql)).getRowObjectsJS() as Row[];
}

beforeAll(async () => {
  await generateWarehouse({ members: MEMBERS, seed: 20261, out: wh, paymentYear: 2026, layout: "grouped" });
  // value problems and less common inputs the generator does not draw, on a few hundred members
  const db = await DuckDBInstance.create(wh);
  const c = await db.connect();
  await c.run(`ALTER TABLE sgv_reporting.participants ADD COLUMN pace BOOLEAN;
    UPDATE sgv_reporting.participants SET pace = true WHERE participant_id LIKE '%13';
    UPDATE sgv_reporting.participants SET sex = 'X' WHERE participant_id LIKE '%217';
    UPDATE sgv_reporting.participants SET sex = NULL WHERE participant_id LIKE '%218';
    UPDATE sgv_reporting.participants SET orec = '7', crec = ' 2 ' WHERE participant_id LIKE '%219';
    UPDATE sgv_reporting.participants SET birth_date = NULL WHERE participant_id LIKE '%221';
    UPDATE sgv_reporting.participants SET esrd_status = 'graft', graft_months = 14 WHERE participant_id LIKE '%222';
    UPDATE sgv_reporting.participants SET esrd_status = 'Transplant ', graft_months = 2 WHERE participant_id LIKE '%223';
    UPDATE sgv_reporting.participants SET esrd_status = 'bogus', rx_plan = 'xx' WHERE participant_id LIKE '%224';
    UPDATE sgv_reporting.participants SET rx_plan = NULL, dual_elgbl_cd = '42', medicaid = NULL WHERE participant_id LIKE '%225';
    UPDATE sgv_reporting.participants SET diagnosis_codes = list_append(diagnosis_codes, 'é11.9') WHERE participant_id LIKE '%226';
    CHECKPOINT;`);
  c.closeSync();
  db.closeSync();
  const r = spawnSync("node", [bin, "score", "--source", wh, "--output", wh, "--year", "2026", "--quiet"], { encoding: "utf8" });
  expect(r.stderr).toBe("");
  expect(r.status).toBe(0);
  const db2 = await DuckDBInstance.create(wh);
  const c2 = await db2.connect();
  members = (await all(
    c2,
    `SELECT participant_id, CAST(birth_date - DATE '1970-01-01' AS INTEGER) AS birth_date, sex, orec, crec, dual_elgbl_cd,
       medicaid, lti, new_enrollee, snp, low_income, pace, esrd_status, CAST(graft_months AS DOUBLE) AS graft_months, rx_plan,
       diagnosis_codes FROM sgv_reporting.participants ORDER BY participant_id`,
  )) as unknown as typeof members;
  scores = await all(c2, "SELECT * EXCLUDE (run_id) FROM sgv_reporting.risk_scores ORDER BY participant_id");
  factorsById = new Map();
  for (const f of await all(
    c2,
    "SELECT * EXCLUDE (run_id, payment_year) FROM sgv_reporting.risk_score_factors ORDER BY participant_id, model, factor",
  )) {
    const id = f["participant_id"] as string;
    delete f["participant_id"];
    const list = factorsById.get(id);
    if (list) list.push(f);
    else factorsById.set(id, [f]);
  }
  c2.closeSync();
  db2.closeSync();
  bundle = buildUdfBundleFromData({ paymentYear: 2026, models: [], mceEdits: true, rounding: "round3", factors: true });
}, 600_000);

afterAll(() => rmSync(dir, { recursive: true, force: true }));

const byModelFactor = (a: Row, b: Row): number => {
  const ka = `${String(a["model"])}\u0000${String(a["factor"])}`;
  const kb = `${String(b["model"])}\u0000${String(b["factor"])}`;
  return ka < kb ? -1 : ka > kb ? 1 : 0;
};

/** First difference between the engine's row and the UDF's result, or null. */
function diff(engine: Row, factors: Row[], udf: Row): string | null {
  for (const [k, v] of Object.entries(engine)) {
    if (k === "participant_id") continue;
    const u = udf[k];
    if (Array.isArray(v) || Array.isArray(u)) {
      if (JSON.stringify(v) !== JSON.stringify(u)) return `${k}: engine ${JSON.stringify(v)} udf ${JSON.stringify(u)}`;
    } else if (!Object.is(v, u)) return `${k}: engine ${String(v)} udf ${String(u)}`;
  }
  const extra = Object.keys(udf).filter((k) => k !== "factors" && !(k in engine));
  if (extra.length > 0) return `fields not in risk_scores: ${extra.join(", ")}`;
  const uf = [...((udf["factors"] as Row[] | undefined) ?? [])].sort(byModelFactor);
  if (uf.length !== factors.length) return `factors: engine ${factors.length} rows, udf ${uf.length}`;
  for (let i = 0; i < uf.length; i++) {
    const a = factors[i] ?? {};
    const b = uf[i] ?? {};
    for (const k of ["model", "segment", "factor", "factor_type", "coefficient", "hcc", "dx_codes"]) {
      const x = a[k];
      const y = b[k];
      if (JSON.stringify(x) !== JSON.stringify(y) || (typeof x === "number" && !Object.is(x, y))) {
        return `factors[${i}].${k}: engine ${JSON.stringify(x)} udf ${JSON.stringify(y)}`;
      }
    }
  }
  return null;
}

describe("hcc_score UDF in a BigQuery-like JavaScript context", () => {
  it("the warehouse has the edge cases and the engine scored every member", () => {
    expect(members).toHaveLength(MEMBERS);
    expect(scores).toHaveLength(MEMBERS);
    expect(scores.filter((s) => s["error"] !== null).length).toBeGreaterThan(300);
    expect(scores.filter((s) => s["esrd24_segment"] !== null).length).toBeGreaterThan(100);
    expect(bundle.files.length).toBeGreaterThan(1);
  });

  for (const init of ["sync", "async"] as const) {
    it(`${init} initialisation: every field of every member equals hcc score`, async () => {
      const sb = createUdfSandbox(bundle, init);
      let mismatches = 0;
      let first = "";
      let promises = 0;
      for (let i = 0; i < members.length; i++) {
        const m = members[i];
        const e = scores[i];
        if (!m || !e) throw new Error("row missing");
        expect(m.participant_id).toBe(e["participant_id"]);
        const out = sb.call(m);
        if (typeof out === "object" && out !== null && typeof (out as { then?: unknown }).then === "function") promises++;
        const d = diff(e, factorsById.get(m.participant_id) ?? [], (await out) as Row);
        if (d !== null && mismatches++ === 0) first = `${m.participant_id}: ${d}`;
      }
      expect(first).toBe("");
      expect(mismatches).toBe(0);
      // async: the first call returns the one initialisation Promise; later rows return values
      expect(promises).toBe(init === "async" ? 1 : 0);
    });
  }

  it("touches no Node or Web API (each is a trap that records access)", async () => {
    for (const init of ["sync", "async"] as const) {
      const sb = createUdfSandbox(bundle, init, { trapHostApis: true });
      for (const m of members.slice(0, 2000)) await sb.call(m);
      expect(sb.touched).toEqual([]);
    }
  });

  it("fails the build naming the limit when BigQuery would refuse the bundle", () => {
    const pack = loadPack({ paymentYear: 2026 });
    const rebuild = (limits: Partial<UdfLimits>): UdfBundle =>
      buildUdfBundle(
        {
          engine: new Engine(loadKernelModule(), pack, {}),
          pack,
          wasm: new Uint8Array(8),
          runtimeJs: "",
          factors: true,
          engineVersion: "test",
        },
        { ...BIGQUERY_UDF_LIMITS, ...limits },
      );
    expect(() => rebuild({ maxLibraries: 3 })).toThrow(/4 library files; BigQuery allows 3 per CREATE FUNCTION/);
    expect(() => rebuild({ maxResourcesPerQuery: 4 })).toThrow(/5 JavaScript resources .* allows 4 per query/);
    expect(() => rebuild({ maxInlineBytes: 100 })).toThrow(/inline body is \d+ bytes; BigQuery allows 100/);
    expect(() => rebuild({ maxStructFields: 20 })).toThrow(/STRUCTs have \d+ fields; BigQuery allows 20 per UDF/);
    expect(() => rebuild({ maxLibraryBytes: 400 })).toThrow(/too small for any pack part/);
    expect(rebuild({}).files.every((f) => f.bytes <= BIGQUERY_UDF_LIMITS.maxLibraryBytes)).toBe(true);
    // STRUCT fields count at every depth, ARRAY<STRUCT<…>> included
    expect(countStructFields("STRUCT<a INT64, b ARRAY<STRUCT<x STRING, y ARRAY<STRING>>>, c STRUCT<d DATE>>")).toEqual({
      fields: 6,
      depth: 2,
    });
    expect(() => rebuild({ maxStructDepth: 1 })).toThrow(/2 levels deep; BigQuery allows 1/);
  });
});
