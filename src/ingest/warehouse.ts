// Loads one ingest's staging files into the DuckDB warehouse and publishes them atomically:
// everything is built first — voids and replacements resolved across all files — and one
// transaction swaps the published relations and appends the ingest_runs row. The three large
// relations (claims_ingest_outcomes, claims_diagnoses, participant_diagnosis_codes) are, with
// storage "parquet" (the default), views over Parquet files written into the run's directory
// <warehouse>.results/sgv_reporting/ingest_<run>/ — as the score results are — and with "table"
// native tables built as hcc_ingest_<run>_*. An error before COMMIT (or a kill) leaves the
// previous relations; leftovers of a failed or killed run (staging tables, a run directory no
// view reads) are removed by it or by the next run. Schemas: docs/ingest.md#warehouse-tables.
import { copyFileSync, existsSync, mkdirSync, renameSync, rmSync } from "node:fs";
import { dirname, join } from "node:path";
import { DuckDBInstance, type DuckDBConnection } from "@duckdb/node-api";
import { commitInTransaction, sqlString } from "../io/duckdb-warehouse.js";
import { unionAll } from "../io/sql-text.js";
import { removeUnreferencedRunDirs, resultsRoot } from "../io/duckdb-sink.js";
import { CantCreateError, InternalError, UsageError } from "../errors.js";
import { stagingFile, type StagingTable } from "./staging.js";

const S = "sgv_reporting";

/**
 * Where the large ingest relations live: "parquet" = views over Parquet files beside the
 * warehouse (writing 7.8M diagnosis rows as Parquet costs ≈ 60% of writing them as a DuckDB
 * table: bench/README.md#ingest-parquet), "table" = native tables (the warehouse file alone holds
 * everything).
 */
export type IngestStorage = "parquet" | "table";

export interface IngestRunRow {
  runId: string;
  startedAt: string;
  paymentYear: number;
  collectionFrom: string | null;
  collectionTo: string | null;
  tob87x: boolean;
  files: unknown[];
  warnings: { count: number; first: string[] };
  engineVersion: string;
}

/** A staging part (one input file) and what its local sequence numbers are shifted by. */
export interface StagedIngestPart {
  part: number;
  claimOffset: number;
  transactionOffset: number;
  memberOffset: number;
  /** Lines of the earlier ranges of the same file (a split file), else 0. */
  lineOffset: number;
  /** X12 segments of the earlier ranges of the same file (a split file), else 0. */
  segmentOffset: number;
}

export interface IngestCounts {
  claimsIn: number;
  accepted: number;
  filtered: number;
  rejected: number;
  byReason: Record<string, number>;
  dxRows: number;
  participantDxRows: number;
  membersIn: number;
  membersRejected: number;
  participants: number | null;
}

const CSV = (file: string, columns: string): string =>
  `read_csv(${sqlString(file)}, header = true, quote = '"', escape = '"', allow_quoted_nulls = false, auto_detect = false, columns = {${columns}})`;

const CLAIM_TYPES = `'claim_seq': 'BIGINT', 'claim_format': 'VARCHAR', 'claim_kind': 'VARCHAR', 'claim_id': 'VARCHAR', 'original_ref': 'VARCHAR',
  'frequency': 'VARCHAR', 'participant_id': 'VARCHAR', 'bill_type': 'VARCHAR', 'place_of_service': 'VARCHAR', 'service_from': 'DATE',
  'service_to': 'DATE', 'billing_npi': 'VARCHAR', 'rendering_npi': 'VARCHAR', 'transaction_id': 'BIGINT', 'outcome': 'VARCHAR',
  'reason': 'VARCHAR', 'message': 'VARCHAR', 'diagnosis_source': 'VARCHAR', 'source_file': 'VARCHAR', 'source_line': 'BIGINT',
  'source_offset': 'BIGINT', 'segment': 'VARCHAR', 'segment_index': 'BIGINT', 'element': 'VARCHAR', 'json_pointer': 'VARCHAR',
  'dx_count': 'INTEGER', 'line_count': 'INTEGER'`;
