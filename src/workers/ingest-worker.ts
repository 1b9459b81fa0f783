// Piscina worker for `hcc ingest`: parses one input file (or byte range, or group of small files)
// into its own staging part (src/ingest/parse-file.ts) and returns the part's counts; the main
// thread loads the parts.
import { HccError } from "../errors.js";
import { parseIngestFile, type ParseFileResult, type ParseFileTask } from "../ingest/parse-file.js";
import type { WorkerErrorShape } from "./protocol.js";
import { workerData } from "node:worker_threads";
import { workerStarted, type LoadGate } from "./load-gate.js";

/** A file that cannot be read as a whole (DataError) crosses as a plain object. */
export default function parseFileTask(task: ParseFileTask): ParseFileResult | WorkerErrorShape {
  try {
    return parseIngestFile(task);
  } catch (e) {
    if (e instanceof HccError) return { name: e.name, code: e.code, message: e.message };
    throw e;
  }
}

workerStarted((workerData as { loadGate?: LoadGate } | null)?.loadGate);
