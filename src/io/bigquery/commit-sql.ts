// The statements of the BigQuery commit (docs/bigquery.md "Commit protocol"): one query job
// running a script whose only effects on the result tables are inside one multi-statement
// transaction, so risk_scores, risk_score_factors and score_runs change together or not at all,
// whatever happens to this process once the job is inserted. Schema changes BigQuery does not
// allow inside a transaction (CREATE TABLE, ALTER TABLE) come first, outside it, and only
// widen: a new nullable column, a column that may now be null. Nothing here is member data; the
// only free text (source, error) is written as base64 so no value can end a string literal.
import { DataType, Type, type Schema } from "apache-arrow";
import type { ScoreRunRow } from "../types.js";
import { InternalError, UnavailableError } from "../../errors.js";
import { qualifiedName, type BigQueryConfig } from "./config.js";

/** A field of a BigQuery table schema (tables.get). */
export interface BqField {
  name: string;
  type: string;
  mode?: string;
  fields?: BqField[];
}

export interface Column {
  name: string;
  /** GoogleSQL type, e.g. STRING, INT64, ARRAY<STRING>. */
  type: string;
  nullable: boolean;
}

const COLUMN_RE = /^[A-Za-z_][A-Za-z0-9_]{0,299}$/;

export function quoteColumn(name: string): string {
  if (!COLUMN_RE.test(name)) throw new InternalError(`BigQuery sink: '${name}' is not a column name this sink writes`);
  return `\`${name}\``;
}

export function quoteTable(c: BigQueryConfig, table: string): string {
  return `\`${qualifiedName(c, table)}\``;
}

/** GoogleSQL type of an Arrow result column, as a Parquet load of it creates the column. */
export function sqlTypeOfArrow(t: DataType): string {
  if (DataType.isDictionary(t)) return sqlTypeOfArrow(t.dictionary as DataType);
  if (DataType.isUtf8(t) || DataType.isLargeUtf8(t)) return "STRING";
  if (DataType.isInt(t)) return "INT64";
  if (DataType.isFloat(t)) return "FLOAT64";
  if (DataType.isBool(t)) return "BOOL";
  if (DataType.isDate(t)) return "DATE";
  if (DataType.isTimestamp(t)) return "TIMESTAMP";
  if (DataType.isList(t)) {
    const child = t.children[0]?.type as DataType | undefined;
    if (!child || DataType.isList(child)) throw new InternalError("BigQuery sink: a list of lists is not written");
    return `ARRAY<${sqlTypeOfArrow(child)}>`;
  }
  throw new InternalError(`BigQuery sink: Arrow type ${Type[t.typeId]} has no BigQuery column type here`);
}

export function columnsOfSchema(schema: Schema): Column[] {
  return schema.fields.map((f) => ({ name: f.name, type: sqlTypeOfArrow(f.type as DataType), nullable: f.nullable }));
}

const LEGACY_TYPES: Record<string, string> = { INTEGER: "INT64", FLOAT: "FLOAT64", BOOLEAN: "BOOL", RECORD: "STRUCT" };

/** GoogleSQL type of a tables.get field (legacy names mapped, REPEATED → ARRAY<…>). */
export function sqlTypeOfField(f: BqField): string {
  const base = LEGACY_TYPES[f.type.toUpperCase()] ?? f.type.toUpperCase();
  const t = base === "STRUCT" ? `STRUCT<${(f.fields ?? []).map((x) => `${x.name} ${sqlTypeOfField(x)}`).join(", ")}>` : base;
  return f.mode === "REPEATED" ? `ARRAY<${t}>` : t;
}

/** The score_runs columns, in the order a new table gets them. */
export const SCORE_RUNS_COLUMNS: readonly Column[] = [
  ["run_id", "STRING"],
  ["started_at", "TIMESTAMP"],
  ["finished_at", "TIMESTAMP"],
  ["engine_version", "STRING"],
  ["payment_year", "INT64"],
  ["models", "STRING"],
  ["data_version", "STRING"],
  ["data_manifest_sha256", "STRING"],
  ["source", "STRING"],
  ["members_in", "INT64"],
  ["rows_out", "INT64"],
  ["members_errored", "INT64"],
  ["orphan_dx_rows", "INT64"],
  ["null_dx_codes", "INT64"],
  ["status", "STRING"],
  ["error", "STRING"],
].map(([name, type]) => ({ name: name as string, type: type as string, nullable: true }));

