// The DuckDB warehouse source (docs/warehouse.md): a MemberSource for the long and grouped layouts
// (also used for Parquet files, through an in-memory DuckDB). Vector copying is in
// duckdb-vectors.ts, the sink in duckdb-sink.ts.
//
// The source checks first (tables, column types, null/duplicate ids, unparseable dates — each error
// names the table or file, the 1-based row and the column, never an id or a code), then runs one
// streaming query. The long layout is grouped inside DuckDB with string_agg(code, chr(31)) — about
// twice as fast as list() — and split back into List<Utf8> while copying; orphans = non-null dx
// rows − dx rows that reached a member.
// For the pipeline the long layout is exported instead (exportParts; ADR 0002).
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync } from "node:fs";
import { randomBytes } from "node:crypto";
import { sweepLeftovers, workName } from "./leftovers.js";
import { basename, dirname, join, resolve as resolvePath } from "node:path";
import { tmpdir } from "node:os";
import duckdb from "@duckdb/node-bindings";
import { DuckDBInstance, type DuckDBConnection, type DuckDBResult } from "@duckdb/node-api";
import type { RecordBatch } from "apache-arrow";
import { DataError, InternalError } from "../errors.js";
import { ColumnBuilder, buildBatch, type ColumnKind } from "./duckdb-vectors.js";
import { isSeparatorInCode, separatorInCode } from "./joined-codes.js";
import type { ExportedMembers, PartExportingSource, ReadOptions, SnapshottingSource, SourceStats } from "./types.js";

export { IDENT, checkIdent, sqlString } from "./sql-text.js";
import { checkIdent, sqlString } from "./sql-text.js";

/** Size at which an export partition's Parquet output moves on to its next file (default). */
const EXPORT_FILE_BYTES = 32 * 1024 * 1024;

/** The Parquet files DuckDB's COPY wrote into `dir` (data_0, data_1, …), in that order. */
function exportedFiles(dir: string): string[] {
  if (!existsSync(dir)) return [];
  const num = (f: string): number => Number(/(\d+)\.parquet$/.exec(f)?.[1] ?? 0);
  return readdirSync(dir)
    .filter((f) => f.endsWith(".parquet"))
    .sort((a, b) => num(a) - num(b))
    .map((f) => join(dir, f));
}

/**
 * Runs `body` in one transaction on `c` (rolled back and rethrown when it fails), then writes the
 * result to the file (CHECKPOINT): how every publish in a warehouse file commits.
 */
export async function commitInTransaction(c: DuckDBConnection, body: () => Promise<void>): Promise<void> {
  await c.run("BEGIN TRANSACTION");
  try {
    await body();
    await c.run("COMMIT");
  } catch (e) {
    await c.run("ROLLBACK");
    throw e;
  }
  await c.run("CHECKPOINT");
}

export type Layout = "long" | "grouped" | "auto";

export interface WarehouseOptions {
  path: string;
  schema?: string;
  participants?: string;
  diagnoses?: string;
  layout?: Layout;
  /**
   * DuckDB memory_limit (default: DuckDB's, 80% of RAM). The long-layout grouping needs ~5.5 GiB
   * for 10M members / 120M dx rows in one pass; with `partitions` it runs in that many passes
   * over ranges of the participant id (less memory, more time: docs/warehouse.md).
   */
  memoryLimit?: string;
  partitions?: number;
  /**
   * Where exported member parts are written (default: beside the warehouse file, as
   * `.hcc-export-<file>-*`, so member data stays where the warehouse is; the OS temp directory
   * for Parquet inputs).
   */
  tempDir?: string;
  /**
   * Size (bytes) at which an export partition moves on to its next Parquet file (default 32 MiB):
   * the pipeline deletes each file once its row groups are scored (releasePart).
   */
  exportFileBytes?: number;
  /** Read Parquet files through an in-memory DuckDB instead of a warehouse file (same checks). */
  parquet?: { participants: string; diagnoses?: string };
  /**
   * Gap candidates per member from an opportunities table (participant_id, payment_year, model,
   * hcc: docs/gap-values.md): the member batches get a `gap_candidates` column ("V28:17" items
   * joined by U+001F), for the payment year's rows.
   */
  gaps?: { table: string; paymentYear: number };
}

/** A model name as written in opportunity tables (CMS-HCC V28, v24, RxHCC V08) → the pack's id (dbt hcc_normalize_model). */
const MODEL_ID_SQL = (e: string): string =>
  `replace(replace(replace(replace(upper(regexp_replace(${e}, '[^A-Za-z0-9]', '', 'g')), 'CMSHCC', ''), 'ESRDV', 'ESRD'), 'RXHCCV', 'RX'), 'RXV', 'RX')`;