const MEMBER_TYPES = `'member_seq': 'BIGINT', 'participant_id': 'VARCHAR', 'birth_date': 'DATE', 'sex': 'VARCHAR', 'dual_elgbl_cd': 'VARCHAR',
  'medicare': 'BOOLEAN', 'medicaid': 'BOOLEAN', 'coverage_start_date': 'DATE', 'coverage_end_date': 'DATE', 'maintenance_type': 'VARCHAR',
  'field_sources': 'VARCHAR', 'source_file': 'VARCHAR', 'source_line': 'BIGINT', 'source_offset': 'BIGINT', 'problem': 'VARCHAR'`;
const TX_TYPES = `'transaction_id': 'BIGINT', 'code': 'VARCHAR', 'message': 'VARCHAR', 'source_file': 'VARCHAR', 'source_line': 'BIGINT',
  'source_offset': 'BIGINT', 'segment': 'VARCHAR', 'segment_index': 'BIGINT'`;

/** Every part of one staging table as one relation, with sequence numbers shifted to run-wide ones. */
function readParts(
  stageDir: string,
  table: StagingTable,
  types: string,
  parts: StagedIngestPart[],
  shifts: Record<string, Exclude<keyof StagedIngestPart, "part">>,
): string {
  const one = (p: StagedIngestPart): string => {
    const replace = Object.entries(shifts)
      .filter(([, offset]) => p[offset] !== 0)
      .map(([column, offset]) => `${column} + ${p[offset]} AS ${column}`);
    const scan = CSV(stagingFile(stageDir, table, p.part), types);
    return replace.length ? `SELECT * REPLACE (${replace.join(", ")}) FROM ${scan}` : `SELECT * FROM ${scan}`;
  };
  return `(${unionAll(parts.map(one))})`;
}

/** The published claims_diagnoses columns, in order, from a dx staging part (dx-part.ts) read as `d`. */
const DX_SELECT = (claimOffset: number): string =>
  `CAST(d.claim_seq AS BIGINT)${claimOffset ? ` + ${claimOffset}` : ""} AS claim_seq, d.dx_position, d.diagnosis_code,
   d.diagnosis_code_raw, d.dx_qualifier, d.line_number, d.procedure_code, d.revenue_code, d.service_date, d.line_rendering_npi`;

/** The diagnosis rows of the given dx Parquet parts (each with its claim offset) as one relation. */
function dxRelation(files: readonly { file: string; claimOffset: number }[]): string {
  return unionAll(files.map((f) => `SELECT ${DX_SELECT(f.claimOffset)} FROM read_parquet(${sqlString(f.file)}) d`));
}

/**
 * One row per diagnosis of each accepted or filtered claim, the claim's fields beside it: the
 * columns and types of the table this was until issue 11's narrow layout (docs/ingest.md). Both
 * tables are replaced together and hold one run, so claim_seq alone joins them.
 */
const PROVENANCE_VIEW = `CREATE VIEW ${S}.claims_diagnosis_provenance AS
  SELECT k.ingest_run_id, k.payment_year, k.participant_id, d.diagnosis_code, d.diagnosis_code_raw, k.claim_id, k.claim_seq,
         k.claim_format, k.claim_kind, d.dx_position, d.dx_qualifier, d.line_number, d.procedure_code, d.revenue_code,
         k.service_from, k.service_to, d.service_date, k.bill_type, k.frequency, k.place_of_service,
         coalesce(d.line_rendering_npi, k.rendering_npi) AS rendering_npi, k.billing_npi,
         k.source_file, k.source_line, k.source_offset, k.json_pointer,
         k.outcome AS decision, k.reason AS filter_reason, k.diagnosis_source
  FROM ${S}.claims_diagnoses d JOIN ${S}.claims_ingest_outcomes k ON k.claim_seq = d.claim_seq`;

async function scalar(c: DuckDBConnection, sql: string): Promise<number> {
  return Number((await c.runAndReadAll(sql)).getRows()[0]?.[0] ?? 0);
}

/**
 * Fails unless `storage` can be used for the warehouse `db` (run before parsing, so a bad choice
 * costs nothing); returns the results root the Parquet files go under.
 */
