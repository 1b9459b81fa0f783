// Worker protocol: numbers and transferable buffers only. A member batch crosses as an Arrow
// IPC stream (one memcpy of its buffers, no JS strings); results come back the same way.

export interface WorkerInit {
  module: WebAssembly.Module;
  pack: Uint8Array;
  packMeta: unknown; // PackMeta (structured-cloneable)
  models: string[];
  mceEdits: boolean;
  rounding: "round3" | "none";
}

export interface ScoreTask {
  batchIndex: number;
  ipc: Uint8Array; // Arrow IPC stream with one member batch
  runId: string;
  factors: boolean;
}

export interface ScoreTaskResult {
  batchIndex: number;
  members: number;
  errored: number;
  scores: Uint8Array; // Arrow IPC stream (risk_scores)
  factors: Uint8Array | null; // Arrow IPC stream (risk_score_factors)
  kernelMs: number;
}

/** Errors cross as plain objects and are rebuilt on the main thread. */
export interface WorkerErrorShape {
  name: string;
  code: string;
  message: string;
}