/** An opportunity row's model id and HCC number (text) in the gap-candidate queries. */
const GAP_MODEL = MODEL_ID_SQL("CAST(o.model AS VARCHAR)");
const GAP_HCC = "regexp_extract(CAST(o.hcc AS VARCHAR), '(\\d+)\\s*$', 1)";

export interface WarehouseStats extends SourceStats {
  /** Diagnosis rows (long) or list items (grouped) with a null code: skipped, counted here. */
  nullDxRows: number;
}

// Member batch columns: name → Arrow kind (docs/pipeline.md "Member batches").
const MEMBER_COLUMNS: readonly (readonly [string, ColumnKind])[] = [
  ["participant_id", "utf8"],
  ["birth_date", "date"],
  ["age", "int32"],
  ["sex", "utf8"],
  ["orec", "utf8"],
  ["crec", "utf8"],
  ["dual_elgbl_cd", "utf8"],
  ["medicaid", "bool"],
  ["lti", "bool"],
  ["new_enrollee", "bool"],
  ["snp", "bool"],
  ["low_income", "bool"],
  ["pace", "bool"],
  ["esrd_status", "utf8"],
  ["graft_months", "int32"],
  ["rx_plan", "utf8"],
];
const INTEGER_TYPES = /^(TINYINT|SMALLINT|INTEGER|BIGINT|UTINYINT|USMALLINT|UINTEGER|UBIGINT|HUGEINT)$/;

/**
 * The SELECT expression and batch kind for column `name`, or a DataError for a wrong type. A
 * VARCHAR value column travels as text: the encoder parses and validates it exactly as it does a
 * member-record file's (one validation; a bad value is that member's error row).
 */
function columnExpr(table: string, name: string, kind: ColumnKind, type: string): [string, ColumnKind] {
  if (type === "VARCHAR") return [`p."${name}"`, "utf8"];
  return [typedExpr(table, name, kind, type), kind];
}

function typedExpr(table: string, name: string, kind: ColumnKind, type: string): string {
  const q = `p."${name}"`;
  const wrong = (): never => {
    throw new DataError(
      `${table}: column ${name} has type ${type}; expected ${kind === "utf8" ? "VARCHAR" : kind === "date" ? "DATE" : kind === "int32" ? "an integer type" : "BOOLEAN"}`,
      {
        file: table,
        column: name,
      },
    );
  };
  if (kind === "utf8") return type === "VARCHAR" ? q : INTEGER_TYPES.test(type) ? `CAST(${q} AS VARCHAR)` : wrong();
  if (kind === "int32") return INTEGER_TYPES.test(type) ? `CAST(${q} AS INTEGER)` : wrong();
  if (kind === "bool") return type === "BOOLEAN" ? q : wrong();
  if (type === "DATE") return q;
  return type.startsWith("TIMESTAMP") ? `CAST(${q} AS DATE)` : wrong();
}

interface Plan {
  /** The member query of partition k of `parts` (long layout: a range of the participant id). */
  sql: (k: number, parts: number) => string;
  /** Called once before the passes over `parts` partitions (long layout: their id ranges). */
  prepare: (parts: number) => Promise<void>;
  parts: number;
  kinds: ColumnKind[];
  names: string[];
  nonNullDx: number;
  nullDx: number;
  layout: "long" | "grouped";
}

export class DuckDBWarehouseSource implements PartExportingSource, SnapshottingSource {
  private readonly schema: string;
  private readonly participants: string;
  private readonly diagnoses: string;
  private conn: DuckDBConnection | null = null;
  private instance: DuckDBInstance | null = null;
  private readonly counts: WarehouseStats = {
    membersRead: 0,
    dxRowsRead: 0,
    orphanDxRows: 0,
    duplicateParticipants: 0,
    nullDxRows: 0,
  };
  private layout: "long" | "grouped" | null = null;
  private inflight: Promise<unknown> | null = null;
  private result: DuckDBResult | null = null;
  private planned: Plan | null = null;
  private exportDir: string | null = null;
  /** Some exported part was deleted before close (releasePart): a snapshot cannot re-read them. */
  private partsReleased = false;

  constructor(private readonly opts: WarehouseOptions) {
    this.schema = checkIdent(opts.schema ?? "sgv_reporting", "schema");
    this.participants = checkIdent(opts.participants ?? "participants", "table");
    this.diagnoses = checkIdent(opts.diagnoses ?? "participant_diagnosis_codes", "table");
  }

