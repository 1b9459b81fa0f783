// Build the result record batches (docs/pipeline.md "Results") from kernel outputs with typed
// arrays: label columns (segments, models, factor names, run id) are dictionary-encoded with
// dictionaries built once per engine; HCC lists reuse pre-encoded bytes. No JS string per member
// except error messages.
import {
  Bool,
  DataType,
  Dictionary,
  Field,
  Float64,
  Int32,
  List,
  RecordBatch,
  Schema,
  Struct,
  Utf8,
  makeData,
  makeVector,
  type Data,
  type Vector,
} from "apache-arrow";
import * as L from "./layout.js";
import type { BatchResult, FactorColumns, FactorTables, ModelColumns } from "./kernel.js";
import type { Engine } from "./engine.js";
import { KERNEL_ERRORS } from "./engine.js";
import { hccRowTypeOfKind } from "./factor-records.js";

const enc = new TextEncoder();

/** Utf8 data from byte strings. */
function utf8Data(values: readonly Uint8Array[]): Data<Utf8> {
  const offsets = new Int32Array(values.length + 1);
  let total = 0;
  values.forEach((v, i) => {
    total += v.length;
    offsets[i + 1] = total;
  });
  const bytes = new Uint8Array(total);
  values.forEach((v, i) => bytes.set(v, offsets[i] ?? 0));
  return makeData({ type: new Utf8(), length: values.length, nullCount: 0, valueOffsets: offsets, data: bytes });
}

/** A dictionary of strings, built once, and its index column builder. */
export class Dict {
  readonly vector: Vector<Utf8>;
  private static nextId = 1;
  readonly type: Dictionary<Utf8, Int32>;
  constructor(values: readonly string[]) {
    this.vector = makeVector(utf8Data(values.map((v) => enc.encode(v))));
    this.type = new Dictionary(new Utf8(), new Int32(), Dict.nextId++);
  }
  column(indices: Int32Array, length: number, valid?: Uint8Array, nulls = 0): Data {
    return makeData({
      type: this.type,
      length,
      nullCount: nulls,
      nullBitmap: nulls > 0 ? (valid ?? null) : null,
      data: indices.subarray(0, length),
      dictionary: this.vector,
    });
  }
}

/** Growable byte buffer + offsets for Utf8 values appended in order. */
export class Utf8Appender {
  bytes: Uint8Array;
  len = 0;
  offsets: Int32Array;
  rows = 0;
  constructor(rowsHint: number, bytesHint: number) {
    this.bytes = new Uint8Array(Math.max(64, bytesHint));
    this.offsets = new Int32Array(Math.max(16, rowsHint) + 1);
  }
  append(src: Uint8Array, s: number, e: number): void {
    const n = e - s;
    let len = this.len;
    if (len + n > this.bytes.length) {
      const nb = new Uint8Array(Math.max(this.bytes.length * 2, len + n));
      nb.set(this.bytes.subarray(0, len));
      this.bytes = nb;
    }
    const out = this.bytes;
    if (n > 32) {
      out.set(src.subarray(s, e), len);
      len += n;
    } else for (let k = s; k < e; k++) out[len++] = src[k]!;
    this.len = len;
    if (this.rows + 2 > this.offsets.length) {
      const no = new Int32Array(this.offsets.length * 2);
      no.set(this.offsets);
      this.offsets = no;
    }
    this.offsets[++this.rows] = this.len;
  }
  finish(): Data<Utf8> {
    return makeData({
      type: new Utf8(),
      length: this.rows,
      nullCount: 0,
      valueOffsets: this.offsets.subarray(0, this.rows + 1),
      data: this.bytes.subarray(0, this.len),
    });
  }
}

export function f64Column(vals: Float64Array): Data<Float64> {
  const n = vals.length;
  const valid = new Uint8Array((n + 7) >> 3);
  const nulls = markNotNaN(vals, valid);
  return makeData({ type: new Float64(), length: n, nullCount: nulls, nullBitmap: nulls > 0 ? valid : null, data: vals });
}

/**
 * Sets the bit of every value that is not NaN; returns the NaNs. The loop alone in a function: V8
 * optimizes it while the first batch runs, and code after a loop so optimized had never run, so
 * it was thrown away at its first call (five deoptimizations a 1M warehouse run).
 */
