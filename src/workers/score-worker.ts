// Piscina worker: instantiates the kernel once (from the module compiled on the main thread)
// and scores Arrow member batches; results go back as Arrow IPC or as Parquet parts written
// straight into the sink's staging directory (protocol.ts).
import { join } from "node:path";
import { workerData } from "node:worker_threads";
import { move, transferableSymbol, valueSymbol } from "piscina";
import { tableFromIPC, tableToIPC, Table, type RecordBatch } from "apache-arrow";
import { Engine } from "../engine/engine.js";
import type { Pack, PackMeta } from "../engine/pack-builder.js";
import type { ResultTable, StagedPart } from "../io/types.js";
import { encodeText, OUTPUT_RECORD } from "../io/record-text.js";
import { parseRange } from "../io/member-ranges.js";
import type { IdBytes } from "../io/id-set.js";
import type { ScoreTask, ScoreTaskResult, WorkerErrorShape, WorkerInit } from "./protocol.js";
import { HccError } from "../errors.js";
import { lazyModule, workerStarted } from "./load-gate.js";

// the Parquet reader (parquet-wasm) and writer load with the first task that needs them: a
// member-record run never does, and a worker's start-up is part of every run
const init = workerData as WorkerInit;
const parquetWriter = lazyModule(init.loadGate, () => import("../io/parquet.js"));
const memberParts = lazyModule(init.loadGate, () => import("./member-parts.js"));
const pack: Pack = { bytes: init.pack, meta: init.packMeta as PackMeta };
const engine = new Engine(init.module, pack, { models: init.models, mceEdits: init.mceEdits, rounding: init.rounding });

/** A part in dir, named by batch so parts of concurrent workers never collide (and sort in input order). */
async function writePart(task: ScoreTask, dir: string, table: ResultTable, rb: RecordBatch): Promise<StagedPart> {
  const { writePartFile, schemaSignature } = await parquetWriter();
  const file = join(dir, `${table}-b${task.batchIndex}.parquet`);
  writePartFile(file, [rb], task.partCompression);
  return { table, file, rows: rb.numRows, schema: schemaSignature(rb.schema) };
}

interface Members {
  rb: RecordBatch;
  ids: IdBytes | null;
  idLines: Int32Array | null;
  nullCodes: number;
}

async function memberBatch(task: ScoreTask): Promise<Members> {
  const input = task.input;
  if (input.kind === "records") {
    const { batch, ids, lines, nullCodes } = parseRange(input.range);
    return { rb: batch, ids, idLines: lines, nullCodes };
  }
  return { rb: await arrowBatch(task), ids: null, idLines: null, nullCodes: 0 };
}

async function arrowBatch(task: ScoreTask): Promise<RecordBatch> {
  const input = task.input;
  if (input.kind === "records") throw new Error("unreachable");
  const one = (batches: RecordBatch[]): RecordBatch => {
    const rb = batches.length === 1 ? batches[0] : undefined;
    if (!rb) throw new Error(`batch ${task.batchIndex}: expected one record batch, got ${batches.length}`);
    return rb;
  };
  if (input.kind === "ipc") return one(tableFromIPC(input.ipc).batches);
  const parts = await memberParts();
  const rb = one(await parts.readRowGroup(input.file, input.rowGroup));
  if (rb.numRows !== input.rows)
    throw new Error(`batch ${task.batchIndex}: row group has ${rb.numRows} rows, expected ${input.rows}`);
  return parts.splitJoinedCodes(rb, input.label);
}

/**
 * The result with its buffers (output text, IPC streams, ids) moved to the main thread instead of
 * copied by structured clone: each is this task's own (a fresh encode or slice), and a copy of a
 * member-record batch's text (≈ 13 MB) cost a memcpy and as many fresh pages on the main thread.
 */
function moved(r: ScoreTaskResult): ReturnType<typeof move> {
  const list: ArrayBuffer[] = [];
  for (const a of [r.text, r.scores, r.factors, r.gapValues, r.ids?.bytes, r.ids?.offsets, r.idLines]) {
    const b = a?.buffer;
    if (b instanceof ArrayBuffer && b.byteLength > 0 && !list.includes(b)) list.push(b);
  }
  return move({ [transferableSymbol]: list, [valueSymbol]: r });
}