  describe(): string {
    const layout = this.layout ? ` (${this.layout} layout)` : "";
    const pq = this.opts.parquet;
    return pq
      ? `parquet:${pq.participants}${pq.diagnoses ? ` + ${pq.diagnoses}` : ""}${layout}`
      : `duckdb:${this.opts.path} ${this.schema}.${this.participants}${layout}`;
  }

  /** Where a table's problems are reported: the warehouse file and table, or the Parquet file. */
  private label(table: string): string {
    const pq = this.opts.parquet;
    if (pq) return (table === this.participants ? pq.participants : pq.diagnoses) ?? table;
    return `${this.opts.path}: ${this.schema}.${table}`;
  }

  /**
   * `table` with a 0-based row number `hcc_row_` for error messages: a table's rowid, a Parquet
   * file's row number, or — for a view, which has neither (e.g. the relations `hcc ingest` keeps
   * as views over Parquet) — the row's position in the view's scan. Read only on an error path.
   */
  private async numbered(table: string): Promise<string> {
    const rel = `${this.schema}.${table}`;
    if (this.opts.parquet) return `(SELECT *, file_row_number AS hcc_row_ FROM ${rel})`;
    return (await this.isView(table))
      ? `(SELECT *, row_number() OVER () - 1 AS hcc_row_ FROM ${rel})`
      : `(SELECT *, rowid AS hcc_row_ FROM ${rel})`;
  }

  /** Whether `table` of the schema is a view (no rowid). */
  private async isView(table: string): Promise<boolean> {
    const [views = 0] = await this.one(
      `SELECT count(*) FROM information_schema.tables WHERE lower(table_schema) = lower(${sqlString(this.schema)}) AND table_name = ${sqlString(table)} AND table_type = 'VIEW'`,
    );
    return views > 0;
  }

  /** The 0-based row number (numbered()) of the first row of `table` where `cond` holds. */
  private async firstRow(table: string, cond: string): Promise<number> {
    const [row = -1] = await this.one(`SELECT min(hcc_row_) FROM ${await this.numbered(table)} WHERE ${cond}`);
    return row;
  }

  /**
   * The error naming the first diagnosis row whose code contains U+001F, or null when none does:
   * what a run that found a split count off by such a code fails with (explainFailure). One scan
   * of the codes, on the error path only.
   */
  private async separatorError(): Promise<DataError | null> {
    const dt = `${this.schema}.${this.diagnoses}`;
    const [sep = 0] = await this.one(`SELECT count(*) FROM ${dt} WHERE contains(diagnosis_code, chr(31))`);
    if (sep === 0) return null;
    const row = (await this.firstRow(this.diagnoses, "contains(diagnosis_code, chr(31))")) + 1;
    const where = this.label(this.diagnoses);
    return new DataError(`${where}: row ${row}: column diagnosis_code: contains the control character U+001F (${sep} rows)`, {
      file: where,
      row,
      column: "diagnosis_code",
    });
  }

  /** A run's failure as the user should see it: a separator found by a worker gets its row. */
  async explainFailure(e: unknown): Promise<unknown> {
    if (!isSeparatorInCode(e)) return e;
    return (await this.separatorError().catch(() => null)) ?? e;
  }

  stats(): WarehouseStats {
    return { ...this.counts, nullDxCodes: this.counts.nullDxRows };
  }

  private async connect(): Promise<DuckDBConnection> {
    if (this.conn) return this.conn;
    const pq = this.opts.parquet;
    if (pq) {
      this.instance = await DuckDBInstance.create(":memory:", this.limits());
      this.conn = await this.instance.connect();
      await this.conn.run(`CREATE SCHEMA ${this.schema}`);
      for (const [table, file] of [
        [this.participants, pq.participants],
        [this.diagnoses, pq.diagnoses],
      ] as const) {
        if (file === undefined) continue;
        if (!existsSync(file)) throw new DataError(`${file}: file not found`, { file });
        await this.conn.run(
          `CREATE VIEW ${this.schema}.${table} AS SELECT * FROM read_parquet(${sqlString(file)}, file_row_number = true)`,
        );
      }
      return this.conn;
    }
    if (!existsSync(this.opts.path)) throw new DataError(`${this.opts.path}: warehouse file not found`, { file: this.opts.path });
    // through DuckDB's instance cache with default options, so a sink on the same file in this
    // process (warehouse in, results back) shares the database instead of failing on its lock
    this.instance = await DuckDBInstance.fromCache(resolvePath(this.opts.path));
    this.conn = await this.instance.connect();
    if (this.opts.memoryLimit) await this.conn.run(`SET memory_limit = ${sqlString(this.opts.memoryLimit)}`);
    return this.conn;
  }