function markNotNaN(vals: Float64Array, valid: Uint8Array): number {
  let nulls = 0;
  for (let i = 0; i < vals.length; i++) {
    if (Number.isNaN(vals[i])) nulls++;
    else valid[i >> 3]! |= 1 << (i & 7);
  }
  return nulls;
}

export function i32Column(vals: Int32Array): Data<Int32> {
  return makeData({ type: new Int32(), length: vals.length, nullCount: 0, data: vals });
}

/** Per-engine label tables: dictionaries and pre-encoded HCC names. */
export interface LabelBytes {
  hccBytes: (Uint8Array | undefined)[][]; // [model][cc number] → "HCC37" (dense: cc numbers are small)
  hccNames: HccNames[]; // [model]: the same names end to end, and as a dictionary
  segments: Dict[]; // [model]
  models: Dict;
  factorTypes: Dict; // hcc, demographic, interaction, count, bonus, divisor
  factorNames: Dict; // every HCC name and variable name of every model
  hccFactorIndex: Int32Array[]; // [model][cc number] → index in factorNames
  varFactorIndex: number[][]; // [model][variable] → index in factorNames
  varTypeIndex: number[][]; // [model][variable] → index in factorTypes
  populations: Dict; // the payment year's populations, in pack order (kernel OUT_POP_*)
}

/**
 * One model's HCC names: their UTF-8 bytes end to end with each CC number's [start, start + len)
 * in them (the text lists of buildScoresBatch), and as a dictionary with each CC number's key
 * (the kernel's modelColumns).
 */
export interface HccNames {
  bytes: Uint8Array;
  start: Int32Array; // [cc number]
  len: Int32Array; // [cc number], 0: not an HCC of the model
  dict: Dict;
  key: Int32Array; // [cc number], -1: not an HCC of the model
}

function hccNames(prefix: string, ccNumbers: readonly number[], size: number): HccNames {
  const start = new Int32Array(size);
  const len = new Int32Array(size);
  const key = new Int32Array(size).fill(-1);
  const text = ccNumbers.map((c) => `${prefix}${c}`);
  const encoded = text.map((t) => enc.encode(t));
  const bytes = new Uint8Array(encoded.reduce((a, b) => a + b.length, 0));
  let at = 0;
  ccNumbers.forEach((c, k) => {
    const b = encoded[k]!;
    bytes.set(b, at);
    start[c] = at;
    len[c] = b.length;
    key[c] = k;
    at += b.length;
  });
  return { bytes, start, len, dict: new Dict(text), key };
}

// hcc_dropped (a CC a hierarchy dropped) and hcc_unscored (a kept HCC in a segment that scores
// no HCCs) are not terms: coefficient 0, with the member's codes behind the HCC (docs/pipeline.md)
const FACTOR_TYPES = ["hcc", "demographic", "interaction", "count", "bonus", "divisor", "hcc_dropped", "hcc_unscored"] as const;

export function buildLabelBytes(engine: Engine): LabelBytes {
  const ms = engine.meta.models;
  const names: string[] = [];
  const nameIdx = new Map<string, number>();
  const idx = (s: string): number => {
    let i = nameIdx.get(s);
    if (i === undefined) {
      i = names.length;
      names.push(s);
      nameIdx.set(s, i);
    }
    return i;
  };
  const size = (m: { ccNumbers: number[] }): number => Math.max(0, ...m.ccNumbers) + 1;
  const hccFactorIndex = ms.map((m) => {
    const a = new Int32Array(size(m));
    for (const c of m.ccNumbers) a[c] = idx(`${m.hccPrefix}${c}`);
    return a;
  });
  const varFactorIndex = ms.map((m) => m.variables.map((v) => idx(v)));
  const hccNameTables = ms.map((m) => hccNames(m.hccPrefix, m.ccNumbers, size(m)));
  return {
    // each name's bytes as a view into the model's names end to end (encoded once)
    hccBytes: hccNameTables.map((t) =>
      Array.from(t.len, (l, c) => (l > 0 ? t.bytes.subarray(t.start[c], t.start[c]! + l) : undefined)),
    ),
    hccNames: hccNameTables,
    segments: ms.map((m) => new Dict(m.segments.map((s) => s.id))),
    models: new Dict(ms.map((m) => m.id)),
    factorTypes: new Dict(FACTOR_TYPES),
    factorNames: new Dict(names),
    hccFactorIndex,
    varFactorIndex,
    varTypeIndex: ms.map((m) => m.variableKinds.map((k) => FACTOR_TYPES.indexOf(k))),
    populations: new Dict(engine.meta.populations.map((p) => p.name)),
  };
}