export function checkIngestStorage(db: string, storage: IngestStorage): string {
  if (storage !== "parquet" && storage !== "table")
    throw new UsageError(`ingest storage must be parquet or table (got ${String(storage)})`);
  const root = resultsRoot(db, S);
  if (storage === "parquet" && /[*?[\]{}]/.test(root))
    throw new UsageError(`${root}: a results directory with glob characters cannot back views; use --storage table`);
  return root;
}

/** The relations built by a publish, by short name: a staging table, or a Parquet file of the run. */
class Built {
  private readonly files = new Map<string, string>();
  /** Relations published as a view over files moved into the run directory: their SELECT. */
  private readonly adopted = new Map<string, string>();
  constructor(
    private readonly c: DuckDBConnection,
    private readonly runId: string,
    /** The run's Parquet directory; null = native tables. */
    readonly dir: string | null,
  ) {}

  table(name: string): string {
    return `${S}.hcc_ingest_${this.runId}_${name}`;
  }

  /** Builds `name` from a SELECT: a staging table, or a Parquet file of the run. */
  async create(name: string, select: string): Promise<void> {
    if (!this.dir) {
      await this.c.run(`CREATE TABLE ${this.table(name)} AS ${select}`);
      return;
    }
    const file = join(this.dir, `${name}.parquet`);
    // format version 2 (delta encodings): 13% smaller and cheaper to write and read than v1 for
    // the diagnosis rows (bench/README.md#ingest-parquet)
    await this.c.run(`COPY (${select}) TO ${sqlString(file)} (FORMAT parquet, COMPRESSION lz4_raw, PARQUET_VERSION v2)`);
    this.files.set(name, file);
  }

  /**
   * Builds `name` as a view over Parquet files that already hold its rows (the parse threads'
   * dx parts): they are moved into the run's directory, and `select` gets their new paths. Only
   * with Parquet storage (dir set).
   */
  adopt(name: string, files: readonly string[], select: (moved: string[]) => string): void {
    if (!this.dir) throw new InternalError("ingest: only Parquet storage adopts files");
    const moved = files.map((f, i) => {
      const to = join(this.dir!, `${name}-${i}.parquet`);
      try {
        renameSync(f, to);
      } catch (e) {
        // another file system (a results directory mounted elsewhere): copied instead
        if ((e as NodeJS.ErrnoException).code !== "EXDEV") throw e;
        copyFileSync(f, to);
      }
      return to;
    });
    this.adopted.set(name, select(moved));
  }

  /** How later statements read `name`. */
  ref(name: string): string {
    const file = this.files.get(name);
    const adopted = this.adopted.get(name);
    return file ? `read_parquet(${sqlString(file)})` : adopted ? `(${adopted})` : this.table(name);
  }

  /** Publishes `name` as `S.to` (inside the commit transaction; the old relation is gone). */
  async publish(name: string, to: string): Promise<void> {
    const file = this.files.get(name);
    const adopted = this.adopted.get(name);
    if (file) await this.c.run(`CREATE VIEW ${S}.${to} AS SELECT * FROM read_parquet(${sqlString(file)})`);
    else if (adopted) await this.c.run(`CREATE VIEW ${S}.${to} AS ${adopted}`);
    else await this.c.run(`ALTER TABLE ${this.table(name)} RENAME TO ${to}`);
  }
}

