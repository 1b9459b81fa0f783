// Piscina worker: instantiates the kernel once (from the module compiled on the main thread)
// and scores Arrow member batches.
import { workerData } from "node:worker_threads";
import { tableFromIPC, tableToIPC, Table } from "apache-arrow";
import { Engine } from "../engine/engine.js";
import type { Pack, PackMeta } from "../engine/pack-builder.js";
import type { ScoreTask, ScoreTaskResult, WorkerInit } from "./protocol.js";

const init = workerData as WorkerInit;
const pack: Pack = { bytes: init.pack, meta: init.packMeta as PackMeta };
const engine = new Engine(init.module, pack, { models: init.models, mceEdits: init.mceEdits, rounding: init.rounding });

export default function scoreBatch(task: ScoreTask): ScoreTaskResult {
  const t0 = performance.now();
  const table = tableFromIPC(task.ipc);
  const rb = table.batches.length === 1 ? table.batches[0] : undefined;
  if (!rb) throw new Error(`batch ${task.batchIndex}: expected one record batch, got ${table.batches.length}`);
  const { scores, factors } = engine.scoreArrowBatch(rb, task.runId, { factors: task.factors });
  const errCol = scores.getChild("error");
  const errored = errCol ? errCol.length - (errCol.nullCount ?? 0) : 0;
  const kernelMs = performance.now() - t0;
  const s = tableToIPC(new Table(scores), "stream");
  const f = factors ? tableToIPC(new Table(factors), "stream") : null;
  // returned by structured clone (one memcpy per buffer); Piscina.move transfers only one value
  return { batchIndex: task.batchIndex, members: rb.numRows, errored, scores: s, factors: f, kernelMs };
}
