// Sources and sinks of the scoring pipeline (docs/pipeline.md): a MemberSource yields Arrow member
// batches, a ResultSink takes Arrow result batches and swaps them in atomically on commit.
import type { RecordBatch } from "apache-arrow";
import type { IdBytes } from "./id-set.js";

/** Counts a source reports after its stream ends (never member ids or codes). */
export interface SourceStats {
  /** Members yielded (rows across all batches). */
  membersRead: number;
  /** Diagnosis rows read (long layout: rows of the dx table that matched a member; grouped: list items). */
  dxRowsRead: number;
  /** Diagnosis rows whose participant_id is not in the participants table (long layout); 0 otherwise. */
  orphanDxRows: number;
  /** Participant ids that occur more than once (each such id counted once). */
  duplicateParticipants: number;
  /** Null diagnosis codes skipped (null diagnosis_code rows, or null list items). */
  nullDxCodes?: number;
}

export interface ReadOptions {
  /** Members per yielded batch; file sources may yield the batches/row groups as stored. */
  batchSize: number;
  signal?: AbortSignal;
}

export interface MemberSource {
  /** Where the members come from, for run records and progress: no member ids, no codes. */
  describe(): string;
  /** Member batches (schema in docs/pipeline.md "Member batches"), each member exactly once. */
  read(opts: ReadOptions): AsyncIterable<RecordBatch>;
  /** Valid after the stream returned by read() has ended. */
  stats(): SourceStats;
  close(): Promise<void>;
  /**
   * A run's failure as the user should see it, when the source can say more (e.g. which table row
   * a worker's data error came from); anything else is returned as it is.
   */
  explainFailure?(e: unknown): Promise<unknown>;
}

/** Members a database exported as a Parquet file (long layout: codes joined by U+001F, count n). */
export interface ExportedMembers {
  file: string;
  /** Row groups and their row counts, in file order. */
  rowGroups: { index: number; rows: number }[];
  /** Where the members came from, for errors (no ids, no codes). */
  label: string;
}

/**
 * A source that can let its database write the members as Parquet parts, which the pipeline's
 * workers then read and score (no member batch through the main thread).
 */
export interface PartExportingSource extends MemberSource {
  /** The member batch columns an export will carry (checked before exporting). */
  memberColumns(): Promise<string[]>;
  /** Runs the source's checks; true when this source's members can be exported (long layout). */
  canExportParts(): Promise<boolean>;
  /** The parts (each partition as one or more files, in order), each yielded once written. Stats are valid after the last. */
  exportParts(opts: { batchSize: number; signal?: AbortSignal }): AsyncIterable<ExportedMembers>;
  /**
   * The pipeline has scored every row group of an exported part: the source may delete it now
   * rather than with the rest at close (less disk and page cache held during the run).
   */
  releasePart?(file: string): void;
}

/**
 * A member-record file the workers parse themselves, range by range (src/io/member-records.ts):
 * the main thread only cuts the file at line boundaries and checks the ids the workers return.
 */
export interface RangeSplittingSource extends MemberSource {
  /** Ranges of whole lines, or null when the file must be parsed on this thread. */
  ranges():
    | { file: string; format: "ndjson" | "csv"; start: number; end: number; firstLine: number; header: string[] | null }[]
    | null;
  /** A range's parsed ids and their lines (duplicate check) and counts. */
  accept(ids: IdBytes, lines: Int32Array, counts: { dxItems: number; nullCodes: number }): void;
}

export function splitsRanges(s: MemberSource): s is RangeSplittingSource {
  return typeof (s as Partial<RangeSplittingSource>).ranges === "function";
}

export function exportsParts(s: MemberSource): s is PartExportingSource {
  return typeof (s as Partial<PartExportingSource>).exportParts === "function";
}

/**
 * A source that can write the members it scored as one grouped Parquet file: a run's input
 * snapshot, which `hcc diff --from-run/--to-run` reads back (docs/attribution.md "Runs").
 */
export interface SnapshottingSource extends MemberSource {
  /** Writes the members (participant_id, member columns, diagnosis_codes VARCHAR[]) to `file`; returns the member count. */
  snapshotMembers(file: string): Promise<number>;
}