  private limits(): Record<string, string> {
    const limit = this.opts.memoryLimit ? { memory_limit: this.opts.memoryLimit } : {};
    sweepLeftovers(tmpdir(), "hcc-duckdb");
    return { ...limit, temp_directory: join(tmpdir(), workName("hcc-duckdb", "spill")) };
  }

  private async columnsOf(table: string): Promise<Map<string, string> | null> {
    const c = await this.connect();
    const r = await c.runAndReadAll(
      `SELECT column_name, data_type FROM information_schema.columns WHERE lower(table_schema) = lower(${sqlString(this.schema)}) AND table_name = ${sqlString(table)}`,
    );
    const rows = r.getRows() as [string, string][];
    return rows.length === 0 ? null : new Map(rows);
  }

  private async one(sql: string): Promise<number[]> {
    const r = await (await this.connect()).runAndReadAll(sql);
    return (r.getRows()[0] ?? []).map((v) => (v === null ? -1 : Number(v as number | bigint)));
  }

  /**
   * Whether the (non-null) ids of `table`, in the order DuckDB scans it, are strictly ascending,
   * which proves them distinct without the hash of every id that count(DISTINCT) needs (10M ids:
   * 0.3 s on one thread against 1.4–1.6 s on two). One streaming pass that stops at the first id
   * not above its predecessor: a table not in id order costs next to nothing more before the
   * count(DISTINCT) that then decides. A row with no predecessor past the first (were the stream
   * ever split) also stops it, so the proof covers every row.
   */
  private async idsAscend(table: string): Promise<boolean> {
    const [stops = 1] = await this.one(
      `SELECT count(*) FROM (SELECT 1 FROM (SELECT participant_id AS id, lag(participant_id) OVER () AS prev, row_number() OVER () AS rn FROM ${table})
         WHERE rn > 1 AND (prev IS NULL OR id <= prev) LIMIT 1)`,
    );
    return stops === 0;
  }

