// Worker protocol: numbers and transferable buffers only. A member batch crosses as an Arrow
// IPC stream (one memcpy of its buffers, no JS strings). Results come back the same way, or —
// when the sink stages Parquet parts (io/types.ts PartStagingSink) — the worker writes them as
// Parquet files into the sink's staging directory and returns only their names and counts, or —
// when the sink writes output records (TextStreamingSink) — as the records' text bytes.
import { existsSync, statSync } from "node:fs";
import type { StagedPart } from "../io/types.js";
import type { IdBytes } from "../io/id-set.js";
import type { LoadGate } from "./load-gate.js";
import type { TextFormat } from "../io/record-text.js";
import type { PartCompression } from "../io/parquet.js";
import type { RecordRange } from "../io/member-records.js";
import type { BatchGapOptions } from "../engine/engine.js";

export interface WorkerInit {
  module: WebAssembly.Module;
  pack: Uint8Array;
  packMeta: unknown; // PackMeta (structured-cloneable)
  models: string[];
  mceEdits: boolean;
  rounding: "round3" | "none";
  /** Module-load counters (load-gate.ts): the pool is destroyed only when no worker is loading. */
  loadGate?: LoadGate;
}

/** A member batch: an Arrow IPC stream, or a row group of a Parquet part a source exported. */
export type TaskInput =
  | { kind: "ipc"; ipc: Uint8Array }
  | { kind: "records"; range: RecordRange }
  | { kind: "parquet"; file: string; rowGroup: number; rows: number; label: string };

export interface ScoreTask {
  batchIndex: number;
  input: TaskInput;
  runId: string;
  factors: boolean;
  /** The sink's staging directory: write results there as parts instead of returning them. */
  partDir: string | null;
  /** The sink takes output records as text: encode the scores so and return them in `text`. */
  textFormat: TextFormat | null;
  /**
   * With textFormat: the buffer of an earlier batch's text, already written, moved back to be
   * encoded into — a fresh buffer per batch brought page faults and full GCs on both threads.
   */
  textBuffer?: ArrayBuffer;
  /** Page compression of Parquet parts (none: the fast writer). */
  partCompression: PartCompression;
  /** Value gaps (risk_score_gap_values; docs/gap-values.md), or null. */
  gaps: BatchGapOptions | null;
}

export interface ScoreTaskResult {
  batchIndex: number;
  members: number;
  errored: number;
  /** Error rows by the field their message starts with ("sex", "age", …): counts, never values. */
  errorFields: Record<string, number>;
  /** Diagnosis codes the batch carried (list items). */
  dxItems: number;
  /** "records" input: the member ids parsed and their file lines (the main thread checks duplicates), null codes skipped. */
  ids: IdBytes | null;
  idLines: Int32Array | null;
  nullCodes: number;
  scores: Uint8Array | null; // Arrow IPC stream (risk_scores); null when written as parts
  factors: Uint8Array | null; // Arrow IPC stream (risk_score_factors)
  gapValues: Uint8Array | null; // Arrow IPC stream (risk_score_gap_values)
  gapRows: number;
  parts: StagedPart[]; // parts written into partDir (scores first)
  text: Uint8Array | null; // output records (task.textFormat), cloned back: one memcpy

  scoreRows: number;
  factorRows: number;
  /**
   * Reading and scoring time (row group read, Arrow decode, kernel, result batches): the worker
   * thread's busy time since its previous task, less encodeMs — disjoint across the tasks a
   * worker runs at once, so the sum over tasks does not count any of it twice.
   */
  kernelMs: number;
  /** Encoding time (IPC or Parquet, including the file writes). */
  encodeMs: number;
}

/** Errors cross as plain objects and are rebuilt on the main thread. */
export interface WorkerErrorShape {
  name: string;
  code: string;
  message: string;
}

/**
 * The URL of a worker script, for piscina. Workers run compiled JS: from dist/ the script sits
 * beside this module; when the caller is loaded from src/ (vitest), the build's copy in dist/ is
 * used. The scoring worker runs from its bundle when there is a current one (scoringWorkerScript).
 */
export function workerScriptUrl(name: "score-worker" | "ingest-worker", env: NodeJS.ProcessEnv = process.env): string {
  const dist = new URL(import.meta.url.endsWith(".ts") ? "../../dist/" : "../", import.meta.url);
  return (name === "score-worker" ? scoringWorkerScript(dist, env) : new URL(`workers/${name}.js`, dist)).href;
}

/**
 * The scoring worker's script under `dist`: its bundle (dist/score-worker/, scripts/build-worker-bundle.mjs:
 * the same sources in a few modules, loaded in a quarter of the time) unless HCC_WORKER_BUNDLE is
 * "off", there is none, or it is older than the module files — `npm run build` writes the bundle
 * after tsc, so an older one is from an earlier build (tsc run alone since, which rewrites every
 * file) and would run code the main thread no longer has.
 */
export function scoringWorkerScript(dist: URL, env: NodeJS.ProcessEnv): URL {
  const modules = new URL("workers/score-worker.js", dist);
  if (env["HCC_WORKER_BUNDLE"] === "off") return modules;
  const bundle = new URL("score-worker/score-worker.js", dist);
  try {
    return statSync(bundle).mtimeMs >= statSync(modules).mtimeMs ? bundle : modules;
  } catch {
    return existsSync(bundle) ? bundle : modules;
  }
}
