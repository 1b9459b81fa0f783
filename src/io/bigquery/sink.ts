// BigQuery ResultSink: result batches → Parquet parts (parquet-wasm) in a temp dir → load jobs
// into `<table>__staging_<runId>` while scoring runs (one load chain per table, first part
// WRITE_TRUNCATE, then WRITE_APPEND) → on commit, copy jobs with WRITE_TRUNCATE swap each staging
// table into its target (each copy is atomic; targets are backed up first and restored if a later
// step fails, so the tables change together or not at all) → the score_runs row is appended with
// a load job → staging and backups are dropped. abort() drops staging only: previous results stay.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BigQuery, type Table as BqTable } from "@google-cloud/bigquery";
import {
  Int64,
  Table,
  TimestampMicrosecond,
  Utf8,
  tableToIPC,
  vectorFromArray,
  type RecordBatch,
  type Vector,
} from "apache-arrow";
import { Compression, Table as WasmTable, WriterPropertiesBuilder, writeParquet } from "parquet-wasm";
import type { ResultSink, ResultTable, ScoreRunRow } from "../types.js";
import { InternalError } from "../../errors.js";
import { bigQueryClientOptions, classifyBigQueryError, qualifiedName, validateTableName, type BigQueryConfig } from "./config.js";

/** At most this many Parquet parts per table wait for their load job before write() blocks. */
const MAX_PENDING_PARTS = 2;

interface TableState {
  target: string;
  staging: string;
  buffered: RecordBatch[];
  bufferedRows: number;
  parts: number;
  pending: number;
  chain: Promise<void>;
}

/** Load job configuration for one Parquet part (BigQuery jobs.insert `configuration.load`). */
export function parquetLoadConfig(writeDisposition: "WRITE_TRUNCATE" | "WRITE_APPEND"): Record<string, unknown> {
  return {
    sourceFormat: "PARQUET",
    writeDisposition,
    createDisposition: "CREATE_IF_NEEDED",
    // List<Utf8> columns load as ARRAY<STRING>, not as a record wrapping "list.element".
    parquetOptions: { enableListInference: true },
  };
}

export function stagingTableName(target: string, runId: string, kind: "staging" | "backup"): string {
  return validateTableName(`${target}__${kind}_${runId.replace(/[^A-Za-z0-9_]/g, "_")}`, `${kind} table for ${target}`);
}

function toParquet(batches: RecordBatch[]): Uint8Array {
  const props = new WriterPropertiesBuilder().setCompression(Compression.ZSTD).build();
  return writeParquet(WasmTable.fromIPCStream(tableToIPC(new Table(batches), "stream")), props);
}

/** The score_runs row as Arrow: timestamps as TIMESTAMP, counts as INT64, the rest STRING. */
export function scoreRunTable(run: ScoreRunRow): Table {
  const ts = (s: string): Date => new Date(s);
  const str = (v: string): Vector => vectorFromArray([v], new Utf8());
  const int = (v: number): Vector => vectorFromArray([BigInt(Math.trunc(v))], new Int64());
  return new Table({
    run_id: str(run.run_id),
    started_at: vectorFromArray([ts(run.started_at)], new TimestampMicrosecond("UTC")),
    finished_at: vectorFromArray([ts(run.finished_at)], new TimestampMicrosecond("UTC")),
    engine_version: str(run.engine_version),
    payment_year: int(run.payment_year),
    models: str(run.models),
    data_version: str(run.data_version),
    data_manifest_sha256: str(run.data_manifest_sha256),
    source: str(run.source),
    members_in: int(run.members_in),
    rows_out: int(run.rows_out),
    members_errored: int(run.members_errored),
    orphan_dx_rows: int(run.orphan_dx_rows),
    null_dx_codes: int(run.null_dx_codes),
    status: str(run.status),
    error: vectorFromArray([run.error], new Utf8()),
  });
}

export class BigQueryResultSink implements ResultSink {
  private bq: BigQuery | null = null;
  private dir: string | null = null;
  private runId: string | null = null;
  private tables = new Map<ResultTable, TableState>();
  private failure: Error | null = null;
  /** Cleanup problems after commit/abort (staging or backups left behind); never thrown. */
  readonly cleanupErrors: string[] = [];

  constructor(private readonly c: BigQueryConfig) {}

  describe(): string {
    const t = this.c.tables;
    return `bigquery ${this.c.project}.${this.c.dataset} (${t.riskScores}, ${t.riskScoreFactors}, ${t.scoreRuns}) via Parquet load jobs + copy jobs`;
  }

  private client(): BigQuery {
    this.bq ??= new BigQuery(bigQueryClientOptions(this.c));
    return this.bq;
  }

  private table(name: string): BqTable {
    return this.client().dataset(this.c.dataset, { projectId: this.c.project }).table(name);
  }

  async begin(run: { runId: string; paymentYear: number }): Promise<void> {
    try {
      await this.client().dataset(this.c.dataset, { projectId: this.c.project }).get();
    } catch (e) {
      throw classifyBigQueryError(e, `opening dataset ${this.c.project}.${this.c.dataset}`);
    }
    this.runId = run.runId;
    this.dir = mkdtempSync(join(this.c.tmpDir ?? tmpdir(), "hcc-bq-"));
    const targets: Record<ResultTable, string> = {
      risk_scores: this.c.tables.riskScores,
      risk_score_factors: this.c.tables.riskScoreFactors,
    };
    for (const [t, target] of Object.entries(targets) as [ResultTable, string][]) {
      this.tables.set(t, {
        target,
        staging: stagingTableName(target, run.runId, "staging"),
        buffered: [],
        bufferedRows: 0,
        parts: 0,
        pending: 0,
        chain: Promise.resolve(),
      });
    }
  }

