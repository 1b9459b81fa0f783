// claims_diagnosis_provenance is a view over two narrow relations (claims_diagnoses: one row per
// diagnosis; claims_ingest_outcomes: one row per claim) with the columns, types and rows of the
// wide table it replaced, published in the same transaction as them (docs/ingest.md). The narrow
// relations are views over the run's Parquet files (storage "parquet", the default) or native
// tables ("table"); both give the same columns and rows.
import { describe, expect, it } from "vitest";
import { existsSync, mkdirSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { DuckDBInstance } from "@duckdb/node-api";
import { claimP, ingest, query, tempDir, writeFile, x12P } from "./helpers.js";

/** The wide table's columns and DuckDB types, in order (the dbt staging model reads them). */
const PROVENANCE_COLUMNS = [
  ["ingest_run_id", "VARCHAR"],
  ["payment_year", "INTEGER"],
  ["participant_id", "VARCHAR"],
  ["diagnosis_code", "VARCHAR"],
  ["diagnosis_code_raw", "VARCHAR"],
  ["claim_id", "VARCHAR"],
  ["claim_seq", "BIGINT"],
  ["claim_format", "VARCHAR"],
  ["claim_kind", "VARCHAR"],
  ["dx_position", "INTEGER"],
  ["dx_qualifier", "VARCHAR"],
  ["line_number", "INTEGER"],
  ["procedure_code", "VARCHAR"],
  ["revenue_code", "VARCHAR"],
  ["service_from", "DATE"],
  ["service_to", "DATE"],
  ["service_date", "DATE"],
  ["bill_type", "VARCHAR"],
  ["frequency", "VARCHAR"],
  ["place_of_service", "VARCHAR"],
  ["rendering_npi", "VARCHAR"],
  ["billing_npi", "VARCHAR"],
  ["source_file", "VARCHAR"],
  ["source_line", "BIGINT"],
  ["source_offset", "BIGINT"],
  ["json_pointer", "VARCHAR"],
  ["decision", "VARCHAR"],
  ["filter_reason", "VARCHAR"],
  ["diagnosis_source", "VARCHAR"],
];

async function exec(db: string, sql: string): Promise<void> {
  const inst = await DuckDBInstance.create(db);
  const c = await inst.connect();
  try {
    await c.run(sql);
  } finally {
    c.closeSync();
    inst.closeSync();
  }
}

const relations = (db: string): Promise<Record<string, unknown>[]> =>
  query(
    db,
    `SELECT table_name AS name, table_type AS type FROM information_schema.tables
     WHERE table_schema = 'sgv_reporting' AND table_name IN ('claims_diagnosis_provenance', 'claims_diagnoses', 'claims_ingest_outcomes')
     ORDER BY 1`,
  );

const published = (storage: "parquet" | "table"): { name: string; type: string }[] => {
  const narrow = storage === "parquet" ? "VIEW" : "BASE TABLE";
  return [
    { name: "claims_diagnoses", type: narrow },
    { name: "claims_diagnosis_provenance", type: "VIEW" },
    { name: "claims_ingest_outcomes", type: narrow },
  ];
};
const PUBLISHED = published("parquet");

/** The ingest run directories beside the warehouse (storage "parquet"). */
const runDirs = (db: string): string[] => {
  const root = `${db}.results/sgv_reporting`;
  return existsSync(root) ? readdirSync(root).filter((d) => d.startsWith("ingest_")) : [];
};

/** Every claim outcome the view has to carry: accepted, replaced, voided, void, envelope-rejected. */
function claimFiles(d: string): string[] {
  return [
    writeFile(
      d,
      "a.x12",
      x12P([claimP("O1", ["E1122", "I509"]), claimP("O2", ["I509"]), claimP("O3", ["J449"], { date: "20230301" })]),
    ),
    writeFile(d, "bad-envelope.x12", x12P([claimP("X1", ["E119"])], { seCount: 99 })),
    writeFile(
      d,
      "b.x12",
      x12P([claimP("R1", ["E119"], { freq: "7", ref: "O1" }), claimP("V1", ["I509"], { freq: "8", ref: "O2" })]),
    ),
  ];
}

describe("claims_diagnosis_provenance: a view over the narrow tables", () => {
  it.each(["parquet", "table"] as const)(
    "has the wide table's columns and types, and one row per diagnosis of every claim not rejected (storage %s)",
    async (storage) => {
      const d = tempDir();
      const db = join(d, "w.duckdb");
      const r = await ingest(claimFiles(d), db, { storage });
      expect(await relations(db)).toEqual(published(storage));
      expect(runDirs(db)).toEqual(storage === "parquet" ? [`ingest_${r.runId}`] : []);
      const cols = await query(
        db,
        `SELECT column_name AS c, data_type AS t FROM information_schema.columns
       WHERE table_schema = 'sgv_reporting' AND table_name = 'claims_diagnosis_provenance' ORDER BY ordinal_position`,
      );
      expect(cols.map((x) => [x["c"], x["t"]])).toEqual(PROVENANCE_COLUMNS);

      const rows = await query(
        db,
        `SELECT claim_id, dx_position, diagnosis_code, decision, filter_reason, payment_year, ingest_run_id = '${r.runId}' AS this_run,
              service_from::VARCHAR AS service_from, service_date::VARCHAR AS service_date, line_number, procedure_code,
              billing_npi, rendering_npi, place_of_service, bill_type, frequency, source_file = '${join(d, "a.x12")}' AS in_a
       FROM sgv_reporting.claims_diagnosis_provenance ORDER BY claim_seq, dx_position`,
      );
      expect(rows.length).toBe(r.counts.dxRows);
      const key = (x: Record<string, unknown>): string =>
        `${String(x["claim_id"])}/${String(x["dx_position"])}:${String(x["decision"])}:${String(x["filter_reason"])}`;
      // X1 (broken envelope) is rejected: no diagnosis rows, as in the wide table
      expect(rows.map(key)).toEqual([
        "O1/1:filtered:replaced",
        "O1/2:filtered:replaced",
        "O2/1:filtered:voided",
        "O3/1:filtered:out_of_period",
        "R1/1:accepted:null",
        "V1/1:filtered:void",
      ]);
      for (const x of rows) {
        expect(x["payment_year"]).toBe(2026);
        expect(x["this_run"]).toBe(true);
        expect(x["billing_npi"]).toBe("1111111111");
        expect(x["place_of_service"]).toBe("11");
        expect(x["procedure_code"] === null || x["procedure_code"] === "99213").toBe(true);
      }
      expect(rows.filter((x) => x["in_a"]).map((x) => x["claim_id"])).toEqual(["O1", "O1", "O2", "O3"]);
      // the claim fields sit once per claim in claims_ingest_outcomes, the diagnosis fields in claims_diagnoses
      const [n] = await query(
        db,
        `SELECT (SELECT count(*) FROM sgv_reporting.claims_diagnoses)::INTEGER AS dx,
              (SELECT count(*) FROM sgv_reporting.claims_ingest_outcomes)::INTEGER AS claims`,
      );
      expect(n).toEqual({ dx: r.counts.dxRows, claims: r.counts.claimsIn });
    },
  );

  it("replaces a warehouse's wide table with the view; a failed run leaves the previous view and tables", async () => {
    const d = tempDir();
    const db = join(d, "w.duckdb");
    const files = claimFiles(d);
    await ingest(files, db);
    // the layout before the view: a table of the same name and rows, and native narrow tables
    await exec(
      db,
      `CREATE TABLE sgv_reporting.wide AS SELECT * FROM sgv_reporting.claims_diagnosis_provenance;
       CREATE TABLE sgv_reporting.outcomes AS SELECT * FROM sgv_reporting.claims_ingest_outcomes;
       DROP VIEW sgv_reporting.claims_diagnosis_provenance; DROP VIEW sgv_reporting.claims_diagnoses;
       DROP VIEW sgv_reporting.claims_ingest_outcomes;
       ALTER TABLE sgv_reporting.outcomes RENAME TO claims_ingest_outcomes;
       ALTER TABLE sgv_reporting.wide RENAME TO claims_diagnosis_provenance`,
    );
    const second = await ingest(files, db);
    expect(await relations(db)).toEqual(PUBLISHED);
    // the first run's files went with the views that read them
    expect(runDirs(db)).toEqual([`ingest_${second.runId}`]);
    const runIds = (): Promise<Record<string, unknown>[]> =>
      query(db, "SELECT ingest_run_id AS id, count(*)::INTEGER AS n FROM sgv_reporting.claims_diagnosis_provenance GROUP BY 1");
    expect(await runIds()).toEqual([{ id: second.runId, n: second.counts.dxRows }]);

    const junk = writeFile(d, "junk.txt", "hello, world\n");
    await expect(ingest([...files, junk], db)).rejects.toThrow(/unknown format/);
    expect(await relations(db)).toEqual(PUBLISHED);
    expect(await runIds()).toEqual([{ id: second.runId, n: second.counts.dxRows }]);
    const stale = await query(db, "SELECT count(*)::INTEGER AS n FROM duckdb_tables() WHERE table_name LIKE 'hcc_ingest_%'");
    expect(stale[0]!["n"]).toBe(0);
    expect(runDirs(db)).toEqual([`ingest_${second.runId}`]);
  });

  it("switches storage both ways: the same rows, and no run directory left that no view reads", async () => {
    const d = tempDir();
    const db = join(d, "w.duckdb");
    const files = claimFiles(d);
    const rows = (): Promise<Record<string, unknown>[]> =>
      query(
        db,
        `SELECT (SELECT count(*) FROM sgv_reporting.claims_diagnosis_provenance)::INTEGER AS prov,
                (SELECT count(*) FROM sgv_reporting.participant_diagnosis_codes)::INTEGER AS pdx,
                (SELECT string_agg(DISTINCT outcome || ':' || coalesce(reason, ''), ',' ORDER BY outcome || ':' || coalesce(reason, ''))
                   FROM sgv_reporting.claims_ingest_outcomes) AS outcomes`,
      );
    const a = await ingest(files, db);
    const first = await rows();
    expect(first[0]!["prov"]).toBe(a.counts.dxRows);
    await ingest(files, db, { storage: "table" });
    expect(await relations(db)).toEqual(published("table"));
    expect(await rows()).toEqual(first);
    expect(runDirs(db)).toEqual([]);
    const c = await ingest(files, db);
    expect(await relations(db)).toEqual(PUBLISHED);
    expect(await rows()).toEqual(first);
    expect(runDirs(db)).toEqual([`ingest_${c.runId}`]);
  });

  it("a warehouse path with glob characters cannot back views: a usage error before parsing; --storage table works", async () => {
    const d = tempDir();
    const db = join(d, "w[1].duckdb");
    const files = claimFiles(d);
    // a file of no known format would fail the parse: the storage error comes first
    await expect(ingest([...files, writeFile(d, "junk.txt", "hello, world\n")], db)).rejects.toThrow(
      /a results directory with glob characters cannot back views; use --storage table/,
    );
    expect(existsSync(db)).toBe(false); // nothing published
    const r = await ingest(files, db, { storage: "table" });
    expect(await relations(db)).toEqual(published("table"));
    expect(r.counts.claimsIn).toBeGreaterThan(0);
  });

  it("a publish that fails after writing its files removes them and leaves the previous relations", async () => {
    const d = tempDir();
    const db = join(d, "w.duckdb");
    const files = claimFiles(d);
    const first = await ingest(files, db);
    // a killed run's directory (no view reads it) goes with the next run
    mkdirSync(join(`${db}.results/sgv_reporting`, "ingest_killed"), { recursive: true });
    // the commit fails after the files are written: ingest_runs gets a column the run's row does
    // not fill, so its INSERT (the last statement before COMMIT) fails and the transaction rolls back
    await exec(
      db,
      `CREATE TABLE sgv_reporting.keep AS SELECT * FROM sgv_reporting.ingest_runs;
       DROP TABLE sgv_reporting.ingest_runs;
       CREATE TABLE sgv_reporting.ingest_runs AS SELECT * FROM sgv_reporting.keep WHERE false;
       ALTER TABLE sgv_reporting.ingest_runs ADD COLUMN extra INTEGER; DROP TABLE sgv_reporting.keep`,
    );
    await expect(ingest(files, db)).rejects.toThrow(/ingest_runs has 21 columns but 20 values/);
    expect(await relations(db)).toEqual(PUBLISHED);
    const ids = await query(db, "SELECT DISTINCT ingest_run_id AS id FROM sgv_reporting.claims_diagnosis_provenance");
    expect(ids).toEqual([{ id: first.runId }]);
    expect(runDirs(db)).toEqual([`ingest_${first.runId}`]);
  });
});
