// BigQuery ResultSink (docs/bigquery.md "Write path" and "Commit protocol"):
// result batches → Parquet parts (parquet-wasm) in a temp dir → resumable uploads as load jobs
// into `<table>__staging_<runId>` while scoring runs (one load chain per table: the first part
// WRITE_TRUNCATE, later parts WRITE_APPEND into the existing table only) → on commit, ONE query
// job: a script whose effects on the results are one multi-statement transaction (every result
// table emptied and refilled from its staging, also to empty; the score_runs row appended).
// BigQuery commits it or rolls it back as a whole, and finishes it even when this process dies
// after inserting it. Then staging is dropped, and staging/backup tables that dead runs left
// behind are swept. abort() drops this run's staging only: previous results stay.
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BigQuery } from "@google-cloud/bigquery";
import { Bool, DataType, Field, RecordBatch, Schema, Struct, Table, makeData, tableToIPC, type Data } from "apache-arrow";
import { Compression, Table as WasmTable, WriterPropertiesBuilder, writeParquet } from "parquet-wasm";
import type { ResultSink, ResultTable, ScoreRunRow } from "../types.js";
import { HccError, InternalError, UnavailableError, UsageError } from "../../errors.js";
import { bigQueryClientOptions, classifyBigQueryError, qualifiedName, validateTableName, type BigQueryConfig } from "./config.js";
import {
  buildCommitScript,
  buildRecordFailureScript,
  columnsOfSchema,
  type BqField,
  type Column,
  type TablePlan,
} from "./commit-sql.js";
import {
  DEFAULT_RETRY,
  JobFailedError,
  makeJobId,
  runJobWithRetries,
  uploadLoadJob,
  waitForJob,
  type JobRef,
  type RetryPolicy,
} from "./jobs.js";

/** At most this many Parquet parts per table wait for their load job before write() blocks. */
const MAX_PENDING_PARTS = 2;
/** Bytes per resumable-upload request (a multiple of 256 KiB, as the service requires). */
const UPLOAD_CHUNK_BYTES = 16 * 1024 * 1024;

interface TableState {
  table: ResultTable;
  target: string;
  staging: string;
  /** Schema of this run's batches (after adding the <model>_scored flags); null until one arrives. */
  schema: Schema | null;
  buffered: RecordBatch[];
  bufferedRows: number;
  parts: number;
  /** Rows in parts whose load job finished. */
  loadedRows: number;
  pending: number;
  chain: Promise<void>;
}

/** Load job configuration for one Parquet part (jobs.insert `configuration.load`; no location here). */
export function parquetLoadConfig(writeDisposition: "WRITE_TRUNCATE" | "WRITE_APPEND"): Record<string, unknown> {
  return {
    sourceFormat: "PARQUET",
    writeDisposition,
    // Later parts append to the table the first part created, never to one created anew: if the
    // staging table vanished (another run's cleanup), the load fails instead of losing rows.
    createDisposition: writeDisposition === "WRITE_TRUNCATE" ? "CREATE_IF_NEEDED" : "CREATE_NEVER",
    // List<Utf8> columns load as ARRAY<STRING>, not as a record wrapping "list.element".
    parquetOptions: { enableListInference: true },
  };
}

export function stagingTableName(target: string, runId: string, kind: "staging" | "backup"): string {
  return validateTableName(`${target}__${kind}_${runId.replace(/[^A-Za-z0-9_]/g, "_")}`, `${kind} table for ${target}`);
}

/**
 * Which tables in the dataset are staging or backup tables this sink made for `targets`, and
 * the run id (as in the table name) each belongs to. Anything else is not ours.
 */
export function parseWorkTable(name: string, targets: readonly string[]): { target: string; kind: string; run: string } | null {
  for (const t of targets) {
    const m = /^__(staging|backup)_([A-Za-z0-9_]+)$/.exec(name.startsWith(t) ? name.slice(t.length) : "");
    if (m) return { target: t, kind: m[1] ?? "", run: m[2] ?? "" };
  }
  return null;
}

/**
 * Whether a dead or older run's work table may be dropped by the run `ours` (both as in table
 * names): yes unless it belongs to a run that started later (run ids begin with the UTC start
 * time, yyyymmddhhmmss) — that run may still be loading.
 */
export function isSweepable(run: string, ours: string): boolean {
  if (run === ours) return false;
  const a = /^(\d{14})/.exec(run)?.[1];
  const b = /^(\d{14})/.exec(ours)?.[1];
  return a === undefined || b === undefined || a <= b;
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM"; // someone else's process: alive
  }
}

/**
 * Removes the Parquet part directories (result rows: member ids and scores) that runs killed on
 * this machine left in `root`: `hcc-bq-<pid>-*` whose process is gone. Best effort.
 */
