// Explain mode: the scoring path appends fixed-size records describing each step it takes.
// Off in batch scoring (one predictable branch per step); the host decodes the records.
import { TRACE_STRIDE } from "./layout";

let tracePtr: usize = 0;
let traceCap: i32 = 0;
let traceLen: i32 = 0;
export let traceOn: bool = false; // explain: every step
export let factorsOn: bool = false; // batch factors: terms and dx → CC, tagged with the member
export let currentMember: i32 = 0;

export function setFactors(on: bool): void {
  factorsOn = on;
}

export function setMember(i: i32): void {
  currentMember = i;
}

/** Records dropped because the trace buffer was full (the host sizes it; > 0 is a bug). */
export let traceOverflow: i32 = 0;

export function beginTrace(ptr: usize, cap: i32, on: bool): void {
  traceOverflow = 0;
  tracePtr = ptr;
  traceCap = cap;
  traceLen = 0;
  traceOn = on;
}

export function traceLength(): i32 {
  return traceLen;
}

export function emit(kind: i32, a: i32, b: i32, c: i32, value: f64): void {
  if (traceLen >= traceCap) {
    traceOverflow++;
    return;
  }
  const p = tracePtr + <usize>(traceLen * TRACE_STRIDE);
  store<i32>(p, kind);
  store<i32>(p, a, 4);
  store<i32>(p, b, 8);
  store<i32>(p, c, 12);
  store<f64>(p, value, 16);
  traceLen++;
}

let savedTraceOn: bool = false;
let savedFactorsOn: bool = false;

/** Silence tracing and factor records (gap what-ifs re-run steps that must not be recorded). */
export function suspendTrace(): void {
  savedTraceOn = traceOn;
  savedFactorsOn = factorsOn;
  traceOn = false;
  factorsOn = false;
}

export function resumeTrace(): void {
  traceOn = savedTraceOn;
  factorsOn = savedFactorsOn;
}
