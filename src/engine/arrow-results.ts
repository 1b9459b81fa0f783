// Build the result record batches (docs/pipeline.md "Results") from kernel outputs with typed
// arrays and pre-encoded label bytes: no JS string per member except error messages.
import {
  Bool,
  Field,
  Float64,
  Int32,
  List,
  RecordBatch,
  Schema,
  Struct,
  Utf8,
  makeData,
  type Data,
  type Vector,
} from "apache-arrow";
import * as L from "./layout.js";
import type { BatchResult } from "./kernel.js";
import type { Engine } from "./engine.js";
import { KERNEL_ERRORS } from "./engine.js";

const enc = new TextEncoder();

/** Growable Utf8 column builder fed with bytes. */
class Utf8Builder {
  private bytes = new Uint8Array(1024);
  private len = 0;
  private offsets: Int32Array;
  private valid: Uint8Array;
  private nulls = 0;
  private row = 0;
  constructor(n: number) {
    this.offsets = new Int32Array(Math.max(n, 16) + 1);
    this.valid = new Uint8Array((Math.max(n, 16) + 7) >> 3).fill(0xff);
  }
  private grow(): void {
    if (this.row + 1 < this.offsets.length) return;
    const o = new Int32Array(this.offsets.length * 2);
    o.set(this.offsets);
    this.offsets = o;
    const v = new Uint8Array(o.length >> 2).fill(0xff);
    v.set(this.valid);
    this.valid = v;
  }
  pushBytes(b: Uint8Array): void {
    if (this.len + b.length > this.bytes.length) {
      let cap = this.bytes.length * 2;
      while (cap < this.len + b.length) cap *= 2;
      const nb = new Uint8Array(cap);
      nb.set(this.bytes.subarray(0, this.len));
      this.bytes = nb;
    }
    this.bytes.set(b, this.len);
    this.len += b.length;
  }
  /** Finish the current row as a string value made of the bytes pushed since the last end. */
  endValue(): void {
    this.grow();
    this.row++;
    this.offsets[this.row] = this.len;
  }
  pushNull(): void {
    this.grow();
    this.valid[this.row >> 3] = (this.valid[this.row >> 3] ?? 0) & ~(1 << (this.row & 7));
    this.nulls++;
    this.row++;
    this.offsets[this.row] = this.len;
  }
  finish(): Data<Utf8> {
    return makeData({
      type: new Utf8(),
      length: this.row,
      nullCount: this.nulls,
      nullBitmap: this.nulls > 0 ? this.valid.subarray(0, (this.row + 7) >> 3) : null,
      valueOffsets: this.offsets.subarray(0, this.row + 1),
      data: this.bytes.subarray(0, this.len),
    });
  }
}

function f64Column(n: number, get: (i: number) => number): Data<Float64> {
  const vals = new Float64Array(n);
  const valid = new Uint8Array((n + 7) >> 3);
  let nulls = 0;
  for (let i = 0; i < n; i++) {
    const v = get(i);
    if (Number.isNaN(v)) nulls++;
    else {
      vals[i] = v;
      valid[i >> 3] = (valid[i >> 3] ?? 0) | (1 << (i & 7));
    }
  }
  return makeData({ type: new Float64(), length: n, nullCount: nulls, nullBitmap: nulls > 0 ? valid : null, data: vals });
}

function i32Column(n: number, get: (i: number) => number): Data<Int32> {
  const vals = new Int32Array(n);
  for (let i = 0; i < n; i++) vals[i] = get(i);
  return makeData({ type: new Int32(), length: n, nullCount: 0, data: vals });
}

function boolColumn(n: number, get: (i: number) => boolean): Data<Bool> {
  const bits = new Uint8Array((n + 7) >> 3);
  for (let i = 0; i < n; i++) if (get(i)) bits[i >> 3] = (bits[i >> 3] ?? 0) | (1 << (i & 7));
  return makeData({ type: new Bool(), length: n, nullCount: 0, data: bits });
}

/** Pre-encoded label bytes per model: segment ids and "HCC37"-style names, by CC number. */
export interface LabelBytes {
  segments: Uint8Array[][]; // [model][segment]
  hccs: Map<number, Uint8Array>[]; // [model] cc number → bytes
  models: Uint8Array[];
  variables: Uint8Array[][]; // [model][variable]
}

