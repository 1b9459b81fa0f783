// The nightly scoring run: source → bounded queue → piscina workers (one kernel instance each)
// → result sink, with an atomic commit. Members in must equal rows out, or the run fails.
import { randomBytes } from "node:crypto";
import { availableParallelism } from "node:os";
import type { BatchGapOptions } from "../engine/engine.js";
import { loadKernelModule, loadPack } from "../load-pack.js";
import { InternalError, HccError, DataError, InterruptedError, rebuildWorkerError } from "../errors.js";
import type { RecordRange } from "../io/member-records.js";
import type { PartCompression } from "../io/parquet.js";
import {
  exportsParts,
  missingMemberColumns,
  splitsRanges,
  stagesParts,
  streamsText,
  type ExportedMembers,
  type MemberSource,
  type PartExportingSource,
  type ResultSink,
  type ScoreRunRow,
} from "../io/types.js";
import type { SnapshotOptions } from "../io/run-snapshots.js";
import { loadsSettled, newLoadGate } from "../workers/load-gate.js";
import { newScoringPool } from "../workers/exec-argv.js";
import {
  workerScriptUrl,
  type ScoreTask,
  type ScoreTaskResult,
  type TaskInput,
  type WorkerErrorShape,
  type WorkerInit,
} from "../workers/protocol.js";

export interface ScoreRunOptions {
  source: MemberSource;
  sink: ResultSink;
  paymentYear: number;
  models: string[];
  mceEdits: boolean;
  rounding: "round3" | "none";
  coefficientSet?: string;
  dataDir?: string;
  workers?: number;
  batchSize?: number;
  factors?: boolean;
  /** Value gaps into risk_score_gap_values (docs/gap-values.md). */
  gaps?: BatchGapOptions | null;
  /**
   * Page compression of the Parquet parts workers write (default none: the fast writer; a codec
   * goes through parquet-wasm, 2–3× the encode CPU for 23–42% of the bytes: bench/README.md).
   */
  partCompression?: PartCompression;
  /**
   * Let a source that can (the DuckDB warehouse, long layout) export its members as Parquet parts
   * that the workers read, instead of streaming batches through this thread (default true).
   */
  exportParts?: boolean;
  /**
   * Fail the run (exit 65, nothing committed) when more than this fraction of the members get an
   * error row, once more than ERROR_ROWS_FLOOR do (default 0.01; 1 turns the guard off). A schema
   * that cannot describe members (e.g. `sex` renamed) then fails instead of replacing good
   * results with error rows. docs/pipeline.md "Error rows".
   */
  maxErrorRate?: number;
  /**
   * Keep the run's members as `<dir>/<run_id>/members.parquet` (recorded in score_runs, the last
   * `keep` runs kept) for `hcc diff --from-run/--to-run` (docs/attribution.md "Runs").
   */
  snapshot?: SnapshotOptions | null;
  /** Aborts the run (Ctrl-C): the sink is rolled back, InterruptedError thrown. */
  signal?: AbortSignal;
  onProgress?: (p: ScoreProgress) => void;
}

export const DEFAULT_MAX_ERROR_RATE = 0.01;
/** Error rows tolerated whatever the rate (a handful of bad records in a small file). */
export const ERROR_ROWS_FLOOR = 10;

export interface ScoreProgress {
  membersRead: number;
  membersScored: number;
  elapsedMs: number;
}

export interface ScoreRunSummary {
  runId: string;
  membersIn: number;
  rowsOut: number;
  factorRows: number;
  /** risk_score_gap_values rows (0 when gaps were not asked for). */
  gapRows: number;
  errored: number;
  /** Error rows by field ("sex", "age", …). */
  errorFields: Record<string, number>;
  orphanDxRows: number;
  duplicateParticipants: number;
  /** Null diagnosis codes the source skipped. */
  nullDxCodes: number;
  seconds: number;
  /**
   * read: main thread waiting on the source; kernel: scoring per worker (wall seconds divided by
   * workers); encode: result encoding in the workers (IPC, or Parquet parts), per worker; write:
   * main thread handing results to the sink, including its commit.
   */
  stageSeconds: { read: number; kernel: number; encode: number; write: number };
  workers: number;
  source: string;
  sink: string;
}

export const ENGINE_VERSION = "0.1.0";