export class Columns {
  fields: Field[] = [];
  data: Data[] = [];
  add(name: string, d: Data, nullable = true): void {
    this.fields.push(new Field(name, d.type, nullable));
    this.data.push(d);
  }
  batch(n: number): RecordBatch {
    return new RecordBatch(
      new Schema(this.fields),
      makeData({ type: new Struct(this.fields), length: n, nullCount: 0, children: this.data }),
    );
  }
}

const runDicts = new Map<string, Dict>();
export function runIdColumn(runId: string, n: number): Data {
  let d = runDicts.get(runId);
  if (!d) {
    runDicts.clear(); // one run at a time per process
    d = new Dict([runId]);
    runDicts.set(runId, d);
  }
  return d.column(new Int32Array(n), n);
}

export function errorsOf(r: BatchResult, valueErrors: (string | null)[]): (string | null)[] {
  const out: (string | null)[] = new Array<string | null>(r.n).fill(null);
  for (let i = 0; i < r.n; i++) {
    const v = valueErrors[i];
    if (v) out[i] = v;
    else {
      const k = r.memberI32[i * L.NOUT_I + L.OUT_ERROR] ?? 0;
      if (k !== 0) out[i] = KERNEL_ERRORS[k] ?? `error ${k}`;
    }
  }
  return out;
}

/**
 * The risk_scores batch for one input batch. `ids` is the input participant_id column. With
 * `kernelColumns` (the kernel's modelColumns) each model's scores, segment and HCC list come
 * from the kernel, the list items as keys into the model's HCC names (List<Dictionary<Utf8>>):
 * for a part the worker writes with the fast Parquet writer, which stores them
 * dictionary-encoded, and for text, which writes each name's bytes once; they read back as the
 * same text. Without it this loop builds them, the items as text.
 */
export function buildScoresBatch(
  engine: Engine,
  labels: LabelBytes,
  ids: Vector,
  r: BatchResult,
  valueErrors: (string | null)[],
  runId: string,
  kernelColumns: ((m: number, keyOf: Int32Array, errored: Uint8Array) => ModelColumns) | null = null,
): RecordBatch {
  const n = r.n;
  const cols = new Columns();
  const idData = ids.data[0];
  if (!idData || ids.data.length !== 1) throw new Error("participant_id must be one chunk");
  const errs = errorsOf(r, valueErrors);
  const errored = erroredOf(errs, n);
  cols.add("participant_id", idData as Data, false);
  cols.add("payment_year", i32Column(new Int32Array(n).fill(engine.meta.paymentYear)), false);
  cols.add("risk_score", f64Column(memberScores(r, errored, L.OUT_RISK)));
  cols.add("payment_score", f64Column(memberScores(r, errored, L.OUT_PAYMENT)));
  cols.add("rx_risk_score", f64Column(memberScores(r, errored, L.OUT_RX_RISK)));
  const nameTables = labels.hccNames;
  for (const m of engine.scoredModels) {
    const meta = engine.meta.models[m];
    const segDict = labels.segments[m];
    const names = nameTables[m];
    const slot = r.slotOf[m] ?? -1;
    if (!meta || !segDict || !names || slot < 0) continue;
    const p = meta.id.toLowerCase();
    if (kernelColumns) {
      // the same columns, written by the kernel (assembly/model-columns.ts)
      const k = kernelColumns(m, names.key, errored);
      addModelColumns(
        cols,
        p,
        segDict,
        n,
        k.raw,
        k.norm,
        k.segment,
        k.valid,
        k.nulls,
        k.listOffsets,
        names.dict.column(k.keys, k.keys.length),
      );
    } else addTextModelColumns(cols, p, segDict, names, r, slot, errored);
  }
  cols.add("dx_malformed", i32Column(memberInts(r, L.OUT_DX_MALFORMED)), false);
  cols.add("dx_unmapped", i32Column(memberInts(r, L.OUT_DX_UNMAPPED)), false);
  cols.add("edits_applied", i32Column(memberInts(r, L.OUT_EDITS)), false);
  cols.add("error", errorColumn(errs, n));
  const flags = memberInts(r, L.OUT_FLAGS);
  cols.add("orec_default", flagColumn(flags, n, L.FLAG_OREC_DEFAULT), false);
  cols.add("dual_default", flagColumn(flags, n, L.FLAG_DUAL_DEFAULT), false);
  cols.add("rx_plan_default", flagColumn(flags, n, L.FLAG_RX_PLAN_DEFAULT), false);
  // the population whose blend (weights, normalization factors, MACI) gave each score: what dbt's
  // int_risk_adjustments joins the payment-year parameters on
  cols.add("population", populationColumn(labels, memberInts(r, L.OUT_POP_C), errored));
  cols.add("rx_population", populationColumn(labels, memberInts(r, L.OUT_POP_D), errored));
  cols.add("run_id", runIdColumn(runId, n), false);
  return cols.batch(n);
}

