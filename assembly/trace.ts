// Explain mode: the scoring path appends fixed-size records describing each step it takes.
// Off in batch scoring (one predictable branch per step); the host decodes the records.
import { TRACE_STRIDE } from "./layout";

let tracePtr: usize = 0;
let traceCap: i32 = 0;
let traceLen: i32 = 0;
export let traceOn: bool = false;

export function beginTrace(ptr: usize, cap: i32, on: bool): void {
  tracePtr = ptr;
  traceCap = cap;
  traceLen = 0;
  traceOn = on;
}

export function traceLength(): i32 {
  return traceLen;
}

export function emit(kind: i32, a: i32, b: i32, c: i32, value: f64): void {
  if (traceLen >= traceCap) return;
  const p = tracePtr + <usize>(traceLen * TRACE_STRIDE);
  store<i32>(p, kind);
  store<i32>(p, a, 4);
  store<i32>(p, b, 8);
  store<i32>(p, c, 12);
  store<f64>(p, value, 16);
  traceLen++;
}