  /** Check tables, columns and required values; build the member query. */
  private async plan(): Promise<Plan> {
    const pt = `${this.schema}.${this.participants}`;
    const dt = `${this.schema}.${this.diagnoses}`;
    const where = this.label(this.participants);
    const dwhere = this.label(this.diagnoses);
    const pcols = await this.columnsOf(this.participants);
    if (!pcols) throw new DataError(`${this.opts.path}: table ${pt} not found`, { file: this.opts.path });
    const idType = pcols.get("participant_id");
    if (!idType) throw new DataError(`${where}: column participant_id missing`, { file: where, column: "participant_id" });
    const names: string[] = [];
    const kinds: ColumnKind[] = [];
    const exprs: string[] = [];
    for (const [name, kind] of MEMBER_COLUMNS) {
      const type = pcols.get(name);
      if (!type) continue;
      const [expr, k] = columnExpr(where, name, kind, type);
      exprs.push(`${expr} AS "${name}"`);
      names.push(name);
      kinds.push(k);
    }
    // required values: null ids, duplicate ids (first offending row named)
    const [members = 0, ids = 0] = await this.one(`SELECT count(*), count(participant_id) FROM ${pt}`);
    const nullIds = members - ids;
    if (nullIds > 0) {
      const firstNull = await this.firstRow(this.participants, "participant_id IS NULL");
      throw new DataError(`${where}: row ${firstNull + 1}: column participant_id: null (${nullIds} rows)`, {
        file: where,
        row: firstNull + 1,
        column: "participant_id",
      });
    }
    const ascending = await this.idsAscend(pt);
    const dupes = ascending ? 0 : ids - ((await this.one(`SELECT count(DISTINCT participant_id) FROM ${pt}`))[0] ?? ids);
    if (dupes > 0) {
      const [a = 0, b = 0] = await this.one(
        `SELECT min(hcc_row_), max(hcc_row_) FROM ${await this.numbered(this.participants)} GROUP BY participant_id HAVING count(*) > 1 ORDER BY 2 LIMIT 1`,
      );
      this.counts.duplicateParticipants = dupes;
      throw new DataError(`${where}: row ${b + 1}: column participant_id: duplicate of row ${a + 1} (${dupes} duplicate rows)`, {
        file: where,
        row: b + 1,
        column: "participant_id",
      });
    }

    const grouped = this.opts.layout === "grouped" || (this.opts.layout !== "long" && pcols.has("diagnosis_codes"));
    if (grouped && this.opts.layout !== "grouped" && !this.opts.parquet && (await this.columnsOf(this.diagnoses))) {
      // both a diagnosis_codes column and a long diagnosis table: guessing would drop one of them
      throw new DataError(
        `${where}: layout auto is ambiguous: ${pt}.diagnosis_codes and table ${dt} both exist; choose --layout grouped or --layout long`,
        { file: where, column: "diagnosis_codes" },
      );
    }
    const from = `FROM ${pt} p`;
    if (grouped) {
      const t = pcols.get("diagnosis_codes");
      if (t !== "VARCHAR[]") {
        throw new DataError(
          `${where}: column diagnosis_codes ${t ? `has type ${t}; expected VARCHAR[]` : "missing (grouped layout)"}`,
          { file: where, column: "diagnosis_codes" },
        );
      }
      const gaps = await this.gapJoin(idType === "VARCHAR" ? "p.participant_id" : "CAST(p.participant_id AS VARCHAR)");
      return {
        sql: () => `SELECT ${[...exprs, `p.diagnosis_codes`, ...gaps.cols].join(", ")} ${from} ${gaps.join}`,
        prepare: () => Promise.resolve(),
        parts: 1,
        kinds: [...kinds, "list", ...gaps.kinds],
        names: [...names, "diagnosis_codes", ...gaps.names],
        nonNullDx: 0,
        nullDx: 0,
        layout: "grouped",
      };
    }
    const dcols = await this.columnsOf(this.diagnoses);
    if (!dcols) {
      const what = this.opts.parquet
        ? "no diagnosis file given and participants has no diagnosis_codes column"
        : `table ${dt} not found (long layout)`;
      throw new DataError(`${this.opts.parquet ? where : this.opts.path}: ${what}`, { file: this.opts.path });
    }
    for (const c of ["participant_id", "diagnosis_code"]) {
      const t = dcols.get(c);
      if (!t) throw new DataError(`${dwhere}: column ${c} missing`, { file: dwhere, column: c });
      if (t !== "VARCHAR" && !(c === "participant_id" && INTEGER_TYPES.test(t))) {
        throw new DataError(`${dwhere}: column ${c} has type ${t}; expected VARCHAR`, { file: dwhere, column: c });
      }
    }
    // from the table's statistics: no scan. A code containing U+001F (the separator of the
    // grouped codes) is found where the codes are split (splitJoinedCodes, the read below: the
    // item count then exceeds the row count) and located by separatorError.
    const [total = 0, nonNull = 0] = await this.one(`SELECT count(*), count(diagnosis_code) FROM ${dt}`);
    const key = (t: string, alias: string): string =>
      t === "VARCHAR" ? `${alias}.participant_id` : `CAST(${alias}.participant_id AS VARCHAR)`;
    const pk = key(idType, "p");
    const xk = key(dcols.get("participant_id") ?? "", "x");
    // Partition i of n: a range of the id between two quantiles of a sample of the participants
    // (prepare), so each pass's filter is a string comparison that DuckDB can also answer from
    // the min/max of row groups — against hash(id) % n computed for every diagnosis row on every
    // pass (10M members in 4 passes: 6.8 s and 13.5 CPU s against 11.0 s and 21.7; bench/README.md).
    // Every id falls in exactly one range; without bounds (no participants) the hash is used.
    let bounds: { n: number; at: string[] } | null = null;
    const prepare = async (n: number): Promise<void> => {
      if (n <= 1 || bounds?.n === n) return;
      // a base table of text ids in ascending order (idsAscend): the bounds are the ids at the
      // partitions' first positions, fetched by rowid (exact, and no scan for a sample)
      const positional = ascending && idType === "VARCHAR" && !this.opts.parquet && !(await this.isView(this.participants));
      const cuts = Array.from({ length: n - 1 }, (_, k) => (k + 1) / n);
      const sql = positional
        ? `SELECT participant_id FROM ${pt} WHERE rowid IN (${cuts.map((q) => Math.floor(members * q)).join(", ")}) ORDER BY rowid`
        : `SELECT unnest(quantile_disc(id, [${cuts.join(", ")}])) FROM (SELECT ${pk} AS id FROM ${pt} p WHERE ${pk} IS NOT NULL USING SAMPLE 100000 ROWS (reservoir, 7))`;
      const rows = (await (await this.connect()).runAndReadAll(sql)).getRows();
      const at = rows.map((r) => r[0]).filter((v): v is string => typeof v === "string");
      bounds = { n, at: at.length === n - 1 ? at : [] };
    };
    const part = (k: string, i: number, n: number): string => {
      if (n <= 1) return "";
      const at = bounds?.n === n && bounds.at.length === n - 1 ? bounds.at : null;
      if (!at) return `AND hash(${k}) % ${n} = ${i}`;
      return (i > 0 ? ` AND ${k} >= ${sqlString(at[i - 1]!)}` : "") + (i < n - 1 ? ` AND ${k} < ${sqlString(at[i]!)}` : "");
    };
    const gaps = await this.gapJoin(pk);
    const sql = (
      i: number,
      n: number,
    ): string => `SELECT ${[...exprs, "d.codes AS diagnosis_codes", "CAST(d.n AS INTEGER) AS n", ...gaps.cols].join(", ")} ${from}
      LEFT JOIN (SELECT ${xk} AS participant_id, string_agg(x.diagnosis_code, chr(31)) AS codes, count(*) AS n
                 FROM ${dt} x WHERE x.diagnosis_code IS NOT NULL ${part(xk, i, n)} GROUP BY 1) d
      ON ${pk} = d.participant_id ${gaps.join} WHERE true ${part(pk, i, n)}`;
    return {
      sql,
      prepare,
      parts: Math.max(1, Math.floor(this.opts.partitions ?? 1)),
      kinds: [...kinds, "joined", "int32", ...gaps.kinds],
      names: [...names, "diagnosis_codes", "n", ...gaps.names],
      nonNullDx: nonNull,
      nullDx: total - nonNull,
      layout: "long",
    };
  }