export function newRunId(): string {
  return `${new Date()
    .toISOString()
    .replace(/[-:.TZ]/g, "")
    .slice(0, 14)}-${randomBytes(4).toString("hex")}`;
}

const workerUrl = workerScriptUrl("score-worker");

export async function runScoring(o: ScoreRunOptions): Promise<ScoreRunSummary> {
  const t0 = performance.now();
  const startedAt = new Date();
  const runId = newRunId();
  // run snapshots (DuckDB) load only for a run that keeps one
  const snapshots = o.snapshot ? await import("../io/run-snapshots.js") : null;
  if (o.snapshot && snapshots) snapshots.checkSnapshotSource(o.source, o.snapshot);
  const pack = loadPack({
    paymentYear: o.paymentYear,
    ...(o.dataDir ? { dataDir: o.dataDir } : {}),
    ...(o.coefficientSet ? { coefficientSet: o.coefficientSet } : {}),
  });
  const workers = Math.max(1, o.workers ?? availableParallelism());
  const loadGate = newLoadGate();
  const init: WorkerInit = {
    module: loadKernelModule(),
    pack: pack.bytes,
    packMeta: pack.meta,
    models: o.models,
    mceEdits: o.mceEdits,
    rounding: o.rounding,
    loadGate,
  };
  const pool = newScoringPool({
    filename: workerUrl,
    workerData: init,
    minThreads: workers,
    maxThreads: workers,
    idleTimeout: 60_000,
    // a second task waits in each worker, so a worker never idles while the main thread is busy
    // (writing output, checking ids) before it can hand out the next one; tasks run one at a
    // time all the same (the scoring is synchronous)
    concurrentTasksPerWorker: 2,
    // async waits keep a worker's event loop turning between tasks, so it can report its start
    // (load-gate.ts); piscina's default ("sync") blocks the loop in Atomics.wait
    atomics: "async",
  });
  const limit = workers * 2; // bounded queue: at most two batches per worker in flight
  const inflight = new Set<Promise<void>>();
  let writeChain: Promise<void> = Promise.resolve();
  let membersIn = 0;
  let rowsOut = 0;
  let factorRows = 0;
  let gapRows = 0;
  let errored = 0;
  const errorFields: Record<string, number> = {};
  let scored = 0;
  let readMs = 0;
  let kernelMs = 0;
  let encodeMs = 0;
  let writeMs = 0;
  let failure: unknown = null;
  let batchIndex = 0;
  let dxItems = 0;
  // every way out of the run ends the pool this way: no worker is terminated mid-load
  // (load-gate.ts); a process exiting with workers still loading died by a signal now and then
  const closePool = async (): Promise<void> => {
    await loadsSettled(loadGate, workers);
    await pool.destroy();
  };
  try {
    await o.sink.begin({ runId, paymentYear: o.paymentYear });
  } catch (e) {
    await closePool(); // the pool is starting (a results directory that cannot be made, say)
    throw e;
  }
  const sink = o.sink;
  // workers write Parquet parts straight into the sink's staging directory when it takes them
  const partDir = stagesParts(sink) ? sink.partDir() : null;
  const textSink = streamsText(sink) ? sink : null;
  try {
    const batchSize = o.batchSize ?? 16_384;
    const gaps = await withForeignModels(o.gaps ?? null, o.source, pack.meta.models);
    const exporter = o.exportParts !== false && exportsParts(o.source) && (await o.source.canExportParts()) ? o.source : null;
    const exporting = exporter !== null;
    if (exporter) {
      const cols = await exporter.memberColumns();
      checkMemberColumns(cols, exporter.describe());
    }
    // a member-record file the workers parse themselves (ranges of whole lines), else batches
    const ranged = !exporter && splitsRanges(o.source) ? o.source : null;
    const ranges = ranged?.ranges() ?? null;
    // row groups left to score per exported part; a part all of whose row groups are scored is
    // released (deleted) at once, unless a run snapshot re-reads the parts at the end
    const partTasks = new Map<string, number>();
    const release = exporter?.releasePart && !o.snapshot ? exporter : null;
    const inputs = exporter
      ? exportedInputs(exporter, batchSize, partTasks, o.signal)
      : ranges
        ? rangeInputs(ranges)
        : ipcInputs(o.source, batchSize, o.signal);
    const it = inputs[Symbol.asyncIterator]();
    const interrupted = (): void => {
      if (o.signal?.aborted) throw new InterruptedError(String(o.signal.reason ?? "SIGINT"));
    };
    for (;;) {
      interrupted();
      const tr = performance.now();
      const next = await it.next();
      readMs += performance.now() - tr;
      if (next.done) break;
      if (failure) break;
      const { input, rows } = next.value;
      membersIn += rows;
      const task: ScoreTask = {
        batchIndex: batchIndex++,
        input,
        runId,
        factors: o.factors ?? true,
        partDir,
        textFormat: textSink?.textFormat() ?? null,
        partCompression: o.partCompression ?? "none",
        gaps,
      };
      const textBuffer = textSink?.spareTextBuffer();
      if (textBuffer) task.textBuffer = textBuffer;
      const transferList = input.kind === "ipc" ? [input.ipc.buffer as ArrayBuffer] : [];
      if (textBuffer) transferList.push(textBuffer);
      const p = (
        pool.run(task, { transferList, ...(o.signal ? { signal: o.signal } : {}) }) as Promise<ScoreTaskResult | WorkerErrorShape>
      )
        .then((out) => {
          if ("code" in out) throw rebuildWorkerError(out);
          const res = out;
          if (release && input.kind === "parquet") {
            const left = (partTasks.get(input.file) ?? 1) - 1;
            partTasks.set(input.file, left);
            if (left === 0) release.releasePart?.(input.file);
          }
          if (res.ids && res.idLines && ranged) {
            ranged.accept(res.ids, res.idLines, { dxItems: res.dxItems, nullCodes: res.nullCodes });
            membersIn += res.members; // counted when parsed, in the worker
          }
          kernelMs += res.kernelMs;
          encodeMs += res.encodeMs;
          errored += res.errored;
          for (const [f, k] of Object.entries(res.errorFields)) errorFields[f] = (errorFields[f] ?? 0) + k;
          scored += res.members;
          dxItems += res.dxItems;
          o.onProgress?.({ membersRead: membersIn, membersScored: scored, elapsedMs: performance.now() - t0 });
          if (res.text) {
            if (!textSink) throw new InternalError("a worker returned output records for a sink that does not take them");
            textSink.addText(res.batchIndex, res.text);
            rowsOut += res.scoreRows;
            return writeChain;
          }
          if (res.parts.length > 0) {
            if (!stagesParts(sink)) throw new InternalError("a worker wrote parts for a sink that does not stage them");
            for (const part of res.parts) sink.addPart(part);
            rowsOut += res.scoreRows;
            factorRows += res.factorRows;
            gapRows += res.gapRows;
            return writeChain;
          }
          writeChain = writeChain.then(async () => {
            const { ipcBatches } = await import("./arrow-io.js");
            const tw = performance.now();
            for (const b of res.scores ? ipcBatches(res.scores) : []) {
              rowsOut += b.numRows;
              await o.sink.write("risk_scores", b);
            }
            if (res.factors) {
              for (const b of ipcBatches(res.factors)) {
                factorRows += b.numRows;
                await o.sink.write("risk_score_factors", b);
              }
            }
            if (res.gapValues) {
              for (const b of ipcBatches(res.gapValues)) {
                gapRows += b.numRows;
                if (b.numRows > 0) await o.sink.write("risk_score_gap_values", b);
              }
            }
            writeMs += performance.now() - tw;
          });
          return writeChain;
        })
        .catch((e: unknown) => {
          failure ??= e;
        });
      inflight.add(p);
      void p.finally(() => inflight.delete(p));
      if (inflight.size >= limit) await Promise.race(inflight);
    }
    await Promise.all(inflight);
    await writeChain;
    interrupted();
    if (failure) throw wrapFailure(failure);
    if (rowsOut !== membersIn) throw new InternalError(`members in (${membersIn}) ≠ result rows (${rowsOut}); nothing committed`);
    checkErrorRate(errored, membersIn, errorFields, o.maxErrorRate ?? DEFAULT_MAX_ERROR_RATE, o.source.describe());
    // every result table switches to this run, also to empty (a 0-row batch carries the schema)
    // (a sink of output records takes risk_scores alone: no empty factor or gap table for it)
    const emptyScores = rowsOut === 0;
    const emptyOthers = !textSink && (factorRows === 0 || (o.gaps && gapRows === 0));
    if (emptyScores || emptyOthers) {
      const { emptyResults } = await import("./arrow-io.js");
      const empty = emptyResults(init, pack, runId, gaps);
      if (emptyScores) await o.sink.write("risk_scores", empty.scores);
      if (emptyOthers && factorRows === 0) await o.sink.write("risk_score_factors", empty.factors);
      if (emptyOthers && o.gaps && gapRows === 0 && empty.gapValues) await o.sink.write("risk_score_gap_values", empty.gapValues);
    }
    const stats = o.source.stats();
    if (exporting && dxItems !== stats.dxRowsRead) {
      throw new InternalError(
        `diagnosis codes scored (${dxItems}) ≠ diagnosis rows exported (${stats.dxRowsRead}); nothing committed`,
      );
    }
    const row: ScoreRunRow = {
      run_id: runId,
      started_at: startedAt.toISOString(),
      finished_at: new Date().toISOString(),
      engine_version: ENGINE_VERSION,
      payment_year: o.paymentYear,
      models: o.models.length > 0 ? o.models.join(",") : "default",
      data_version: pack.meta.dataVersion,
      data_manifest_sha256: pack.meta.dataVersion,
      source: o.source.describe(),
      members_in: membersIn,
      rows_out: rowsOut,
      members_errored: errored,
      orphan_dx_rows: stats.orphanDxRows,
      null_dx_codes: stats.nullDxCodes ?? 0,
      status: "succeeded",
      error: null,
    };
    const tw = performance.now();
    if (o.snapshot && snapshots) row.input_snapshot = await snapshots.writeRunSnapshot(o.source, o.snapshot, runId, membersIn);
    await o.sink.commit(row);
    if (o.snapshot && snapshots) snapshots.pruneRunSnapshots(o.snapshot, runId);
    writeMs += performance.now() - tw;
    return {
      runId,
      membersIn,
      rowsOut,
      factorRows,
      gapRows,
      errored,
      errorFields,
      orphanDxRows: stats.orphanDxRows,
      duplicateParticipants: stats.duplicateParticipants,
      nullDxCodes: stats.nullDxCodes ?? 0,
      seconds: (performance.now() - t0) / 1000,
      stageSeconds: {
        read: readMs / 1000,
        kernel: kernelMs / 1000 / workers,
        encode: encodeMs / 1000 / workers,
        write: writeMs / 1000,
      },
      workers,
      source: o.source.describe(),
      sink: o.sink.describe(),
    };
  } catch (caught) {
    // a worker task cancelled by the signal rejects with an AbortError: report the interruption
    await Promise.allSettled(inflight); // no worker still writing into the staging being dropped
    const e =
      o.signal?.aborted && !(caught instanceof InterruptedError)
        ? new InterruptedError(String(o.signal.reason ?? "SIGINT"))
        : o.source.explainFailure
          ? await o.source.explainFailure(caught)
          : caught;
    await o.sink.abort(e);
    if (o.snapshot && snapshots) snapshots.removeRunSnapshot(o.snapshot, runId);
    if (o.sink.recordFailure) {
      const stats = o.source.stats();
      const failed: ScoreRunRow = {
        run_id: runId,
        started_at: startedAt.toISOString(),
        finished_at: new Date().toISOString(),
        engine_version: ENGINE_VERSION,
        payment_year: o.paymentYear,
        models: o.models.length > 0 ? o.models.join(",") : "default",
        data_version: pack.meta.dataVersion,
        data_manifest_sha256: pack.meta.dataVersion,
        source: o.source.describe(),
        members_in: membersIn,
        rows_out: 0,
        members_errored: errored,
        orphan_dx_rows: stats.orphanDxRows,
        null_dx_codes: stats.nullDxCodes ?? 0,
        status: "failed",
        error: wrapFailure(e).message,
      };
      await o.sink.recordFailure(failed).catch(() => undefined); // best effort: the run's own error is what matters
    }
    throw e;
  } finally {
    await closePool();
  }
}