  async write(table: ResultTable, batch: RecordBatch): Promise<void> {
    const s = this.tables.get(table);
    if (!s) throw new InternalError("BigQuery sink: write() before begin()");
    this.throwIfFailed();
    s.buffered.push(batch);
    s.bufferedRows += batch.numRows;
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
    if (s.bufferedRows === 0 || this.dir === null) return;
    const file = join(this.dir, `${s.target}-${String(s.parts).padStart(5, "0")}.parquet`);
    writeFileSync(file, toParquet(s.buffered));
    const disposition = s.parts === 0 ? "WRITE_TRUNCATE" : "WRITE_APPEND";
    s.parts++;
    s.pending++;
    s.buffered = [];
    s.bufferedRows = 0;
    s.chain = s.chain
      .then(async () => {
        if (this.failure !== null) return;
        await this.load(s.staging, file, disposition);
        rmSync(file, { force: true });
      })
      .catch((e: unknown) => {
        this.failure ??= classifyBigQueryError(e, `loading ${file} into ${qualifiedName(this.c, s.staging)}`);
      })
      .finally(() => {
        s.pending--;
      });
  }

  private async load(table: string, file: string, disposition: "WRITE_TRUNCATE" | "WRITE_APPEND"): Promise<void> {
    const [job] = await this.table(table).createLoadJob(file, {
      ...parquetLoadConfig(disposition),
      jobPrefix: "hcc_load_",
      ...(this.c.location !== undefined ? { location: this.c.location } : {}),
    });
    await job.promise();
  }

  private async copy(from: string, to: string): Promise<void> {
    const [job] = await this.table(from).createCopyJob(this.table(to), {
      writeDisposition: "WRITE_TRUNCATE",
      createDisposition: "CREATE_IF_NEEDED",
      jobPrefix: "hcc_copy_",
      ...(this.c.location !== undefined ? { location: this.c.location } : {}),
    });
    await job.promise();
  }

  async commit(run: ScoreRunRow): Promise<void> {
    if (this.runId === null) throw new InternalError("BigQuery sink: commit() before begin()");
    for (const s of this.tables.values()) this.flush(s);
    await Promise.all([...this.tables.values()].map((s) => s.chain));
    this.throwIfFailed();
    // Tables that received no rows keep their previous contents (nothing to swap in).
    const staged = [...this.tables.values()].filter((s) => s.parts > 0);
    const backups: { target: string; backup: string | null }[] = [];
    let step = "backing up the current results";
    try {
      for (const s of staged) {
        const [exists] = await this.table(s.target).exists();
        const backup = exists ? stagingTableName(s.target, this.runId, "backup") : null;
        if (backup !== null) await this.copy(s.target, backup);
        backups.push({ target: s.target, backup });
      }
      step = "replacing the result tables (copy jobs)";
      for (const s of staged) await this.copy(s.staging, s.target);
      step = `appending the run to ${this.c.tables.scoreRuns}`;
      await this.appendRun(run);
    } catch (e) {
      const err = classifyBigQueryError(e, `${step}; previous results restored`);
      if (step !== "backing up the current results") await this.restore(backups);
      await this.finish(staged, backups);
      throw err;
    }
    await this.finish(staged, backups);
  }

  /** Drops staging and backups; the sink is done (a later abort() is a no-op). */
  private async finish(staged: TableState[], backups: { backup: string | null }[]): Promise<void> {
    this.runId = null;
    await this.dropTables([...staged.map((s) => s.staging), ...backups.flatMap((b) => (b.backup ? [b.backup] : []))]);
    this.removeDir();
  }

  private async appendRun(run: ScoreRunRow): Promise<void> {
    if (this.dir === null) return;
    const file = join(this.dir, "score_runs.parquet");
    writeFileSync(file, toParquet(scoreRunTable(run).batches));
    await this.load(this.c.tables.scoreRuns, file, "WRITE_APPEND");
  }

  /** Puts every target back as it was before commit started. */
  private async restore(backups: { target: string; backup: string | null }[]): Promise<void> {
    for (const { target, backup } of backups) {
      try {
        if (backup !== null) await this.copy(backup, target);
        else await this.table(target).delete({ ignoreNotFound: true });
      } catch (e) {
        // The backup stays in the dataset so an operator can restore by hand.
        this.cleanupErrors.push(`could not restore ${target} from ${backup ?? "(none)"}: ${(e as Error).message}`);
        if (backup !== null) this.keep.add(backup);
      }
    }
  }

  private readonly keep = new Set<string>();

  private async dropTables(names: string[]): Promise<void> {
    for (const n of names) {
      if (this.keep.has(n)) continue;
      try {
        await this.table(n).delete({ ignoreNotFound: true });
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
}

export function openBigQuerySink(config: BigQueryConfig): BigQueryResultSink {
  return new BigQueryResultSink(config);
}
