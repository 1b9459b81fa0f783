// Warehouse sink (docs/warehouse.md "Results", docs/adr/0002-result-storage.md). Results arrive as
// Parquet parts — written by the pipeline's workers straight into the run's directory, or encoded
// here from batches — and are published at commit, in one transaction with the score_runs row:
//
// - storage "parquet" (default): the parts stay where they are, in <warehouse>.results/<schema>/
//   <run>/, and risk_scores / risk_score_factors become views over them. Publishing is a catalog
//   change, so a 10M-member run commits in milliseconds; the warehouse file references that
//   directory by absolute path (move them together).
// - storage "table": the parts are loaded into native tables (CREATE TABLE AS … read_parquet) and
//   renamed over the old ones; the warehouse file is self-contained, the commit costs seconds per
//   million members.
//
// A kill before COMMIT leaves the previous tables or views (DuckDB's WAL replays only committed
// transactions); what a killed run left behind — staging tables, run directories no view points
// to — is removed by the next begin().
import { existsSync, mkdirSync, readdirSync, rmSync } from "node:fs";
import { basename, dirname, join, resolve as resolvePath } from "node:path";
import type { RecordBatch } from "apache-arrow";
import { DuckDBInstance, type DuckDBConnection } from "@duckdb/node-api";
import { CantCreateError, InternalError, UnavailableError, UsageError } from "../errors.js";
import { checkIdent, commitInTransaction, sqlString } from "./duckdb-warehouse.js";
import { StagedParts } from "./staged-parts.js";
import type { PartStagingSink, ResultTable, ScoreRunRow, StagedPart } from "./types.js";

const STAGE_PREFIX = "hcc_staging_";
const RESULT_TABLES: readonly ResultTable[] = ["risk_scores", "risk_score_factors", "risk_score_gap_values"];
/** Result tables a run may leave out: an earlier run's copy is dropped, never left beside newer scores. */
const OPTIONAL_TABLES: readonly ResultTable[] = ["risk_score_gap_values"];
const SCORE_RUNS_DDL = `run_id VARCHAR PRIMARY KEY, started_at TIMESTAMPTZ, finished_at TIMESTAMPTZ, engine_version VARCHAR,
  payment_year INTEGER, models VARCHAR, data_version VARCHAR, data_manifest_sha256 VARCHAR, source VARCHAR, members_in BIGINT,
  rows_out BIGINT, members_errored BIGINT, orphan_dx_rows BIGINT, status VARCHAR, null_dx_codes BIGINT, error VARCHAR`;
/** Columns added to score_runs after its first release (older warehouses get them on the next run). */
const SCORE_RUNS_ADDED = ["null_dx_codes BIGINT", "error VARCHAR", "input_snapshot VARCHAR", "mean_payment_score DOUBLE"];

export type ResultStorage = "parquet" | "table";

export interface WarehouseSinkOptions {
  path: string;
  schema?: string;
  /** Where published results live (default "parquet"; see the file header). */
  storage?: ResultStorage;
  /** Rows buffered per table before a part is encoded on the main thread (default 262144). */
  flushRows?: number;
}

/** The directory holding a warehouse's Parquet result runs for one schema. */
export function resultsRoot(warehouse: string, schema: string): string {
  const abs = resolvePath(warehouse);
  return join(dirname(abs), `${basename(abs)}.results`, schema.toLowerCase()); // DuckDB schema names are case-insensitive
}

/**
 * Removes the run directories under `root` that no view of `schema` reads: those of killed or
 * failed runs, and those a newer run's views replaced. Score runs and ingest runs share the root
 * (docs/warehouse.md), so each keeps what the other's views point to.
 */
export async function removeUnreferencedRunDirs(c: DuckDBConnection, schema: string, root: string): Promise<void> {
  if (!existsSync(root)) return;
  const views = await c.runAndReadAll(
    `SELECT sql FROM duckdb_views() WHERE lower(schema_name) = lower(${sqlString(schema)}) AND NOT internal`,
  );
  const sql = (views.getRows() as [string][]).map(([s]) => s).join("\n");
  for (const d of readdirSync(root)) {
    if (!sql.includes(`${join(root, d)}/`)) rmSync(join(root, d), { recursive: true, force: true });
  }
}

export class DuckDBWarehouseSink implements PartStagingSink {
  private readonly schema: string;
  private readonly storage: ResultStorage;
  private instance: DuckDBInstance | null = null;
  private conn: DuckDBConnection | null = null;
  private dir: string | null = null;
  private parts: StagedParts | null = null;
  private runTag = "";
  /** Whether the warehouse file and its results directory existed before begin(): a failed run removes what it created. */
  private existed = { warehouse: true, results: true };