/**
 * A member schema no member can be scored from is a schema error, not a run of error rows: it
 * needs participant_id, sex, and age or birth_date (docs/pipeline.md "Member batches").
 */
export function checkMemberColumns(names: readonly string[], where: string): void {
  const missing = missingMemberColumns((n) => names.includes(n));
  if (missing.length > 0) {
    throw new DataError(`${where}: column ${missing.join(", ")} missing: no member can be scored; nothing committed`, {
      file: where,
      column: missing[0] ?? "",
    });
  }
}

function checkErrorRate(errored: number, members: number, fields: Record<string, number>, max: number, where: string): void {
  if (errored <= ERROR_ROWS_FLOOR || errored <= max * members) return;
  const top = Object.entries(fields)
    .sort((a, b) => b[1] - a[1])
    .slice(0, 3)
    .map(([f, k]) => `${f} ${k.toLocaleString("en-US")}`)
    .join(", ");
  throw new DataError(
    `${where}: ${errored.toLocaleString("en-US")} of ${members.toLocaleString("en-US")} members (${((100 * errored) / members).toFixed(1)}%) ` +
      `could not be scored (by field: ${top}), more than --max-error-rate ${max}; nothing committed, previous results intact`,
    { file: where },
  );
}

/**
 * Candidates from the source's opportunities table may name models the payment year does not
 * have: listed in the gap options, they get model_not_scored rows (docs/gap-values.md).
 */