/** A data problem found in the worker (a bad record in a parsed range) crosses as a plain object. */
export default async function scoreBatch(task: ScoreTask): Promise<ReturnType<typeof move> | WorkerErrorShape> {
  try {
    return moved(await scoreTask(task));
  } catch (e) {
    if (e instanceof HccError) return { name: e.name, code: e.code, message: e.message };
    throw e;
  }
}

// This thread's busy time (its event loop active: not waiting for a task or for I/O) since the
// previous task returned. A worker runs two tasks at a time (one reads while the other scores), so
// the wall time of each task would count the other's work too; these intervals are disjoint, and
// their sum over a worker's tasks is the time the worker was busy.
let elu = performance.eventLoopUtilization();
function busySincePreviousTask(): number {
  const now = performance.eventLoopUtilization();
  const d = performance.eventLoopUtilization(now, elu);
  elu = now;
  return d.active;
}

async function scoreTask(task: ScoreTask): Promise<ScoreTaskResult> {
  const { rb, ids, idLines, nullCodes } = await memberBatch(task);
  const { scores, factors, gapValues } = engine.scoreArrowBatch(rb, task.runId, {
    factors: task.factors,
    gaps: task.gaps,
    // parts written here: the factor and gap rows' ids as a dictionary over the batch's ids
    idsAsDictionary: task.partDir !== null && task.textFormat === null,
    // and, for our own writer's parts and for text, the HCC lists' items as keys into each
    // model's HCC names (their text written once per name, not copied per member)
    hccsAsDictionary: task.textFormat !== null || (task.partDir !== null && task.partCompression === "none"),
  });
  const dxData = rb.getChild("diagnosis_codes")?.data[0];
  const dxOffsets = dxData?.valueOffsets as Int32Array | undefined;
  const dxItems = dxOffsets ? (dxOffsets[rb.numRows] ?? 0) - (dxOffsets[0] ?? 0) : 0;
  const errCol = scores.getChild("error");
  const errored = errCol ? errCol.length - (errCol.nullCount ?? 0) : 0;
  const errorFields: Record<string, number> = {};
  if (errored > 0 && errCol) {
    for (let i = 0; i < errCol.length; i++) {
      const e = errCol.get(i) as string | null;
      if (e === null) continue;
      const field = /^[a-z_]+/.exec(e)?.[0] ?? "other";
      errorFields[field] = (errorFields[field] ?? 0) + 1;
    }
  }
  const t1 = performance.now();
  const base = {
    batchIndex: task.batchIndex,
    members: rb.numRows,
    errored,
    errorFields,
    ids,
    idLines,
    nullCodes,
    dxItems,
    scoreRows: scores.numRows,
    factorRows: factors?.numRows ?? 0,
    gapRows: gapValues?.numRows ?? 0,
  };
  // the stage split: encoding is the synchronous tail below; reading and scoring is the rest of
  // this thread's busy time since its previous task
  const timed = <T extends object>(r: T): T & { kernelMs: number; encodeMs: number } => {
    const encodeMs = performance.now() - t1;
    return { ...r, encodeMs, kernelMs: Math.max(0, busySincePreviousTask() - encodeMs) };
  };
  if (task.textFormat !== null) {
    const text = encodeText(scores, task.textFormat, {
      ...OUTPUT_RECORD,
      header: true,
      recycle: { into: task.textBuffer },
    });
    return timed({ ...base, scores: null, factors: null, gapValues: null, parts: [], text });
  }
  if (task.partDir !== null) {
    const parts = [await writePart(task, task.partDir, "risk_scores", scores)];
    if (factors && factors.numRows > 0) parts.push(await writePart(task, task.partDir, "risk_score_factors", factors));
    if (gapValues && gapValues.numRows > 0) parts.push(await writePart(task, task.partDir, "risk_score_gap_values", gapValues));
    return timed({ ...base, scores: null, factors: null, gapValues: null, parts, text: null });
  }
  const s = tableToIPC(new Table(scores), "stream");
  const f = factors ? tableToIPC(new Table(factors), "stream") : null;
  const g = gapValues ? tableToIPC(new Table(gapValues), "stream") : null;
  // returned by structured clone (one memcpy per buffer); Piscina.move transfers only one value
  return timed({ ...base, scores: s, factors: f, gapValues: g, parts: [], text: null });
}

workerStarted(init.loadGate);