export function sweepPartDirs(root: string): string[] {
  const removed: string[] = [];
  let names: string[];
  try {
    names = readdirSync(root);
  } catch {
    return removed;
  }
  for (const n of names) {
    const pid = Number(/^hcc-bq-(\d+)-[A-Za-z0-9]+$/.exec(n)?.[1] ?? NaN);
    if (!Number.isInteger(pid) || pid === process.pid || processAlive(pid)) continue;
    try {
      rmSync(join(root, n), { recursive: true, force: true });
      removed.push(n);
    } catch {
      // not ours to remove after all (permissions): leave it
    }
  }
  return removed;
}

function toParquet(batches: RecordBatch[], schema: Schema): Uint8Array {
  const props = new WriterPropertiesBuilder().setCompression(Compression.ZSTD).build();
  const t = batches.length > 0 ? new Table(batches) : new Table(schema);
  return writeParquet(WasmTable.fromIPCStream(tableToIPC(t, "stream")), props);
}

/**
 * BigQuery cannot store a NULL array: a model a member was not scored in would load as [] —
 * indistinguishable from "scored, no HCCs". Next to every `<model>_hccs` list column the sink
 * writes `<model>_scored` BOOL (true where the list is not null), so the distinction survives.
 */
export function withScoredFlags(batch: RecordBatch): RecordBatch {
  const fields: Field[] = [];
  const children: Data[] = [];
  let added = false;
  batch.schema.fields.forEach((f, i) => {
    const child = batch.data.children[i] as Data;
    fields.push(f);
    children.push(child);
    const m = /^(.+)_hccs$/.exec(f.name);
    if (!m || !DataType.isList(f.type) || batch.schema.fields.some((x) => x.name === `${m[1]}_scored`)) return;
    const n = batch.numRows;
    const bits = new Uint8Array((n + 7) >> 3);
    for (let r = 0; r < n; r++) if (child.getValid(r)) bits[r >> 3] = (bits[r >> 3] ?? 0) | (1 << (r & 7));
    fields.push(new Field(`${m[1]}_scored`, new Bool(), false));
    children.push(makeData({ type: new Bool(), length: n, nullCount: 0, data: bits }));
    added = true;
  });
  if (!added) return batch;
  const schema = new Schema(fields, batch.schema.metadata);
  return new RecordBatch(schema, makeData({ type: new Struct(fields), length: batch.numRows, nullCount: 0, children }));
}

/** Retry policy from the environment (tests shorten the delays). */
function retryPolicy(): RetryPolicy {
  const base = Number(process.env["BIGQUERY_RETRY_BASE_MS"]);
  return Number.isFinite(base) && base >= 0 && process.env["BIGQUERY_RETRY_BASE_MS"] !== undefined
    ? { ...DEFAULT_RETRY, baseDelayMs: base, maxDelayMs: Math.max(base, 1) * 32 }
    : DEFAULT_RETRY;
}

export class BigQueryResultSink implements ResultSink {
  private bq: BigQuery | null = null;
  private dir: string | null = null;
  private runId: string | null = null;
  private tables = new Map<ResultTable, TableState>();
  private failure: HccError | null = null;
  private readonly policy = retryPolicy();
  /** Cleanup problems after commit/abort (staging left behind); never thrown. */
  readonly cleanupErrors: string[] = [];
  /** Work tables of other runs this sink dropped after its commit (for tests and logs). */
  readonly swept: string[] = [];

  constructor(private readonly c: BigQueryConfig) {}

  describe(): string {
    const t = this.c.tables;
    return `bigquery ${this.c.project}.${this.c.dataset} (${t.riskScores}, ${t.riskScoreFactors}, ${t.scoreRuns}) via Parquet load jobs + one transaction`;
  }

  private client(): BigQuery {
    this.bq ??= new BigQuery(bigQueryClientOptions(this.c));
    return this.bq;
  }

  private ref(jobId: string): JobRef {
    return { projectId: this.c.project, jobId, ...(this.c.location !== undefined ? { location: this.c.location } : {}) };
  }

  private dataset(): ReturnType<BigQuery["dataset"]> {
    return this.client().dataset(this.c.dataset, { projectId: this.c.project });
  }