async function withForeignModels(
  gaps: BatchGapOptions | null,
  source: MemberSource,
  models: readonly { id: string }[],
): Promise<BatchGapOptions | null> {
  const s = source as MemberSource & { gapModelHccs?: () => Promise<{ model: string; hccs: number[] }[]> };
  if (!gaps || gaps.source.kind !== "column" || typeof s.gapModelHccs !== "function") return gaps;
  const foreign = (await s.gapModelHccs()).filter((f) => !models.some((m) => m.id === f.model));
  return foreign.length > 0 ? { ...gaps, foreignModels: foreign } : gaps;
}

/** Ranges of a member-record file, parsed by the workers (rows are counted from their results). */
// eslint-disable-next-line @typescript-eslint/require-await
async function* rangeInputs(ranges: RecordRange[]): AsyncGenerator<{ input: TaskInput; rows: number }> {
  for (const range of ranges) yield { input: { kind: "records", range }, rows: 0 };
}

/** Member batches read on this thread, each sent to a worker as an Arrow IPC stream. */
async function* ipcInputs(
  source: MemberSource,
  batchSize: number,
  signal?: AbortSignal,
): AsyncGenerator<{ input: TaskInput; rows: number }> {
  let first = true;
  const { batchToIpc } = await import("./arrow-io.js");
  for await (const rb of source.read({ batchSize, ...(signal ? { signal } : {}) })) {
    if (first)
      checkMemberColumns(
        rb.schema.fields.map((f) => f.name),
        source.describe(),
      );
    first = false;
    if (rb.numRows === 0) continue;
    yield { input: { kind: "ipc", ipc: batchToIpc(rb) }, rows: rb.numRows };
  }
}