  constructor(private readonly opts: WarehouseSinkOptions) {
    this.schema = checkIdent(opts.schema ?? "sgv_reporting", "schema");
    this.storage = opts.storage ?? "parquet";
    if (this.storage !== "parquet" && this.storage !== "table") {
      throw new UsageError(`results storage must be parquet or table (got ${String(opts.storage)})`);
    }
  }

  describe(): string {
    return `duckdb:${this.opts.path} ${this.schema}${this.storage === "parquet" ? " (results as Parquet views)" : ""}`;
  }

  private get c(): DuckDBConnection {
    if (!this.conn) throw new InternalError("DuckDB sink used before begin()");
    return this.conn;
  }

  private get staging(): StagedParts {
    if (!this.parts) throw new InternalError("DuckDB sink used before begin()");
    return this.parts;
  }

  private stage(table: ResultTable): string {
    return `${this.schema}.${STAGE_PREFIX}${this.runTag}_${table}`;
  }

  async begin(run: { runId: string; paymentYear: number }): Promise<void> {
    this.runTag = run.runId.replace(/[^A-Za-z0-9_]/g, "_").slice(0, 64);
    this.existed = {
      warehouse: existsSync(this.opts.path),
      results: existsSync(dirname(resultsRoot(this.opts.path, this.schema))),
    };
    try {
      this.instance = await DuckDBInstance.fromCache(resolvePath(this.opts.path)); // shared with a source on the same file
    } catch (e) {
      throw new UnavailableError(`${this.opts.path}: cannot open the warehouse for writing (${(e as Error).message})`, e);
    }
    this.conn = await this.instance.connect();
    await this.c.run(`CREATE SCHEMA IF NOT EXISTS ${this.schema}`);
    await this.cleanUp();
    const root = resultsRoot(this.opts.path, this.schema);
    if (this.storage === "parquet" && /[*?[\]{}]/.test(root)) {
      throw new UsageError(`${root}: a results directory with glob characters cannot back views; use --results-storage table`);
    }
    // both storages stage the run's parts here; "table" removes it after loading
    this.dir = join(root, this.runTag);
    try {
      mkdirSync(this.dir, { recursive: true });
    } catch (e) {
      const why = (e as NodeJS.ErrnoException).code === "EACCES" ? "permission denied" : (e as Error).message;
      throw new CantCreateError(`${root}: cannot create the run's results directory (${why})`, { file: root }, e);
    }
    this.parts = new StagedParts(this.dir, this.opts.path, this.opts.flushRows);
  }

  /** Drops staging tables and result directories of killed runs (no view points to them). */
  private async cleanUp(): Promise<void> {
    const left = await this.c.runAndReadAll(
      `SELECT table_name FROM information_schema.tables WHERE lower(table_schema) = lower(${sqlString(this.schema)}) AND starts_with(table_name, ${sqlString(STAGE_PREFIX)})`,
    );
    for (const [t] of left.getRows() as [string][])
      await this.c.run(`DROP TABLE IF EXISTS ${this.schema}.${checkIdent(t, "table")}`);
    await removeUnreferencedRunDirs(this.c, this.schema, resultsRoot(this.opts.path, this.schema));
  }

  partDir(): string | null {
    return this.dir;
  }

  addPart(part: StagedPart): void {
    this.staging.add(part);
  }

  // eslint-disable-next-line @typescript-eslint/require-await
  async write(table: ResultTable, batch: RecordBatch): Promise<void> {
    this.staging.write(table, batch);
  }

  /** What the name is now in the catalog: a table, a view or nothing. */
  private async kindOf(name: string): Promise<"table" | "view" | null> {
    const r = await this.c.runAndReadAll(
      `SELECT table_type FROM information_schema.tables WHERE lower(table_schema) = lower(${sqlString(this.schema)}) AND table_name = ${sqlString(name)}`,
    );
    const t = (r.getRows() as [string][])[0]?.[0];
    return t === undefined ? null : t === "VIEW" ? "view" : "table";
  }