  async begin(run: { runId: string; paymentYear: number }): Promise<void> {
    try {
      await this.dataset().get();
    } catch (e) {
      throw classifyBigQueryError(e, `opening dataset ${this.c.project}.${this.c.dataset}`);
    }
    this.runId = run.runId;
    this.failure = null;
    const root = this.c.tmpDir ?? tmpdir();
    sweepPartDirs(root);
    // 0700, named after this process so a later run can tell a dead run's leftovers
    this.dir = mkdtempSync(join(root, `hcc-bq-${process.pid}-`));
    // gap values are not loaded to BigQuery yet (hcc score refuses --gaps with --to bigquery)
    const targets: Partial<Record<ResultTable, string>> = {
      risk_scores: this.c.tables.riskScores,
      risk_score_factors: this.c.tables.riskScoreFactors,
    };
    this.tables.clear();
    for (const [t, target] of Object.entries(targets) as [ResultTable, string][]) {
      this.tables.set(t, {
        table: t,
        target,
        staging: stagingTableName(target, run.runId, "staging"),
        schema: null,
        buffered: [],
        bufferedRows: 0,
        parts: 0,
        loadedRows: 0,
        pending: 0,
        chain: Promise.resolve(),
      });
    }
  }

  async write(table: ResultTable, batch: RecordBatch): Promise<void> {
    const s = this.tables.get(table);
    if (!s && table === "risk_score_gap_values")
      throw new UsageError("gap values are not written to BigQuery yet (docs/gap-values.md)");
    if (!s) throw new InternalError("BigQuery sink: write() before begin()");
    this.throwIfFailed();
    const b = table === "risk_scores" ? withScoredFlags(batch) : batch;
    s.schema ??= b.schema;
    if (b.numRows === 0) return; // a 0-row batch only carries the schema
    s.buffered.push(b);
    s.bufferedRows += b.numRows;
    if (s.bufferedRows >= this.c.loadPartRows) this.flush(s);
    while (s.pending > MAX_PENDING_PARTS && this.failure === null) await s.chain;
    this.throwIfFailed();
  }

  /** A load that failed in the background fails the next write or the commit. */
  private throwIfFailed(): void {
    if (this.failure !== null) throw this.failure;
  }

  /** Writes the buffered batches as one Parquet part and queues its load job. */
  private flush(s: TableState): void {
    if (s.bufferedRows === 0 || this.dir === null || s.schema === null || this.runId === null) return;
    const part = s.parts;
    const file = join(this.dir, `${s.target}-${String(part).padStart(5, "0")}.parquet`);
    writeFileSync(file, toParquet(s.buffered, s.schema));
    const rows = s.bufferedRows;
    const disposition = part === 0 ? "WRITE_TRUNCATE" : "WRITE_APPEND";
    const jobId = makeJobId("hcc_load", this.runId, s.table, part);
    s.parts++;
    s.pending++;
    s.buffered = [];
    s.bufferedRows = 0;
    s.chain = s.chain
      .then(async () => {
        if (this.failure !== null) return;
        await this.load(s.staging, file, disposition, jobId);
        s.loadedRows += rows;
        rmSync(file, { force: true });
      })
      .catch((e: unknown) => {
        this.failure ??= classifyBigQueryError(
          e,
          `loading result part ${part} of ${s.table} into ${qualifiedName(this.c, s.staging)}`,
          {
            invalid: "internal",
          },
        );
      })
      .finally(() => {
        s.pending--;
      });
  }

  /** One load job from a local Parquet file: resumable upload, then wait; transient job failures run again. */
  private async load(table: string, file: string, disposition: "WRITE_TRUNCATE" | "WRITE_APPEND", jobId: string): Promise<void> {
    const bq = this.client();
    const load = {
      ...parquetLoadConfig(disposition),
      destinationTable: { projectId: this.c.project, datasetId: this.c.dataset, tableId: table },
    };
    await runJobWithRetries(bq, this.ref(jobId), { load }, this.policy, async (ref) => {
      const job = await uploadLoadJob(bq, ref, load, file, { policy: this.policy, chunkBytes: UPLOAD_CHUNK_BYTES });
      return waitForJob(bq, ref, job);
    });
  }

  /** The schema of a table (tables.get), or null when it does not exist. */
  private async schemaOf(table: string): Promise<BqField[] | null> {
    try {
      const [meta] = (await this.dataset().table(table).getMetadata()) as unknown as [{ schema?: { fields?: BqField[] } }];
      return meta.schema?.fields ?? [];
    } catch (e) {
      if ((e as { code?: unknown }).code === 404) return null;
      throw e;
    }
  }