/**
 * Row groups of the Parquet parts the source's database exported; workers read them. Every
 * partition is exported before the first task: on a 2-core machine DuckDB's export threads and
 * the workers would otherwise take turns on the same cores (no faster overall, and the kernel
 * stage could not be measured).
 */
async function* exportedInputs(
  source: PartExportingSource,
  batchSize: number,
  tasksPerPart: Map<string, number>,
  signal?: AbortSignal,
): AsyncGenerator<{ input: TaskInput; rows: number }> {
  const parts: ExportedMembers[] = [];
  for await (const part of source.exportParts({ batchSize, ...(signal ? { signal } : {}) })) parts.push(part);
  for (const part of parts) tasksPerPart.set(part.file, part.rowGroups.filter((g) => g.rows > 0).length);
  for (const part of parts) {
    for (const g of part.rowGroups) {
      if (g.rows === 0) continue;
      yield { input: { kind: "parquet", file: part.file, rowGroup: g.index, rows: g.rows, label: part.label }, rows: g.rows };
    }
  }
}

function wrapFailure(e: unknown): Error {
  if (e instanceof HccError) return e;
  if (e instanceof Error && e.name === "AbortError") return new InterruptedError("SIGINT");
  const msg = e instanceof Error ? e.message : String(e);
  if (/terminated|exited|worker/i.test(msg)) {
    return new InternalError(`a scoring worker failed (${msg}); the run was aborted and previous results are intact`, e);
  }
  if (e instanceof Error && e.name === "DataError") return new DataError(msg, {}, e);
  return new InternalError(`scoring failed: ${msg}; the run was aborted and previous results are intact`, e);
}
