// A member's diagnosis codes joined into one text by U+001F (the long layout grouped in DuckDB,
// string_agg(code, chr(31))): the separator, and the error of a code that itself contains it —
// found where the codes are split (io/duckdb-vectors.ts on this thread, workers/member-parts.ts
// in the workers: more items than the rows' count) and recognised again on this side of the
// worker boundary, where only the message survives (io/duckdb-warehouse.ts explainFailure).
import { DataError } from "../errors.js";

export const CODE_SEPARATOR = 0x1f;

const SEPARATOR_IN_CODE = "column diagnosis_code: a code contains the control character U+001F";

/** The error of a split whose item count exceeded the rows' count, for the codes of `label`. */
export function separatorInCode(label: string): DataError {
  return new DataError(`${label}: ${SEPARATOR_IN_CODE}`, { file: label, column: "diagnosis_code" });
}

/** Whether `e` is separatorInCode's error (also as rebuilt from a worker's message). */
export function isSeparatorInCode(e: unknown): boolean {
  return e instanceof Error && e.message.endsWith(`: ${SEPARATOR_IN_CODE}`);
}