/** Build, resolve and publish. `hasMembers`: replace participants from the 834 rows. */
export async function publishIngest(
  db: string,
  stageDir: string,
  parts: StagedIngestPart[],
  run: IngestRunRow,
  hasMembers: boolean,
  storage: IngestStorage = "parquet",
): Promise<IngestCounts> {
  const root = checkIngestStorage(db, storage);
  const resultsExisted = existsSync(dirname(root));
  const inst = await DuckDBInstance.create(db, { temp_directory: stageDir, memory_limit: "3GB" });
  const c = await inst.connect();
  const dir = storage === "parquet" ? join(root, `ingest_${run.runId}`) : null;
  const built = new Built(c, run.runId, dir);
  const t = (name: string): string => built.table(name);
  let committed = false;
  try {
    await c.run(`CREATE SCHEMA IF NOT EXISTS ${S}`);
    // leftovers of killed runs: staging tables, and run directories no view reads (the warehouse
    // lock keeps another run from writing one now)
    const stale = (
      await c.runAndReadAll(
        `SELECT table_name FROM duckdb_tables() WHERE schema_name = '${S}' AND table_name LIKE 'hcc_ingest_%'`,
      )
    ).getRows();
    for (const [name] of stale) await c.run(`DROP TABLE IF EXISTS ${S}."${String(name)}"`);
    await removeUnreferencedRunDirs(c, S, root);
    if (dir) {
      try {
        mkdirSync(dir, { recursive: true });
      } catch (e) {
        throw new CantCreateError(
          `${root}: cannot create the ingest run's directory (${(e as Error).message})`,
          { file: root },
          e,
        );
      }
    }

    await c.run("SET preserve_insertion_order = false");
    // one pass over the claims: a broken envelope rejects every claim of its transaction; a
    // replacement (7) or void (8) supersedes every earlier claim of its (family, member, key) —
    // originals with the same key both stand; the last replacement/void decides voided vs replaced
    // The resolved claims go straight into the published outcomes table (one materialization; a
    // temp table of every claim column first cost ≈ 1 s per 1.8M claims); later steps read it.
    await c.run(
      `CREATE TEMP TABLE bad_tx AS SELECT * FROM ${readParts(stageDir, "transactions", TX_TYPES, parts, {
        transaction_id: "transactionOffset",
        source_line: "lineOffset",
        segment_index: "segmentOffset",
      })}`,
    );
    await built.create(
      "outcomes",
      `WITH raw AS (
        SELECT r.*, b.code AS env_code,
               b.message || ' (' || b.segment || ' at line ' || b.source_line || ')' AS env_message,
               CASE WHEN r.claim_format = 'fhir-eob' THEN 'fhir' ELSE 'x12' END AS fam,
               CASE WHEN r.frequency IN ('7', '8') THEN coalesce(r.original_ref, r.claim_id) ELSE r.claim_id END AS vkey
        FROM ${readParts(stageDir, "claims", CLAIM_TYPES, parts, {
          claim_seq: "claimOffset",
          transaction_id: "transactionOffset",
          source_line: "lineOffset",
          segment_index: "segmentOffset",
        })} r LEFT JOIN bad_tx b USING (transaction_id)
      ),
      latest AS (
        SELECT fam, participant_id, vkey, max(claim_seq) AS last_seq, arg_max(frequency, claim_seq) AS last_freq
        FROM raw WHERE outcome <> 'rejected' AND env_code IS NULL AND frequency IN ('7', '8') GROUP BY ALL
      ),
      marked AS (
        SELECT raw.*, env_code IS NOT NULL AND outcome <> 'rejected' AS env_rejected,
               outcome <> 'rejected' AND env_code IS NULL AND frequency <> '8' AND latest.last_seq > claim_seq AS superseded,
               latest.last_freq
        FROM raw LEFT JOIN latest USING (fam, participant_id, vkey)
      )
      SELECT '${run.runId}' AS ingest_run_id, ${run.paymentYear} AS payment_year, claim_seq, claim_id, claim_format, claim_kind,
             participant_id,
             CASE WHEN env_rejected THEN 'rejected' WHEN superseded THEN 'filtered' ELSE outcome END AS outcome,
             CASE WHEN env_rejected THEN env_code WHEN superseded THEN (CASE WHEN last_freq = '8' THEN 'voided' ELSE 'replaced' END) ELSE reason END AS reason,
             CASE WHEN env_rejected THEN env_message ELSE message END AS message,
             frequency, original_ref, bill_type, place_of_service, service_from, service_to, billing_npi, rendering_npi,
             CASE WHEN env_rejected OR superseded THEN NULL ELSE diagnosis_source END AS diagnosis_source,
             dx_count, line_count, source_file, source_line, source_offset, segment, segment_index, element, json_pointer
      FROM marked`,
    );
    const claims = built.ref("outcomes");
    // claim-level fields once per claim (outcomes), diagnosis-level fields once per diagnosis
    // (diagnoses, claims that were not rejected); claims_diagnosis_provenance is the view joining them.
    // Diagnosis rows are staged only for claims that parsed, so only a claim rejected here (its
    // transaction's envelope) can have rows to leave out: without one, no join (1–1.5 s of 5 s for
    // 7.8M rows)
    const rejectedWithDx = await scalar(c, `SELECT count(*) FROM ${claims} WHERE outcome = 'rejected' AND dx_count > 0`);
    // the parse threads wrote the diagnosis rows as Parquet (dx-part.ts): with Parquet storage and
    // nothing to leave out, claims_diagnoses is a view over those very files (moved into the run's
    // directory), each part's claim_seq shifted by its offset; else they are read into a table or file
    const dxParts = parts.map((p) => ({ file: stagingFile(stageDir, "dx", p.part), claimOffset: p.claimOffset }));
    if (dir && rejectedWithDx === 0) {
      built.adopt(
        "diagnoses",
        dxParts.map((p) => p.file),
        (moved) => dxRelation(moved.map((file, i) => ({ file, claimOffset: dxParts[i]!.claimOffset }))),
      );
    } else {
      const dxKept =
        rejectedWithDx > 0
          ? `(${dxRelation(dxParts)}) d JOIN (SELECT claim_seq FROM ${claims} WHERE outcome <> 'rejected') k USING (claim_seq)`
          : `(${dxRelation(dxParts)}) d`;
      // dxRelation gives the published columns in order (DX_SELECT)
      await built.create("diagnoses", `SELECT d.* FROM ${dxKept}`);
    }
    await built.create(
      "pdx",
      `SELECT DISTINCT k.participant_id, d.diagnosis_code, d.service_date, k.diagnosis_source AS "source"
      FROM ${built.ref("diagnoses")} d JOIN ${claims} k USING (claim_seq) WHERE k.outcome = 'accepted'`,
    );
    if (hasMembers) {
      await c.run(`CREATE TEMP TABLE m AS SELECT * FROM ${readParts(stageDir, "members", MEMBER_TYPES, parts, { member_seq: "memberOffset", source_line: "lineOffset" })};
        CREATE TABLE ${t("participants")} AS
        SELECT participant_id, birth_date, sex, NULL::VARCHAR AS orec, NULL::VARCHAR AS crec, dual_elgbl_cd,
               CASE WHEN medicaid THEN true END AS medicaid, NULL::BOOLEAN AS lti, NULL::BOOLEAN AS new_enrollee, NULL::BOOLEAN AS snp,
               NULL::BOOLEAN AS low_income, NULL::VARCHAR AS esrd_status, NULL::INTEGER AS graft_months, NULL::VARCHAR AS rx_plan,
               CASE WHEN medicare THEN true END AS medicare, coverage_start_date, coverage_end_date
        FROM m WHERE problem IS NULL QUALIFY row_number() OVER (PARTITION BY participant_id ORDER BY member_seq DESC) = 1;
        CREATE TABLE ${t("participants_provenance")} AS
        SELECT '${run.runId}' AS ingest_run_id, participant_id, member_seq, maintenance_type, field_sources, source_file, source_line, source_offset, problem,
               row_number() OVER (PARTITION BY participant_id ORDER BY member_seq DESC) = 1 AND problem IS NULL AS is_published
        FROM m;`);
    }
    const count = (where: string): Promise<number> => scalar(c, `SELECT count(*) FROM ${claims} ${where}`);
    const counts: IngestCounts = {
      claimsIn: await count(""),
      accepted: await count("WHERE outcome = 'accepted'"),
      filtered: await count("WHERE outcome = 'filtered'"),
      rejected: await count("WHERE outcome = 'rejected'"),
      byReason: {},
      dxRows: await scalar(c, `SELECT count(*) FROM ${built.ref("diagnoses")}`),
      participantDxRows: await scalar(c, `SELECT count(*) FROM ${built.ref("pdx")}`),
      membersIn: hasMembers ? await scalar(c, "SELECT count(*) FROM m") : 0,
      membersRejected: hasMembers ? await scalar(c, "SELECT count(*) FROM m WHERE problem IS NOT NULL") : 0,
      participants: hasMembers ? await scalar(c, `SELECT count(*) FROM ${t("participants")}`) : null,
    };
    for (const [k, n] of (
      await c.runAndReadAll(`SELECT outcome || ':' || coalesce(reason, '') AS k, count(*) FROM ${claims} GROUP BY 1 ORDER BY 1`)
    ).getRows())
      counts.byReason[String(k)] = Number(n);
    if (counts.accepted + counts.filtered + counts.rejected !== counts.claimsIn)
      throw new InternalError(
        `ingest: ${counts.claimsIn} claims in but ${counts.accepted} + ${counts.filtered} + ${counts.rejected} outcomes`,
      );

    const publish = [
      ["outcomes", "claims_ingest_outcomes"],
      ["diagnoses", "claims_diagnoses"],
      ["pdx", "participant_diagnosis_codes"],
      ...(hasMembers
        ? [
            ["participants", "participants"],
            ["participants_provenance", "participants_provenance"],
          ]
        : []),
    ];
    const views = new Set(
      (await c.runAndReadAll(`SELECT view_name FROM duckdb_views() WHERE schema_name = '${S}'`))
        .getRows()
        .map(([v]) => String(v)),
    );
    const dropRelation = (name: string): string =>
      views.has(name) ? `DROP VIEW ${S}.${name}` : `DROP TABLE IF EXISTS ${S}.${name}`;
    await commitInTransaction(c, async () => {
      // a table before this layout, a view since
      await c.run(dropRelation("claims_diagnosis_provenance"));
      for (const [from, to] of publish) {
        await c.run(dropRelation(to!));
        await built.publish(from!, to!); // participants and their provenance are always staging tables
      }
      await c.run(PROVENANCE_VIEW);
      // the plan tables the dbt project reads (docs/warehouse.md); empty when a warehouse starts from claims
      await c.run(`CREATE TABLE IF NOT EXISTS ${S}.hcc_participant (participant_id VARCHAR, payment_year INTEGER, hcc INTEGER, model VARCHAR);
        CREATE TABLE IF NOT EXISTS ${S}.hcc_opportunities (participant_id VARCHAR, payment_year INTEGER, hcc INTEGER, model VARCHAR,
          "source" VARCHAR, evidence VARCHAR)`);
      await c.run(`CREATE TABLE IF NOT EXISTS ${S}.ingest_runs (run_id VARCHAR PRIMARY KEY, started_at TIMESTAMPTZ, finished_at TIMESTAMPTZ,
          engine_version VARCHAR, payment_year INTEGER, collection_from DATE, collection_to DATE, tob_87x BOOLEAN, files VARCHAR,
          claims_in BIGINT, accepted BIGINT, filtered BIGINT, rejected BIGINT, outcomes VARCHAR, dx_rows BIGINT, participant_dx_rows BIGINT,
          members_in BIGINT, members_rejected BIGINT, warnings VARCHAR, status VARCHAR)`);
      await c.run(`INSERT INTO ${S}.ingest_runs VALUES (${sqlString(run.runId)}, ${sqlString(run.startedAt)}::TIMESTAMPTZ, now(),
          ${sqlString(run.engineVersion)}, ${run.paymentYear}, ${run.collectionFrom ? `DATE ${sqlString(run.collectionFrom)}` : "NULL"},
          ${run.collectionTo ? `DATE ${sqlString(run.collectionTo)}` : "NULL"}, ${run.tob87x}, ${sqlString(JSON.stringify(run.files))},
          ${counts.claimsIn}, ${counts.accepted}, ${counts.filtered}, ${counts.rejected}, ${sqlString(JSON.stringify(counts.byReason))},
          ${counts.dxRows}, ${counts.participantDxRows}, ${counts.membersIn}, ${counts.membersRejected},
          ${sqlString(JSON.stringify(run.warnings))}, 'committed')`);
    });
    committed = true;
    // the previous ingest's files, no longer read by any view
    await removeUnreferencedRunDirs(c, S, root);
    return counts;
  } finally {
    // staging tables and files of a failed run go now; a killed run's go with the next run
    for (const name of ["diagnoses", "pdx", "outcomes", "participants", "participants_provenance"])
      await c.run(`DROP TABLE IF EXISTS ${t(name)}`).catch(() => undefined);
    if (dir && !committed) rmSync(resultsExisted ? dir : dirname(root), { recursive: true, force: true });
    c.closeSync();
    inst.closeSync();
  }
}