/** A GoogleSQL string literal for any text: plain when it is safe ASCII, else via base64. */
export function sqlString(s: string | null): string {
  if (s === null) return "NULL";
  if (/^[A-Za-z0-9 _.,:;+=()/@#%&*<>?![\]{}|^~$-]*$/.test(s)) return `'${s}'`;
  return `CAST(FROM_BASE64('${Buffer.from(s, "utf8").toString("base64")}') AS STRING)`;
}

export function sqlTimestamp(iso: string): string {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) throw new InternalError(`BigQuery sink: '${iso}' is not a timestamp`);
  return `TIMESTAMP '${d.toISOString()}'`;
}

function sqlInt(n: number): string {
  if (!Number.isFinite(n)) throw new InternalError(`BigQuery sink: ${n} is not a count`);
  return String(Math.trunc(n));
}

/**
 * Statements (outside any transaction) that make `target` able to take `columns`: CREATE TABLE
 * when it is absent; ADD COLUMN for columns it lacks; DROP NOT NULL for REQUIRED columns this run
 * leaves out or may leave null. A column whose type this run cannot write into is an error
 * naming the table and column (the table was made by something else, or by hand).
 */
export function schemaStatements(
  c: BigQueryConfig,
  target: string,
  columns: readonly Column[],
  existing: BqField[] | null,
): string[] {
  const t = quoteTable(c, target);
  if (existing === null) {
    return [`CREATE TABLE IF NOT EXISTS ${t} (\n${columns.map((x) => `  ${quoteColumn(x.name)} ${x.type}`).join(",\n")}\n)`];
  }
  const have = new Map(existing.map((f) => [f.name.toLowerCase(), f]));
  const add: Column[] = [];
  const relax: string[] = [];
  for (const col of columns) {
    const f = have.get(col.name.toLowerCase());
    if (!f) {
      add.push(col);
      continue;
    }
    const was = sqlTypeOfField(f);
    if (was !== col.type && !(was === "FLOAT64" && col.type === "INT64")) {
      throw new UnavailableError(
        `BigQuery result table ${qualifiedName(c, target)} has column ${f.name} of type ${was}, but this run writes ${col.type}; ` +
          "the table was changed outside hcc: rename or drop it (the next run creates it again) — previous results intact",
      );
    }
    if (f.mode === "REQUIRED" && col.nullable) relax.push(f.name);
  }
  const names = new Set(columns.map((x) => x.name.toLowerCase()));
  for (const f of existing) if (f.mode === "REQUIRED" && !names.has(f.name.toLowerCase())) relax.push(f.name);
  const out: string[] = [];
  if (add.length > 0) {
    out.push(`ALTER TABLE ${t}\n${add.map((x) => `  ADD COLUMN IF NOT EXISTS ${quoteColumn(x.name)} ${x.type}`).join(",\n")}`);
  }
  for (const r of relax) out.push(`ALTER TABLE ${t} ALTER COLUMN ${quoteColumn(r)} DROP NOT NULL`);
  return out;
}

function runInsert(c: BigQueryConfig, run: ScoreRunRow): string {
  const values: Record<string, string> = {
    run_id: sqlString(run.run_id),
    started_at: sqlTimestamp(run.started_at),
    finished_at: sqlTimestamp(run.finished_at),
    engine_version: sqlString(run.engine_version),
    payment_year: sqlInt(run.payment_year),
    models: sqlString(run.models),
    data_version: sqlString(run.data_version),
    data_manifest_sha256: sqlString(run.data_manifest_sha256),
    source: sqlString(run.source),
    members_in: sqlInt(run.members_in),
    rows_out: sqlInt(run.rows_out),
    members_errored: sqlInt(run.members_errored),
    orphan_dx_rows: sqlInt(run.orphan_dx_rows),
    null_dx_codes: sqlInt(run.null_dx_codes),
    status: sqlString(run.status),
    error: sqlString(run.error),
  };
  const cols = SCORE_RUNS_COLUMNS.map((x) => x.name);
  return (
    `INSERT INTO ${quoteTable(c, c.tables.scoreRuns)} (${cols.map(quoteColumn).join(", ")})\n` +
    `VALUES (${cols.map((n) => values[n] ?? "NULL").join(", ")})`
  );
}

/** One result table as the commit publishes it. */
export interface TablePlan {
  target: string;
  /** The staging table holding this run's rows; null when the run wrote no rows to the table. */
  staging: string | null;
  /** Rows loaded into staging (checked inside the transaction). */
  rows: number;
  /** This run's columns; null when the run gave no schema (the table is only emptied). */
  columns: Column[] | null;
  /** The target's schema now; null when it does not exist. */
  existing: BqField[] | null;
}

export const COMMIT_MARKER = "-- hcc-wasm:commit v1";
export const RECORD_FAILURE_MARKER = "-- hcc-wasm:record-failure v1";

/**
 * The commit script: schema widening first (outside the transaction), then in one transaction:
 * refuse if a run that started later already committed; check each staging table holds exactly
 * the rows this run loaded (another run's cleanup may have removed it); empty and refill every
 * result table, also to empty; append the score_runs row. A RAISE or any failure rolls back.
 */
export function buildCommitScript(
  c: BigQueryConfig,
  tables: readonly TablePlan[],
  run: ScoreRunRow,
  runs: BqField[] | null,
): string {
  const pre: string[] = [];
  for (const p of tables) if (p.columns !== null) pre.push(...schemaStatements(c, p.target, p.columns, p.existing));
  pre.push(...schemaStatements(c, c.tables.scoreRuns, SCORE_RUNS_COLUMNS, runs));
  const tx: string[] = [];
  if (runs !== null) {
    tx.push(
      `IF EXISTS (SELECT 1 FROM ${quoteTable(c, c.tables.scoreRuns)} WHERE status = 'succeeded' AND started_at > ${sqlTimestamp(run.started_at)}) THEN\n` +
        "  RAISE USING MESSAGE = 'hcc-wasm: a run that started later has already published its results; this run is not published';\n" +
        "END IF",
    );
  }
  for (const p of tables) {
    if (p.staging === null) continue;
    tx.push(
      `IF (SELECT COUNT(*) FROM ${quoteTable(c, p.staging)}) <> ${sqlInt(p.rows)} THEN\n` +
        "  RAISE USING MESSAGE = 'hcc-wasm: a staging table does not hold the rows this run loaded (removed by another run?); nothing published';\n" +
        "END IF",
    );
  }
  for (const p of tables) {
    // A table absent now and given no schema by this run stays absent (there is nothing to empty).
    if (p.existing === null && p.columns === null) continue;
    tx.push(`TRUNCATE TABLE ${quoteTable(c, p.target)}`);
    if (p.staging !== null && p.columns !== null && p.rows > 0) {
      const cols = p.columns.map((x) => quoteColumn(x.name)).join(", ");
      tx.push(`INSERT INTO ${quoteTable(c, p.target)} (${cols})\nSELECT ${cols} FROM ${quoteTable(c, p.staging)}`);
    }
  }
  tx.push(runInsert(c, run));
  return [
    COMMIT_MARKER,
    `-- run ${run.run_id}: ${tables.map((p) => p.target).join(", ")} replaced and one ${c.tables.scoreRuns} row appended, atomically`,
    ...pre.map((s) => `${s};`),
    "BEGIN TRANSACTION;",
    ...tx.map((s) => `${s};`),
    "COMMIT TRANSACTION;",
  ].join("\n");
}

/** A failed run's score_runs row (results untouched): create/widen score_runs, then one INSERT. */
export function buildRecordFailureScript(c: BigQueryConfig, run: ScoreRunRow, runs: BqField[] | null): string {
  return [
    RECORD_FAILURE_MARKER,
    ...schemaStatements(c, c.tables.scoreRuns, SCORE_RUNS_COLUMNS, runs).map((s) => `${s};`),
    `${runInsert(c, run)};`,
  ].join("\n");
}