export function buildLabelBytes(engine: Engine): LabelBytes {
  const m = engine.meta.models;
  return {
    segments: m.map((x) => x.segments.map((s) => enc.encode(s.id))),
    hccs: m.map((x) => new Map(x.ccNumbers.map((c) => [c, enc.encode(`${x.hccPrefix}${c}`)]))),
    models: m.map((x) => enc.encode(x.id)),
    variables: m.map((x) => x.variables.map((v) => enc.encode(v))),
  };
}

/** The risk_scores batch for one input batch. `ids` is the input participant_id column. */
export function buildScoresBatch(
  engine: Engine,
  labels: LabelBytes,
  ids: Vector,
  r: BatchResult,
  valueErrors: (string | null)[],
  runId: string,
): RecordBatch {
  const n = r.n;
  const fields: Field[] = [];
  const cols: Data[] = [];
  const add = (name: string, data: Data, nullable = true): void => {
    fields.push(new Field(name, data.type, nullable));
    cols.push(data);
  };
  const idData = ids.data[0];
  if (!idData || ids.data.length !== 1) throw new Error("participant_id must be one chunk");
  const errOf = (i: number): string | null => {
    const v = valueErrors[i];
    if (v) return v;
    const k = r.memberI32[i * L.NOUT_I + L.OUT_ERROR] ?? 0;
    return k === 0 ? null : (KERNEL_ERRORS[k] ?? `error ${k}`);
  };
  const bad = new Uint8Array(n);
  for (let i = 0; i < n; i++) if (errOf(i) !== null) bad[i] = 1;
  const f = (i: number, k: number): number => (bad[i] ? NaN : (r.memberF64[i * L.NOUT_F + k] ?? NaN));
  add("participant_id", idData, false);
  add(
    "payment_year",
    i32Column(n, () => engine.meta.paymentYear),
    false,
  );
  add(
    "risk_score",
    f64Column(n, (i) => f(i, L.OUT_RISK)),
  );
  add(
    "payment_score",
    f64Column(n, (i) => f(i, L.OUT_PAYMENT)),
  );
  add(
    "rx_risk_score",
    f64Column(n, (i) => f(i, L.OUT_RX_RISK)),
  );
  for (const m of engine.scoredModels) {
    const meta = engine.meta.models[m];
    if (!meta) continue;
    const p = meta.id.toLowerCase();
    const nm = r.nModels;
    add(
      `${p}_raw_score`,
      f64Column(n, (i) => (bad[i] ? NaN : (r.modelF64[(i * nm + m) * 2] ?? NaN))),
    );
    add(
      `${p}_normalized_score`,
      f64Column(n, (i) => (bad[i] ? NaN : (r.modelF64[(i * nm + m) * 2 + 1] ?? NaN))),
    );
    const seg = new Utf8Builder(n);
    const hccOffsets = new Int32Array(n + 1);
    const hccValid = new Uint8Array((n + 7) >> 3);
    let hccNulls = 0;
    const names = new Utf8Builder(r.hccs.length + 1);
    let nNames = 0;
    for (let i = 0; i < n; i++) {
      const o = (i * nm + m) * 3;
      const s = r.modelI32[o] ?? -1;
      if (bad[i] || s < 0) {
        seg.pushNull();
        hccNulls++;
      } else {
        seg.pushBytes(labels.segments[m]?.[s] ?? new Uint8Array());
        seg.endValue();
        hccValid[i >> 3] = (hccValid[i >> 3] ?? 0) | (1 << (i & 7));
        const start = r.modelI32[o + 1] ?? 0;
        const count = r.modelI32[o + 2] ?? 0;
        for (let k = start; k < start + count; k++) {
          names.pushBytes(labels.hccs[m]?.get(r.hccs[k] ?? 0) ?? new Uint8Array());
          names.endValue();
          nNames++;
        }
      }
      hccOffsets[i + 1] = nNames;
    }
    add(`${p}_segment`, seg.finish());
    const child = names.finish();
    const listType = new List(new Field("item", new Utf8(), true));
    add(
      `${p}_hccs`,
      makeData({
        type: listType,
        length: n,
        nullCount: hccNulls,
        nullBitmap: hccNulls > 0 ? hccValid : null,
        valueOffsets: hccOffsets,
        child,
      }),
    );
  }
  add(
    "dx_malformed",
    i32Column(n, (i) => r.memberI32[i * L.NOUT_I + L.OUT_DX_MALFORMED] ?? 0),
    false,
  );
  add(
    "dx_unmapped",
    i32Column(n, (i) => r.memberI32[i * L.NOUT_I + L.OUT_DX_UNMAPPED] ?? 0),
    false,
  );
  add(
    "edits_applied",
    i32Column(n, (i) => r.memberI32[i * L.NOUT_I + L.OUT_EDITS] ?? 0),
    false,
  );
  const err = new Utf8Builder(n);
  for (let i = 0; i < n; i++) {
    const e = bad[i] ? errOf(i) : null;
    if (e === null) err.pushNull();
    else {
      err.pushBytes(enc.encode(e));
      err.endValue();
    }
  }
  add("error", err.finish());
  const flag = (bit: number) => boolColumn(n, (i) => ((r.memberI32[i * L.NOUT_I + L.OUT_FLAGS] ?? 0) & bit) !== 0);
  add("orec_default", flag(L.FLAG_OREC_DEFAULT), false);
  add("dual_default", flag(L.FLAG_DUAL_DEFAULT), false);
  add("rx_plan_default", flag(L.FLAG_RX_PLAN_DEFAULT), false);
  const run = new Utf8Builder(n);
  const runBytes = enc.encode(runId);
  for (let i = 0; i < n; i++) {
    run.pushBytes(runBytes);
    run.endValue();
  }
  add("run_id", run.finish(), false);
  const schema = new Schema(fields);
  return new RecordBatch(schema, makeData({ type: new Struct(fields), length: n, nullCount: 0, children: cols }));
}