  /**
   * The join adding `gap_candidates` (opts.gaps): each member's distinct "MODEL:HCC" candidates
   * for the payment year, joined by U+001F. Nothing when gaps are not asked for.
   */
  private async gapJoin(memberKey: string): Promise<{ cols: string[]; join: string; kinds: ColumnKind[]; names: string[] }> {
    const g = this.opts.gaps;
    if (!g) return { cols: [], join: "", kinds: [], names: [] };
    const table = checkIdent(g.table, "table");
    const where = this.label(table);
    const cols = await this.columnsOf(table);
    if (!cols)
      throw new DataError(`${this.opts.path}: table ${this.schema}.${table} not found (--gaps opportunities)`, {
        file: this.opts.path,
      });
    for (const c of ["participant_id", "payment_year", "model", "hcc"]) {
      if (!cols.has(c)) throw new DataError(`${where}: column ${c} missing`, { file: where, column: c });
    }
    return {
      cols: ["g.gaps AS gap_candidates"],
      join: `LEFT JOIN (SELECT CAST(o.participant_id AS VARCHAR) AS participant_id,
                 string_agg(DISTINCT ${GAP_MODEL} || ':' || ${GAP_HCC}, chr(31)) AS gaps
               ${this.gapRows(table)} GROUP BY 1) g ON ${memberKey} = g.participant_id`,
      kinds: ["utf8"],
      names: ["gap_candidates"],
    };
  }

  /** FROM/WHERE of the opportunity rows of the payment year that name an HCC number. */
  private gapRows(table: string): string {
    const year = Math.trunc(this.opts.gaps?.paymentYear ?? 0);
    return `FROM ${this.schema}.${table} o WHERE CAST(o.payment_year AS INTEGER) = ${year} AND ${GAP_HCC} <> ''`;
  }

  /**
   * The (model, HCC numbers) the opportunities name for the payment year, models as the pack
   * spells them: the pipeline gives a model the year does not have model_not_scored rows.
   */
  async gapModelHccs(): Promise<{ model: string; hccs: number[] }[]> {
    const g = this.opts.gaps;
    if (!g) return [];
    await this.planOnce(); // checks the table and its columns
    const c = await this.connect();
    const r = await c.runAndReadAll(
      `SELECT ${GAP_MODEL} AS model, list_sort(list(DISTINCT CAST(${GAP_HCC} AS INTEGER))) ${this.gapRows(checkIdent(g.table, "table"))} GROUP BY 1 ORDER BY 1`,
    );
    return (r.getRowsJS() as [string, number[]][]).map(([model, hccs]) => ({ model, hccs: hccs.map(Number) }));
  }

  /** The checked plan, made once per source (read() and the export share it). */
  private async planOnce(): Promise<Plan> {
    this.planned ??= await this.plan();
    this.layout = this.planned.layout;
    return this.planned;
  }

  async canExportParts(): Promise<boolean> {
    return (await this.planOnce()).layout === "long";
  }