  async commit(run: ScoreRunRow): Promise<void> {
    this.staging.flushAll();
    const tables = this.staging.tables();
    const c = this.c;
    // storage "table": load outside the swap transaction (staging tables are dropped if it fails)
    if (this.storage === "table") {
      for (const [t, files] of tables)
        await c.run(`CREATE TABLE ${this.stage(t)} AS SELECT * FROM read_parquet([${files.map(sqlString).join(", ")}])`);
    }
    const mean = await this.meanPaymentScore(tables.find(([t]) => t === "risk_scores")?.[1] ?? []);
    const previous = new Map<ResultTable, "table" | "view" | null>();
    for (const [t] of tables) previous.set(t, await this.kindOf(t));
    const stale: [ResultTable, "table" | "view"][] = [];
    for (const t of OPTIONAL_TABLES) {
      const was = tables.some(([w]) => w === t) ? null : await this.kindOf(t);
      if (was) stale.push([t, was]);
    }
    await commitInTransaction(c, async () => {
      for (const [t] of tables) {
        const was = previous.get(t);
        if (was) await c.run(`DROP ${was === "view" ? "VIEW" : "TABLE"} ${this.schema}.${t}`);
        if (this.storage === "table") await c.run(`ALTER TABLE ${this.stage(t)} RENAME TO ${t}`);
        else {
          const glob = join(this.dir ?? "", `${t}-*.parquet`);
          await c.run(`CREATE VIEW ${this.schema}.${t} AS SELECT * FROM read_parquet(${sqlString(glob)})`);
        }
      }
      for (const [t, was] of stale) await c.run(`DROP ${was === "view" ? "VIEW" : "TABLE"} ${this.schema}.${t}`);
      await this.insertRun(c, run, mean);
    });
    if (this.storage === "parquet") this.dir = null; // published: close() must not remove it
    await this.cleanUp(); // directories no view references: earlier runs', and this one's for "table"
    this.close();
  }

  /** The run's average payment score (for run-over-run marts: fact_score_run_changes); null without one. */
  private async meanPaymentScore(files: readonly string[]): Promise<number | null> {
    if (files.length === 0) return null;
    const src = `read_parquet([${files.map(sqlString).join(", ")}])`;
    const cols = await this.c.runAndReadAll(`SELECT column_name FROM (DESCRIBE SELECT * FROM ${src})`);
    if (!(cols.getRows() as [string][]).some(([n]) => n === "payment_score")) return null;
    const v = (await this.c.runAndReadAll(`SELECT avg(payment_score) FROM ${src}`)).getRows()[0]?.[0];
    return typeof v === "number" ? v : null;
  }

  /** Appends the score_runs row (creating or migrating the table). */
  private async insertRun(c: DuckDBConnection, run: ScoreRunRow, meanPaymentScore: number | null = null): Promise<void> {
    await c.run(`CREATE TABLE IF NOT EXISTS ${this.schema}.score_runs (${SCORE_RUNS_DDL})`);
    for (const col of SCORE_RUNS_ADDED) await c.run(`ALTER TABLE ${this.schema}.score_runs ADD COLUMN IF NOT EXISTS ${col}`);
    await c.run(
      `INSERT INTO ${this.schema}.score_runs (run_id, started_at, finished_at, engine_version, payment_year, models, data_version,
         data_manifest_sha256, source, members_in, rows_out, members_errored, orphan_dx_rows, status, null_dx_codes, error,
         input_snapshot, mean_payment_score)
       VALUES ($1, CAST($2 AS TIMESTAMPTZ), CAST($3 AS TIMESTAMPTZ), $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18)`,
      [
        run.run_id,
        run.started_at,
        run.finished_at,
        run.engine_version,
        run.payment_year,
        run.models,
        run.data_version,
        run.data_manifest_sha256,
        run.source,
        run.members_in,
        run.rows_out,
        run.members_errored,
        run.orphan_dx_rows,
        run.status,
        run.null_dx_codes,
        run.error,
        run.input_snapshot ?? null,
        meanPaymentScore,
      ],
    );
  }

  async abort(_err: unknown): Promise<void> {
    if (this.conn) for (const t of RESULT_TABLES) await this.conn.run(`DROP TABLE IF EXISTS ${this.stage(t)}`);
    this.close();
    // a failed run leaves no new files: what begin() created goes
    if (!this.existed.results) rmSync(dirname(resultsRoot(this.opts.path, this.schema)), { recursive: true, force: true });
    if (!this.existed.warehouse) for (const f of [this.opts.path, `${this.opts.path}.wal`]) rmSync(f, { force: true });
  }

  /** Appends a failed run's score_runs row; results untouched. Only into a warehouse that existed before the run. */
  async recordFailure(run: ScoreRunRow): Promise<void> {
    if (!this.existed.warehouse || !existsSync(this.opts.path)) return;
    const instance = await DuckDBInstance.fromCache(resolvePath(this.opts.path));
    const c = await instance.connect();
    try {
      await c.run(`CREATE SCHEMA IF NOT EXISTS ${this.schema}`);
      await this.insertRun(c, run);
      await c.run("CHECKPOINT");
    } finally {
      c.closeSync();
      instance.closeSync();
    }
  }

  private close(): void {
    if (this.dir) rmSync(this.dir, { recursive: true, force: true });
    this.dir = null;
    this.parts = null;
    this.conn?.closeSync();
    this.instance?.closeSync();
    this.conn = null;
    this.instance = null;
  }
}