export function snapshotsMembers(s: MemberSource): s is SnapshottingSource {
  return typeof (s as Partial<SnapshottingSource>).snapshotMembers === "function";
}

export type ResultTable = "risk_scores" | "risk_score_factors" | "risk_score_gap_values";

/**
 * The member columns a source lacks that every member needs (participant_id, sex, and age or
 * birth_date): without them no member can be scored, which is a schema error, not a run of
 * error rows (issue "Results always mean this run, complete", item 2).
 */
export function missingMemberColumns(has: (name: string) => boolean): string[] {
  const missing = ["participant_id", "sex"].filter((n) => !has(n));
  if (!has("age") && !has("birth_date")) missing.push("birth_date (or age)");
  return missing;
}

/** One row of score_runs. */
export interface ScoreRunRow {
  run_id: string;
  started_at: string;
  finished_at: string;
  engine_version: string;
  payment_year: number;
  models: string;
  data_version: string;
  data_manifest_sha256: string;
  source: string;
  members_in: number;
  rows_out: number;
  members_errored: number;
  orphan_dx_rows: number;
  /** Null diagnosis codes skipped (long layout: null diagnosis_code rows; lists: null items). */
  null_dx_codes: number;
  /** "succeeded", or "failed" for a run recorded by recordFailure(). */
  status: "succeeded" | "failed";
  /** Why a failed run failed (no member data in it); null when it succeeded. */
  error: string | null;
  /** The run's input snapshot (members.parquet), when one was kept; only the DuckDB sink records it. */
  input_snapshot?: string | null;
}

export interface ResultSink {
  describe(): string;
  begin(run: { runId: string; paymentYear: number }): Promise<void>;
  /** Batches of one table share one schema within a run. */
  write(table: ResultTable, batch: RecordBatch): Promise<void>;
  /**
   * Atomic swap: risk_scores and risk_score_factors replaced, score_runs appended — all or none.
   * Every result table switches to the new run, also to empty: the pipeline writes a 0-row batch
   * (carrying the schema) for a table that received no rows.
   */
  commit(run: ScoreRunRow): Promise<void>;
  /** Drop staged data; previous results stay intact. Never throws for a sink that never began. */
  abort(err: unknown): Promise<void>;
  /**
   * After abort(): append a score_runs row with status "failed" and its error, leaving the
   * results untouched. Best effort (the pipeline reports but does not rethrow its failure);
   * sinks without a run log (a directory) may do nothing.
   */
  recordFailure?(run: ScoreRunRow): Promise<void>;
}

/** A result part a pipeline worker wrote straight into a sink's staging directory. */
export interface StagedPart {
  table: ResultTable;
  /** Parquet file inside the sink's partDir(). */
  file: string;
  rows: number;
  /** schemaSignature() of the part's batches: one schema per table per run. */
  schema: string;
}

/**
 * A sink that stages results as Parquet parts and loads them at commit. The pipeline then lets
 * its workers encode and write the parts (no result batch crosses to the main thread); write()
 * stays available for callers without workers.
 */
export interface PartStagingSink extends ResultSink {
  /** Directory for parts (valid between begin() and commit()/abort()); null when this run cannot take parts. */
  partDir(): string | null;
  /** Registers a part written into partDir(); it is loaded (or dropped) with the run. */
  addPart(part: StagedPart): void;
}

/**
 * A sink that writes the README's output records as text: the pipeline's workers encode each
 * batch's records (record-text.ts) and return the bytes, which the sink writes in batch order.
 */
export interface TextStreamingSink extends ResultSink {
  textFormat(): "ndjson" | "csv";
  /** A batch's encoded records (a CSV batch starts with the header line). */
  addText(batchIndex: number, text: Uint8Array): void;
  /**
   * A buffer whose text has been written and that the sink no longer reads, for a worker to
   * encode a later batch into (moved, not copied), or undefined.
   */
  spareTextBuffer(): ArrayBuffer | undefined;
}

export function streamsText(s: ResultSink): s is TextStreamingSink {
  return typeof (s as Partial<TextStreamingSink>).addText === "function";
}

export function stagesParts(s: ResultSink): s is PartStagingSink {
  return typeof (s as Partial<PartStagingSink>).partDir === "function" && (s as PartStagingSink).partDir() !== null;
}