  async commit(run: ScoreRunRow): Promise<void> {
    if (this.runId === null) throw new InternalError("BigQuery sink: commit() before begin()");
    const runId = this.runId;
    for (const s of this.tables.values()) this.flush(s);
    await Promise.all([...this.tables.values()].map((s) => s.chain));
    try {
      this.throwIfFailed();
    } catch (e) {
      await this.abort(e);
      throw e;
    }
    const states = [...this.tables.values()];
    let script: string;
    try {
      const plans: TablePlan[] = [];
      for (const s of states) {
        const columns: Column[] | null = s.schema ? columnsOfSchema(s.schema) : null;
        plans.push({
          target: s.target,
          staging: s.parts > 0 ? s.staging : null,
          rows: s.loadedRows,
          columns,
          existing: await this.schemaOf(s.target),
        });
      }
      script = buildCommitScript(this.c, plans, run, await this.schemaOf(this.c.tables.scoreRuns));
    } catch (e) {
      await this.abort(e);
      throw classifyBigQueryError(e, "preparing the commit; nothing published, previous results intact");
    }
    const jobId = makeJobId("hcc_commit", runId);
    try {
      await runJobWithRetries(
        this.client(),
        this.ref(jobId),
        { query: { query: script, useLegacySql: false }, labels: { app: "hcc-wasm", step: "commit" } },
        this.policy,
      );
    } catch (e) {
      await this.abort(e);
      if (e instanceof JobFailedError) {
        const raised = /hcc-wasm: (.*?)(?: at \[\d+:\d+\])?$/.exec(e.errors[0]?.message ?? "")?.[1];
        if (raised !== undefined)
          throw new UnavailableError(`BigQuery commit of run ${runId} refused: ${raised} (previous results intact)`, e);
        throw classifyBigQueryError(
          e,
          `committing run ${runId} (job ${e.jobId}; the transaction was rolled back: nothing published, previous results intact)`,
          {
            invalid: "internal",
          },
        );
      }
      throw classifyBigQueryError(
        e,
        `committing run ${runId}: the outcome of job ${jobId} is unknown — ${qualifiedName(this.c, this.c.tables.scoreRuns)} has a row for the run if and only if it was published`,
        { invalid: "internal" },
      );
    }
    // Published. What follows is cleanup: it never fails the run.
    this.runId = null;
    await this.dropTables(states.filter((s) => s.parts > 0).map((s) => s.staging));
    this.removeDir();
    await this.sweep(runId);
  }

  /**
   * Drops the staging/backup tables (names of our result tables only) of runs that are not
   * running: every other run that did not start later than this one. A run killed mid-way
   * leaves its staging behind; the next successful run removes it.
   */
  private async sweep(runId: string): Promise<void> {
    const ours = runId.replace(/[^A-Za-z0-9_]/g, "_");
    const targets = [this.c.tables.riskScores, this.c.tables.riskScoreFactors, this.c.tables.scoreRuns];
    try {
      const [list] = await this.dataset().getTables({ autoPaginate: true });
      for (const t of list) {
        const name = t.id ?? "";
        const w = parseWorkTable(name, targets);
        if (w === null || !isSweepable(w.run, ours)) continue;
        try {
          await t.delete({ ignoreNotFound: true });
          this.swept.push(name);
        } catch (e) {
          this.cleanupErrors.push(`could not delete ${qualifiedName(this.c, name)}: ${(e as Error).message}`);
        }
      }
    } catch (e) {
      this.cleanupErrors.push(
        `could not list ${this.c.project}.${this.c.dataset} for leftover staging tables: ${(e as Error).message}`,
      );
    }
  }

  private async dropTables(names: string[]): Promise<void> {
    for (const n of names) {
      try {
        await this.dataset().table(n).delete({ ignoreNotFound: true });
      } catch (e) {
        this.cleanupErrors.push(`could not delete ${qualifiedName(this.c, n)}: ${(e as Error).message}`);
      }
    }
  }

  private removeDir(): void {
    if (this.dir !== null) rmSync(this.dir, { recursive: true, force: true });
    this.dir = null;
  }

  async abort(_err: unknown): Promise<void> {
    if (this.runId === null) return;
    this.runId = null;
    this.failure ??= new InternalError("run aborted");
    await Promise.all([...this.tables.values()].map((s) => s.chain));
    await this.dropTables([...this.tables.values()].filter((s) => s.parts > 0).map((s) => s.staging));
    this.removeDir();
  }

  /** A failed run's score_runs row (one INSERT, score_runs created or widened first); results untouched. */
  async recordFailure(run: ScoreRunRow): Promise<void> {
    try {
      const script = buildRecordFailureScript(this.c, run, await this.schemaOf(this.c.tables.scoreRuns));
      await runJobWithRetries(
        this.client(),
        this.ref(makeJobId("hcc_failure", run.run_id)),
        { query: { query: script, useLegacySql: false }, labels: { app: "hcc-wasm", step: "record-failure" } },
        this.policy,
      );
    } catch (e) {
      throw classifyBigQueryError(e, `recording failed run ${run.run_id} in ${qualifiedName(this.c, this.c.tables.scoreRuns)}`, {
        invalid: "internal",
      });
    }
  }
}

export function openBigQuerySink(config: BigQueryConfig): BigQueryResultSink {
  return new BigQueryResultSink(config);
}