  /** The member batch columns the source will yield (after its checks). */
  async memberColumns(): Promise<string[]> {
    return (await this.planOnce()).names;
  }

  /**
   * Long layout: DuckDB groups each partition of the members (as in read()) and writes it
   * to a Parquet file with COPY — in its own threads, without a value crossing into JS. The
   * partitions (default: one per 32M diagnosis rows) bound DuckDB's memory for the grouping.
   */
  async *exportParts(opts: { batchSize: number; signal?: AbortSignal }): AsyncGenerator<ExportedMembers> {
    const plan = await this.planOnce();
    if (plan.layout !== "long") throw new InternalError("exportParts: only the long layout is exported");
    const c = await this.connect();
    const dir = (this.exportDir = this.exportPrefix() + randomBytes(4).toString("hex"));
    this.partsReleased = false;
    mkdirSync(dir, { mode: 0o700 }); // member data: this user only
    const parts = Math.max(1, Math.floor(this.opts.partitions ?? Math.ceil(plan.nonNullDx / 32_000_000)));
    const label = this.label(this.diagnoses);
    let dx = 0;
    await plan.prepare(parts);
    for (let k = 0; k < parts; k++) {
      if (opts.signal?.aborted) throw new DataError(`${this.describe()}: read aborted`);
      // each partition as files of about EXPORT_FILE_BYTES (whole row groups), so the pipeline
      // can release a file soon after the workers start on it (releasePart)
      const target = join(dir, `members-${k}`);
      await c.run(
        `COPY (${plan.sql(k, parts)}) TO ${sqlString(target)} (FORMAT parquet, COMPRESSION uncompressed, ROW_GROUP_SIZE ${Math.max(2048, Math.floor(opts.batchSize))}, FILE_SIZE_BYTES ${Math.max(1, Math.floor(this.opts.exportFileBytes ?? EXPORT_FILE_BYTES))})`,
      );
      const files = exportedFiles(target);
      if (files.length === 0) continue;
      const list = `[${files.map(sqlString).join(", ")}]`;
      const groups = (
        await c.runAndReadAll(
          `SELECT file_name, row_group_id, any_value(row_group_num_rows) FROM parquet_metadata(${list}) GROUP BY 1, 2 ORDER BY 1, 2`,
        )
      ).getRows() as [string, bigint, bigint][];
      const [sumN = 0] = await this.one(`SELECT coalesce(sum(n), 0) FROM read_parquet(${list})`);
      dx += sumN;
      for (const file of files) {
        const rowGroups = groups.filter(([f]) => f === file).map(([, g, n]) => ({ index: Number(g), rows: Number(n) }));
        this.counts.membersRead += rowGroups.reduce((a, g) => a + g.rows, 0);
        yield { file, rowGroups, label };
      }
    }
    this.counts.dxRowsRead = dx;
    this.counts.orphanDxRows = plan.nonNullDx - dx;
    this.counts.nullDxRows = plan.nullDx;
  }

  /** Deletes an exported part the pipeline is done with (only a file of this source's export). */
  releasePart(file: string): void {
    if (!this.exportDir || dirname(dirname(file)) !== this.exportDir) return;
    this.partsReleased = true;
    rmSync(file, { force: true });
  }

  /**
   * The members as one grouped, zstd-compressed Parquet file (a run's input snapshot,
   * docs/attribution.md "Runs"): participant_id, the member columns and diagnosis_codes as
   * VARCHAR[] (the `hcc score --input *.parquet` layout). After exportParts it re-reads the exported
   * parts instead of grouping the diagnosis table again. Written beside `file` and renamed into place.
   */
  async snapshotMembers(file: string): Promise<number> {
    const plan = await this.planOnce();
    const c = await this.connect();
    const cols = plan.names.filter((n) => !["gap_candidates", "diagnosis_codes", "n"].includes(n)).map((n) => `"${n}"`);
    const codes =
      plan.layout === "long"
        ? "coalesce(string_split(diagnosis_codes, chr(31)), CAST([] AS VARCHAR[])) AS diagnosis_codes"
        : "diagnosis_codes";
    const dir = this.exportDir;
    const exported =
      dir && !this.partsReleased && existsSync(dir) ? readdirSync(dir).flatMap((d) => exportedFiles(join(dir, d))) : [];
    const from = exported.length > 0 ? `read_parquet([${exported.map(sqlString).join(", ")}])` : `(${plan.sql(0, 1)})`;
    const tmp = `${file}.tmp-${process.pid}`;
    try {
      await c.run(
        `COPY (SELECT ${[...cols, codes].join(", ")} FROM ${from} ORDER BY participant_id) TO ${sqlString(tmp)} (FORMAT parquet, COMPRESSION zstd)`,
      );
      const [n = 0] = await this.one(`SELECT count(*) FROM read_parquet(${sqlString(tmp)})`);
      renameSync(tmp, file);
      return n;
    } finally {
      rmSync(tmp, { force: true });
    }
  }