const FACTOR_KIND = new Map<number, string>([
  [L.T_HCC_TERM, "hcc"],
  [L.T_VAR_TERM, "variable"],
  [L.T_DIVISOR, "divisor"],
]);

/**
 * The risk_score_factors batch from factor-mode trace records: one row per member × model ×
 * term, with, for HCC terms, the member's dx codes whose crosswalk (or edit) assigned that CC.
 * Variable terms are typed by name: age/sex cells 'demographic', D1–D10P 'count', graft and
 * transplant terms 'bonus', anything with groups 'interaction'.
 */
export function buildFactorsBatch(
  engine: Engine,
  labels: LabelBytes,
  ids: Vector,
  r: BatchResult,
  codes: { memberOffsets: Int32Array; codeOffsets: Int32Array; codeBytes: Uint8Array },
  valueErrors: (string | null)[],
  runId: string,
): RecordBatch {
  const words = L.TRACE_STRIDE / 4;
  const nRec = r.trace.length / words;
  // dx → CC per (member, model, cc)
  const dxOf = new Map<string, number[]>();
  let rows = 0;
  for (let k = 0; k < nRec; k++) {
    const kind = r.trace[k * words] ?? 0;
    if (kind === L.T_DX_CC) {
      const member = r.traceF64[k * 3 + 2] ?? 0;
      const key = `${member}:${r.trace[k * words + 2] ?? 0}:${r.trace[k * words + 3] ?? 0}`;
      const l = dxOf.get(key);
      const d = r.trace[k * words + 1] ?? 0;
      if (l) {
        if (!l.includes(d)) l.push(d);
      } else dxOf.set(key, [d]);
    } else if (FACTOR_KIND.has(kind)) {
      const member = r.trace[k * words + 3] ?? 0;
      if (!valueErrors[member]) rows++;
    }
  }
  const idData = ids.data[0];
  if (!idData) throw new Error("participant_id missing");
  const idBytes = idData.values as Uint8Array;
  const idOffs = idData.valueOffsets;
  const pid = new Utf8Builder(rows);
  const model = new Utf8Builder(rows);
  const segment = new Utf8Builder(rows);
  const factor = new Utf8Builder(rows);
  const ftype = new Utf8Builder(rows);
  const coef = new Float64Array(rows);
  const hcc = new Int32Array(rows);
  const hccValid = new Uint8Array((rows + 7) >> 3);
  const dxOffsets = new Int32Array(rows + 1);
  const dxNames = new Utf8Builder(Math.max(1, codes.codeOffsets.length));
  let nDx = 0;
  const typeBytes = new Map<string, Uint8Array>(
    ["hcc", "demographic", "interaction", "count", "bonus", "divisor"].map((t) => [t, enc.encode(t)]),
  );
  const varType = engine.meta.models.map((m) => m.variableKinds);
  let row = 0;
  const segOf = (member: number, m: number): number => r.modelI32[(member * r.nModels + m) * 3] ?? -1;
  for (let k = 0; k < nRec; k++) {
    const kind = r.trace[k * words] ?? 0;
    const t = FACTOR_KIND.get(kind);
    if (!t) continue;
    const a = r.trace[k * words + 1] ?? 0;
    const m = r.trace[k * words + 2] ?? 0;
    const member = r.trace[k * words + 3] ?? 0;
    if (valueErrors[member]) continue;
    pid.pushBytes(idBytes.subarray(idOffs[member] ?? 0, idOffs[member + 1] ?? 0));
    pid.endValue();
    model.pushBytes(labels.models[m] ?? new Uint8Array());
    model.endValue();
    const s = segOf(member, m);
    segment.pushBytes(labels.segments[m]?.[s] ?? new Uint8Array());
    segment.endValue();
    coef[row] = r.traceF64[k * 3 + 2] ?? 0;
    if (t === "hcc") {
      factor.pushBytes(labels.hccs[m]?.get(a) ?? new Uint8Array());
      ftype.pushBytes(typeBytes.get("hcc") ?? new Uint8Array());
      hcc[row] = a;
      hccValid[row >> 3] = (hccValid[row >> 3] ?? 0) | (1 << (row & 7));
      const ms = codes.memberOffsets[member] ?? 0;
      for (const d of dxOf.get(`${member}:${m}:${a}`) ?? []) {
        const c = ms + d;
        dxNames.pushBytes(codes.codeBytes.subarray(codes.codeOffsets[c] ?? 0, codes.codeOffsets[c + 1] ?? 0));
        dxNames.endValue();
        nDx++;
      }
    } else {
      factor.pushBytes(labels.variables[m]?.[a] ?? new Uint8Array());
      ftype.pushBytes(typeBytes.get(varType[m]?.[a] ?? "demographic") ?? new Uint8Array());
    }
    factor.endValue();
    ftype.endValue();
    row++;
    dxOffsets[row] = nDx;
  }
  const fields: Field[] = [];
  const cols: Data[] = [];
  const add = (name: string, data: Data, nullable = false): void => {
    fields.push(new Field(name, data.type, nullable));
    cols.push(data);
  };
  add("participant_id", pid.finish());
  add(
    "payment_year",
    i32Column(rows, () => engine.meta.paymentYear),
  );
  add("model", model.finish());
  add("segment", segment.finish());
  add("factor", factor.finish());
  add("factor_type", ftype.finish());
  add("coefficient", makeData({ type: new Float64(), length: rows, nullCount: 0, data: coef }));
  const hccNulls = rows - countBits(hccValid, rows);
  add(
    "hcc",
    makeData({ type: new Int32(), length: rows, nullCount: hccNulls, nullBitmap: hccNulls > 0 ? hccValid : null, data: hcc }),
    true,
  );
  add(
    "dx_codes",
    makeData({
      type: new List(new Field("item", new Utf8(), true)),
      length: rows,
      nullCount: 0,
      valueOffsets: dxOffsets,
      child: dxNames.finish(),
    }),
    true,
  );
  const run = new Utf8Builder(rows);
  const runBytes = enc.encode(runId);
  for (let i = 0; i < rows; i++) {
    run.pushBytes(runBytes);
    run.endValue();
  }
  add("run_id", run.finish());
  return new RecordBatch(new Schema(fields), makeData({ type: new Struct(fields), length: rows, nullCount: 0, children: cols }));
}

function countBits(b: Uint8Array, n: number): number {
  let c = 0;
  for (let i = 0; i < n; i++) if (((b[i >> 3] ?? 0) >> (i & 7)) & 1) c++;
  return c;
}
