// The Arrow side of a scoring run on the main thread, loaded only by runs that need it: member
// batches read here and sent as IPC, results that come back as IPC, and the 0-row result batches
// that carry a table's schema. A run whose workers parse their input and write their own output
// (member-record files, staged Parquet parts) does not load Arrow on the main thread.
import {
  Field,
  List,
  RecordBatch,
  Schema,
  Struct,
  Table,
  Utf8,
  makeData,
  tableFromIPC,
  tableToIPC,
  vectorFromArray,
  type Data,
} from "apache-arrow";
import { Engine, type BatchGapOptions } from "../engine/engine.js";
import { InternalError } from "../errors.js";
import type { WorkerInit } from "../workers/protocol.js";

/** A member batch as the Arrow IPC stream a worker reads. */
export function batchToIpc(rb: RecordBatch): Uint8Array {
  return tableToIPC(new Table([rb]), "stream");
}

/** The record batches of a worker's IPC result. */
export function ipcBatches(ipc: Uint8Array): RecordBatch[] {
  return tableFromIPC(ipc).batches;
}

/** 0-row result batches with the run's schemas: published when a table received no rows. */
export function emptyResults(
  init: WorkerInit,
  pack: { bytes: Uint8Array; meta: unknown },
  runId: string,
  gaps: BatchGapOptions | null,
): { scores: RecordBatch; factors: RecordBatch; gapValues: RecordBatch | null } {
  const engine = new Engine(init.module, pack as ConstructorParameters<typeof Engine>[1], {
    models: init.models,
    mceEdits: init.mceEdits,
    rounding: init.rounding,
  });
  const ids = vectorFromArray([], new Utf8()).data[0] as Data;
  const codes = vectorFromArray([], new List(new Field("item", new Utf8(), true))).data[0] as Data;
  const fields = [new Field("participant_id", ids.type, false), new Field("diagnosis_codes", codes.type, true)];
  const rb = new RecordBatch(
    new Schema(fields),
    makeData({ type: new Struct(fields), length: 0, nullCount: 0, children: [ids, codes] }),
  );
  const { scores, factors, gapValues } = engine.scoreArrowBatch(rb, runId, {
    factors: true,
    gaps: gaps ? { ...gaps, source: { kind: "lacking" } } : null,
  });
  if (!factors) throw new InternalError("empty factor batch missing");
  return { scores, factors, gapValues };
}