  /**
   * The export directory prefix. Beside a warehouse, a directory with this prefix left by a killed
   * run is removed first: this process holds the warehouse's lock, so no other run is using it.
   */
  private exportPrefix(): string {
    if (this.opts.tempDir || this.opts.parquet) {
      // a shared directory: only dead runs' leftovers (by process id) are removed
      const root = this.opts.tempDir ?? tmpdir();
      sweepLeftovers(root, "hcc-export");
      return join(root, workName("hcc-export", ""));
    }
    const abs = resolvePath(this.opts.path);
    const prefix = `.hcc-export-${basename(abs)}-`;
    for (const d of readdirSync(dirname(abs)))
      if (d.startsWith(prefix)) rmSync(join(dirname(abs), d), { recursive: true, force: true });
    return join(dirname(abs), prefix);
  }

  async *read(opts: ReadOptions): AsyncGenerator<RecordBatch> {
    const plan = await this.planOnce();
    const c = await this.connect();
    const fresh = (): ColumnBuilder[] => plan.names.map((n, i) => new ColumnBuilder(n, plan.kinds[i] ?? "utf8"));
    let cols = fresh();
    let expected = 0; // long layout: sum of per-member dx counts, to check the split
    let listItems = 0;
    const flush = (): RecordBatch => {
      const list = cols[plan.names.indexOf("diagnosis_codes")];
      listItems += list?.itemCount ?? 0;
      this.counts.nullDxRows += list?.nullItems ?? 0;
      if (plan.layout === "long") {
        const nCol = cols.pop();
        const nData = nCol?.finish();
        const vals = nData?.values as Int32Array | undefined;
        if (vals) for (let i = 0; i < vals.length; i++) expected += vals[i] ?? 0;
      }
      const batch = buildBatch(cols);
      this.counts.membersRead += batch.numRows;
      cols = fresh();
      return batch;
    };
    await plan.prepare(plan.parts);
    for (let k = 0; k < plan.parts; k++) {
      const result = (this.result = await c.stream(plan.sql(k, plan.parts)));
      // fetch one chunk ahead: DuckDB computes the next chunk on its thread while this one converts
      let next = (this.inflight = result.fetchChunk());
      for (;;) {
        if (opts.signal?.aborted) throw new DataError(`${this.describe()}: read aborted`);
        const chunk = await next;
        if (!chunk || chunk.rowCount === 0) {
          this.inflight = null;
          break;
        }
        next = this.inflight = result.fetchChunk();
        const n = chunk.rowCount;
        cols.forEach((col, i) =>
          col.appendVector(duckdb.data_chunk_get_vector(chunk.chunk as unknown as duckdb.DataChunk, i), n),
        );
        if ((cols[0]?.rows ?? 0) >= opts.batchSize) yield flush();
      }
    }
    if ((cols[0]?.rows ?? 0) > 0) yield flush();
    if (plan.layout === "long") {
      if (listItems !== expected) throw (await this.separatorError()) ?? separatorInCode(this.label(this.diagnoses));
      this.counts.dxRowsRead = expected;
      this.counts.orphanDxRows = plan.nonNullDx - expected;
      this.counts.nullDxRows = plan.nullDx;
    } else this.counts.dxRowsRead = listItems;
  }

  async close(): Promise<void> {
    // a consumer that stopped early leaves a streaming query open: interrupt it, let the fetch in
    // flight land, then disconnect (otherwise the next query on this file waits for the old one)
    if (this.inflight && this.result) {
      this.conn?.interrupt();
      await this.inflight.catch(() => null);
      // an unfinished result blocks later queries on this file until it is garbage-collected:
      // pull it to its end (the interrupt makes this quick)
      for (let more = true; more; )
        more = await this.result.fetchChunk().then(
          (ch) => !!ch && ch.rowCount > 0,
          () => false,
        );
    }
    this.inflight = null;
    this.result = null;
    this.planned = null;
    if (this.exportDir) rmSync(this.exportDir, { recursive: true, force: true });
    this.exportDir = null;
    this.conn?.closeSync();
    this.instance?.closeSync();
    this.conn = null;
    this.instance = null;
  }
}