// The loops of buildScoresBatch, each in a function of its own: V8 optimizes a loop's function
// while the loop runs (on-stack replacement) and then again for its next call; with the loops
// inline, that was buildScoresBatch as a whole, compiled three times a run in each worker.

function erroredOf(errs: readonly (string | null)[], n: number): Uint8Array {
  const errored = new Uint8Array(n);
  for (let i = 0; i < n; i++) if (errs[i] !== null) errored[i] = 1;
  return errored;
}

/** One of the kernel's per-member scores (NaN for a member with an error). */
function memberScores(r: BatchResult, errored: Uint8Array, k: number): Float64Array {
  const n = r.n;
  const out = new Float64Array(n);
  const src = r.memberF64;
  for (let i = 0, j = k; i < n; i++, j += L.NOUT_F) out[i] = errored[i] === 1 ? NaN : src[j]!;
  return out;
}

/** One of the kernel's per-member integers. */
function memberInts(r: BatchResult, k: number): Int32Array {
  const n = r.n;
  const out = new Int32Array(n);
  const src = r.memberI32;
  for (let i = 0, j = k; i < n; i++, j += L.NOUT_I) out[i] = src[j]!;
  return out;
}

/** A population column from the kernel's population indexes (null when none or errored). */
function populationColumn(labels: LabelBytes, idx: Int32Array, errored: Uint8Array): Data {
  const n = idx.length;
  const valid = new Uint8Array((n + 7) >> 3);
  const nulls = markPopulations(idx, errored, valid);
  return labels.populations.column(idx, n, valid, nulls);
}

/** Sets the bit of every member with a population (none or errored: key 0, null); returns the nulls. */
function markPopulations(idx: Int32Array, errored: Uint8Array, valid: Uint8Array): number {
  let nulls = 0;
  for (let i = 0; i < idx.length; i++) {
    if (idx[i]! < 0 || errored[i] === 1) {
      idx[i] = 0;
      nulls++;
    } else valid[i >> 3]! |= 1 << (i & 7);
  }
  return nulls;
}

/** One model's columns built here, the HCC list items as text (without the kernel's modelColumns). */
function addTextModelColumns(
  cols: Columns,
  p: string,
  segDict: Dict,
  names: HccNames,
  r: BatchResult,
  slot: number,
  errored: Uint8Array,
): void {
  const n = r.n;
  const mF = r.modelF64;
  const mI = r.modelI32;
  const hccs = r.hccs;
  const raw = new Float64Array(n);
  const norm = new Float64Array(n);
  const seg = new Int32Array(n);
  const valid = new Uint8Array((n + 7) >> 3);
  let nulls = 0;
  const listOffsets = new Int32Array(n + 1);
  const nameStart = names.start;
  const nameLen = names.len;
  const nameBytes = names.bytes;
  // pass 1: scores, segments, list offsets and the byte length of the names
  let items = 0;
  let byteLen = 0;
  for (let i = 0, at = slot * n; i < n; i++, at++) {
    const o = at * 3;
    const s = mI[o]!;
    if (errored[i] === 1) {
      raw[i] = NaN;
      norm[i] = NaN;
      nulls++;
    } else {
      raw[i] = mF[at * 2]!;
      norm[i] = mF[at * 2 + 1]!;
      if (s < 0) nulls++;
      else {
        seg[i] = s;
        valid[i >> 3]! |= 1 << (i & 7);
        for (let k = mI[o + 1]!, e = k + mI[o + 2]!; k < e; k++) {
          const l = nameLen[hccs[k]!] ?? 0;
          if (l > 0) {
            items++;
            byteLen += l;
          }
        }
      }
    }
    listOffsets[i + 1] = items;
  }
  // pass 2: the names' bytes and offsets
  const itemOffsets = new Int32Array(items + 1);
  const bytes = new Uint8Array(byteLen);
  let w = 0;
  let item = 0;
  for (let i = 0, at = slot * n; i < n; i++, at++) {
    if (((valid[i >> 3]! >> (i & 7)) & 1) === 0) continue;
    const o = at * 3;
    for (let k = mI[o + 1]!, e = k + mI[o + 2]!; k < e; k++) {
      const c = hccs[k]!;
      const l = nameLen[c] ?? 0;
      if (l === 0) continue;
      for (let b = nameStart[c]!, be = b + l; b < be; b++) bytes[w++] = nameBytes[b]!;
      itemOffsets[++item] = w;
    }
  }
  const child = makeData({ type: new Utf8(), length: items, nullCount: 0, valueOffsets: itemOffsets, data: bytes });
  addModelColumns(cols, p, segDict, n, raw, norm, seg, valid, nulls, listOffsets, child);
}

/** One model's four risk_scores columns. */
function addModelColumns(
  cols: Columns,
  p: string,
  segDict: Dict,
  n: number,
  raw: Float64Array,
  norm: Float64Array,
  seg: Int32Array,
  valid: Uint8Array,
  nulls: number,
  listOffsets: Int32Array,
  child: Data,
): void {
  cols.add(`${p}_raw_score`, f64Column(raw));
  cols.add(`${p}_normalized_score`, f64Column(norm));
  cols.add(`${p}_segment`, segDict.column(seg, n, valid, nulls));
  cols.add(
    `${p}_hccs`,
    makeData({
      type: new List(new Field("item", child.type, true)),
      length: n,
      nullCount: nulls,
      nullBitmap: nulls > 0 ? valid : null,
      valueOffsets: listOffsets,
      child,
    }),
  );
}

/** A Bool column: whether `bit` is set in each member's flags. */
function flagColumn(flags: Int32Array, n: number, bit: number): Data<Bool> {
  const bits = new Uint8Array((n + 7) >> 3);
  for (let i = 0; i < n; i++) if ((flags[i]! & bit) !== 0) bits[i >> 3]! |= 1 << (i & 7);
  return makeData({ type: new Bool(), length: n, nullCount: 0, data: bits });
}

/** The error column: plain Utf8 (rare; a per-batch dictionary would change the schema per batch). */
function errorColumn(errs: readonly (string | null)[], n: number): Data<Utf8> {
  const errText = new Utf8Appender(n, 64);
  const errValid = new Uint8Array((n + 7) >> 3);
  const errNulls = appendErrors(errs, n, errText, errValid);
  const errData = errText.finish();
  return makeData({
    type: new Utf8(),
    length: n,
    nullCount: errNulls,
    nullBitmap: errNulls > 0 ? errValid : null,
    valueOffsets: errData.valueOffsets,
    data: errData.values,
  });
}

/** The errors' text and validity bits (the loop alone: see markNotNaN); returns the nulls. */
function appendErrors(errs: readonly (string | null)[], n: number, errText: Utf8Appender, errValid: Uint8Array): number {
  const empty = new Uint8Array(0);
  let errNulls = 0;
  for (let i = 0; i < n; i++) {
    const e = errs[i];
    if (e === null || e === undefined) {
      errNulls++;
      errText.append(empty, 0, 0);
      continue;
    }
    const b = enc.encode(e);
    errText.append(b, 0, b.length);
    errValid[i >> 3]! |= 1 << (i & 7);
  }
  return errNulls;
}

let memberIdDictionaryId = 1 << 20; // apart from Dict's ids

/**
 * The participant_id column of a table with several rows per member (`member[row]` indexes the
 * batch's ids): the ids copied per row (Utf8), or — for a Parquet part the worker writes itself —
 * a dictionary over the batch's own id column with the member indices as keys (no bytes copied;
 * the part stores each id once and a bit-packed index per row, and reads back as the same text).
 */
export function memberIdColumn(ids: Vector, member: Int32Array, rows: number, asDictionary: boolean): Data {
  const idData = ids.data[0];
  if (!idData || ids.data.length !== 1 || !DataType.isUtf8(idData.type))
    throw new Error("participant_id: one Utf8 chunk expected");
  if (asDictionary) {
    return makeData({
      type: new Dictionary(new Utf8(), new Int32(), memberIdDictionaryId++),
      length: rows,
      nullCount: 0,
      data: member.subarray(0, rows),
      dictionary: ids as Vector<Utf8>,
    });
  }
  const idBytes = idData.values as Uint8Array;
  const idOffs = idData.valueOffsets as Int32Array;
  const pid = new Utf8Appender(rows, rows * 12);
  for (let k = 0; k < rows; k++) pid.append(idBytes, idOffs[member[k]!]!, idOffs[member[k]! + 1]!);
  return pid.finish();
}

/** The label tables the kernel's factorColumns maps its numbers with (kernel.ts FactorTables). */
export function buildFactorTables(engine: Engine, labels: LabelBytes): FactorTables {
  const ms = engine.meta.models;
  const hccStride = Math.max(1, ...labels.hccFactorIndex.map((a) => a.length));
  const varStride = Math.max(1, ...labels.varFactorIndex.map((a) => a.length));
  const hccFactor = new Int32Array(ms.length * hccStride);
  labels.hccFactorIndex.forEach((a, m) => hccFactor.set(a, m * hccStride));
  const varFactor = new Int32Array(ms.length * varStride);
  const varType = new Int32Array(ms.length * varStride).fill(1);
  labels.varFactorIndex.forEach((a, m) => varFactor.set(a, m * varStride));
  labels.varTypeIndex.forEach((a, m) => varType.set(a, m * varStride));
  const segBase = new Int32Array(ms.length);
  let acc = 0;
  ms.forEach((mm, m) => {
    segBase[m] = acc;
    acc += mm.segments.length;
  });
  const typeOf = (t: string): number => FACTOR_TYPES.indexOf(t as (typeof FACTOR_TYPES)[number]);
  return {
    hccFactor,
    hccStride,
    varFactor,
    varType,
    varStride,
    segBase,
    // factor_type index of an HCC row per record kind, so no string is made per row
    kindType: Int32Array.from({ length: L.T_HCC_UNSCORED + 1 }, (_, kind) => typeOf(hccRowTypeOfKind(kind))),
    divisorType: typeOf("divisor"),
  };
}

/**
 * The risk_score_factors batch from the kernel's factor columns (kernel.ts factorColumns): one
 * row per member × model × term, plus the HCCs that are not terms (hcc_dropped, hcc_unscored;
 * coefficient 0); HCC rows carry the member's dx codes whose crosswalk (or edit) assigned that CC.
 */
export function buildFactorsBatch(
  engine: Engine,
  labels: LabelBytes,
  ids: Vector,
  f: FactorColumns,
  runId: string,
  idsAsDictionary = false,
): RecordBatch {
  const rows = f.rows;
  const cols = new Columns();
  cols.add("participant_id", memberIdColumn(ids, f.member, rows, idsAsDictionary), false);
  cols.add("payment_year", i32Column(new Int32Array(rows).fill(engine.meta.paymentYear)), false);
  cols.add("model", labels.models.column(f.model, rows), false);
  // segment ids are per model; the kernel mapped (model, segment) onto one dictionary
  cols.add("segment", segmentDict(engine).column(f.segment, rows), false);
  cols.add("factor", labels.factorNames.column(f.factor, rows), false);
  cols.add("factor_type", labels.factorTypes.column(f.type, rows), false);
  cols.add("coefficient", makeData({ type: new Float64(), length: rows, nullCount: 0, data: f.coef }), false);
  cols.add(
    "hcc",
    makeData({
      type: new Int32(),
      length: rows,
      nullCount: f.hccNulls,
      nullBitmap: f.hccNulls > 0 ? f.hccValid : null,
      data: f.hcc,
    }),
  );
  const dxLen = f.dxByteOffsets.length - 1;
  cols.add(
    "dx_codes",
    makeData({
      type: new List(new Field("item", new Utf8(), true)),
      length: rows,
      nullCount: 0,
      valueOffsets: f.dxOffsets,
      child: makeData({ type: new Utf8(), length: dxLen, nullCount: 0, valueOffsets: f.dxByteOffsets, data: f.dxBytes }),
    }),
  );
  cols.add("run_id", runIdColumn(runId, rows), false);
  return cols.batch(rows);
}

const segmentDicts = new WeakMap<Engine, Dict>();
/** One dictionary of every model's segment ids, in model order (built once per engine). */
function segmentDict(engine: Engine): Dict {
  let d = segmentDicts.get(engine);
  if (!d) {
    d = new Dict(engine.meta.models.flatMap((mm) => mm.segments.map((s) => s.id)));
    segmentDicts.set(engine, d);
  }
  return d;
}
