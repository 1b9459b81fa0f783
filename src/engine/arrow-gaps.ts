// The risk_score_gap_values batch (docs/gap-values.md) for one input batch, built from the
// kernel's what-if records with typed arrays and dictionaries, as arrow-results.ts builds
// risk_scores: one row per candidate added, kept HCC removed, and model's candidates added
// together; candidates the kernel could not value get a row with their status and no value.
// The only decoder of the kernel's what-if records: Engine.valueGaps reads these rows too
// (gaps.ts gapValuesOf).
import { Field, List, Utf8, makeData, type Data, type RecordBatch, type Vector } from "apache-arrow";
import * as L from "./layout.js";
import type { BatchResult } from "./kernel.js";
import type { Engine } from "./engine.js";
import {
  Columns,
  Dict,
  Utf8Appender,
  f64Column,
  i32Column,
  memberIdColumn,
  runIdColumn,
  type LabelBytes,
} from "./arrow-results.js";
import { GAP_ACTIONS, GAP_STATUSES, type EncodedGaps, type GapStatus } from "./gaps.js";

const enc = new TextEncoder();

export interface GapBatchOptions {
  /** "Every HCC the member lacks": keep only the candidates that would count (status kept). */
  keptOnly: boolean;
  /** Candidates not tied to the member (a list for everyone): no row where the model does not score the member. */
  skipNotScored: boolean;
  /** Monthly base rate in dollars: annual_value = Δ payment score × rate × 12 (null: no column values). */
  monthlyBaseRate: number | null;
  rounded: boolean;
  /** participant_id as a dictionary over the batch's ids (arrow-results memberIdColumn). */
  idsAsDictionary?: boolean;
}

/**
 * A model opportunities name that the payment year does not have (V24 in PY2027), with the HCC
 * numbers named for it: its candidates get model_not_scored rows, so the table's model and hcc
 * dictionaries must hold their names.
 */
export interface ForeignModel {
  model: string;
  hccs: readonly number[];
}

/** Dictionaries and pre-encoded names for the gap table, built once per engine and foreign-model set. */
export interface GapLabels {
  actions: Dict;
  statuses: Dict;
  /** [model][variable] → UTF-8 name */
  varBytes: Uint8Array[][];
  /** The pack's model ids, then the foreign models' (index pack models + f). */
  models: Dict;
  /** The factor names (LabelBytes.factorNames, same indices), then the foreign models' HCC names. */
  hccNames: Dict;
  foreignIndex: Map<string, number>;
  /** [foreign model] HCC number → index in hccNames */
  foreignHcc: Map<number, number>[];
}

export function buildGapLabels(engine: Engine, labels: LabelBytes, foreign: readonly ForeignModel[] = []): GapLabels {
  const names: string[] = Array.from(labels.factorNames.vector, (x) => String(x));
  const nameIdx = new Map(names.map((x, i) => [x, i]));
  const foreignHcc = foreign.map((f) => {
    const idx = new Map<number, number>();
    for (const h of f.hccs) {
      const label = `HCC${h}`;
      let i = nameIdx.get(label);
      if (i === undefined) {
        i = names.length;
        names.push(label);
        nameIdx.set(label, i);
      }
      idx.set(h, i);
    }
    return idx;
  });
  return {
    actions: new Dict(GAP_ACTIONS),
    statuses: new Dict(GAP_STATUSES),
    varBytes: engine.meta.models.map((m) => m.variables.map((v) => enc.encode(v))),
    models: new Dict([...engine.meta.models.map((m) => m.id), ...foreign.map((f) => f.model)]),
    hccNames: new Dict(names),
    foreignIndex: new Map(foreign.map((f, i) => [f.model, i])),
    foreignHcc,
  };
}

/** A List<Utf8> column filled row by row: items go to the open row until close(). */
class ListColumn {
  readonly items = new Utf8Appender(64, 512);
  offsets: Int32Array;
  private rows = 0;
  constructor(cap: number) {
    this.offsets = new Int32Array(cap + 1);
  }
  add(bytes: Uint8Array | undefined): void {
    if (bytes) this.items.append(bytes, 0, bytes.length);
  }
  close(): void {
    this.offsets[++this.rows] = this.items.rows;
  }
  data(): Data {
    return makeData({
      type: new List(new Field("item", new Utf8(), true)),
      length: this.rows,
      nullCount: 0,
      valueOffsets: this.offsets.subarray(0, this.rows + 1),
      child: this.items.finish(),
    });
  }
}

const ACT_ADD = GAP_ACTIONS.indexOf("add");
const ACT_REMOVE = GAP_ACTIONS.indexOf("remove");
const ACT_ALL = GAP_ACTIONS.indexOf("add_all");
const ST = Object.fromEntries(GAP_STATUSES.map((s, i) => [s, i])) as Record<GapStatus, number>;

export function buildGapValuesBatch(
  engine: Engine,
  labels: LabelBytes,
  gl: GapLabels,
  ids: Vector,
  r: BatchResult,
  gaps: EncodedGaps,
  errs: readonly (string | null)[],
  runId: string,
  opts: GapBatchOptions,
): { batch: RecordBatch; members: Int32Array } {
  const inv = opts.rounded ? 1e3 : 1e12;
  const gi = r.gapI;
  const gf = r.gapF;
  const pool = r.gapPool;
  const nRec = gi.length / L.GAP_I_STRIDE;
  // rows: kernel records (bases excepted) plus candidates without a value
  const cap = nRec + gaps.request.candidates.length / L.GAP_IN_STRIDE + gaps.rejected.length;
  const member = new Int32Array(cap);
  const model = new Int32Array(cap);
  const hcc = new Int32Array(cap); // HCC number, -1 = null
  const action = new Int32Array(cap);
  const status = new Int32Array(cap);
  const dRaw = new Float64Array(cap);
  const dNorm = new Float64Array(cap);
  const dRisk = new Float64Array(cap);
  const dPay = new Float64Array(cap);
  const displaced = new ListColumn(cap);
  const restored = new ListColumn(cap);
  const on = new ListColumn(cap);
  const off = new ListColumn(cap);
  let n = 0;
  const close = (): void => {
    displaced.close();
    restored.close();
    on.close();
    off.close();
    n++;
  };
  const empty = (i: number, m: number, num: number, st: number): void => {
    member[n] = i;
    model[n] = m;
    hcc[n] = num;
    action[n] = ACT_ADD;
    status[n] = st;
    dRaw[n] = dNorm[n] = dRisk[n] = dPay[n] = NaN;
    close();
  };
  // after − before on the decimal grid of the scores (see gaps.ts delta); NaN when either is
  const diff = (a: number, b: number, scale: number): number => Math.round((a - b) * scale) / scale + 0;
  const valued = new Uint32Array(r.n); // per member: models with a base record
  let base = 0;
  for (let k = 0; k < nRec; k++) {
    const w = k * L.GAP_I_STRIDE;
    const i = gi[w + L.GAP_I_MEMBER]!;
    const kind = gi[w + L.GAP_I_KIND]!;
    const m = gi[w + L.GAP_I_MODEL]!;
    if (errs[i] !== null) continue; // a value error: the kernel scored defaults; rows below say member_error
    if (kind === L.GK_BASE) {
      base = k * L.GAP_F_STRIDE;
      valued[i]! |= 1 << m;
      continue;
    }
    const num = gi[w + L.GAP_I_HCC]!;
    const ds = gi[w + L.GAP_I_DIFF_START]!;
    const de = ds + gi[w + L.GAP_I_DIFF_COUNT]!;
    let st = ST.ok;
    if (kind === L.GK_ADD) {
      let addedKept = false;
      for (let j = ds; j < de; j++) if (pool[j] === num) addedKept = true;
      st = addedKept ? ST.kept : hasKept(r, i, m, num) ? ST.already_kept : ST.dominated;
      if (opts.keptOnly && st !== ST.kept) continue;
    }
    const f = k * L.GAP_F_STRIDE;
    member[n] = i;
    model[n] = m;
    hcc[n] = kind === L.GK_ADD_ALL ? -1 : num;
    action[n] = kind === L.GK_ADD ? ACT_ADD : kind === L.GK_REMOVE ? ACT_REMOVE : ACT_ALL;
    status[n] = st;
    dRaw[n] = diff(gf[f + L.GAP_F_RAW]!, gf[base + L.GAP_F_RAW]!, 1e12);
    dNorm[n] = diff(gf[f + L.GAP_F_NORMALIZED]!, gf[base + L.GAP_F_NORMALIZED]!, inv);
    dRisk[n] = diff(gf[f + L.GAP_F_RISK]!, gf[base + L.GAP_F_RISK]!, inv);
    dPay[n] = diff(gf[f + L.GAP_F_PAYMENT]!, gf[base + L.GAP_F_PAYMENT]!, inv);
    if (de > ds) {
      const hb = labels.hccBytes[m]!;
      for (let j = ds; j < de; j++) {
        const h = pool[j]!;
        if (h > 0 && !(kind === L.GK_ADD && h === num)) restored.add(hb[h]);
        else if (h < 0 && !(kind === L.GK_REMOVE && -h === num)) displaced.add(hb[-h]);
      }
    }
    const vs = gi[w + L.GAP_I_VARS_START]!;
    const ve = vs + gi[w + L.GAP_I_VARS_COUNT]!;
    if (ve > vs) {
      const vb = gl.varBytes[m]!;
      for (let j = vs; j < ve; j++) {
        const v = pool[j]!;
        (v > 0 ? on : off).add(vb[Math.abs(v) - 1]);
      }
    }
    close();
  }
  // candidates without a value: the model did not score the member, or the member has an error
  const cands = gaps.request.candidates;
  const offs = gaps.request.offsets;
  if (offs && (gaps.request.options & L.OPT_GAP_ADD) !== 0 && !opts.keptOnly) {
    for (let i = 0; i < r.n; i++) {
      const bad = errs[i] !== null;
      if (!bad && opts.skipNotScored) continue;
      for (let c = offs[i]!; c < offs[i + 1]!; c++) {
        const m = cands[c * L.GAP_IN_STRIDE]!;
        if (!bad && (valued[i]! & (1 << m)) !== 0) continue;
        empty(i, m, engine.meta.models[m]!.ccNumbers[cands[c * L.GAP_IN_STRIDE + 1]!]!, bad ? ST.member_error : ST.not_scored);
      }
    }
  }
  const packModels = engine.meta.models.length;
  for (const x of gaps.rejected) {
    if (opts.keptOnly) break;
    // a model the payment year does not have: a row when the run named it (gl.foreignIndex)
    let m = engine.meta.models.findIndex((mm) => mm.id === x.model);
    if (m < 0) {
      const f = gl.foreignIndex.get(x.model);
      if (f === undefined || !gl.foreignHcc[f]?.has(x.hcc)) continue;
      m = packModels + f;
    }
    empty(x.member, m, x.hcc, errs[x.member] !== null ? ST.member_error : ST[x.status]);
  }
  const cols = new Columns();
  cols.add("run_id", runIdColumn(runId, n), false);
  cols.add("participant_id", memberIdColumn(ids, member, n, opts.idsAsDictionary ?? false), false);
  cols.add("payment_year", i32Column(new Int32Array(n).fill(engine.meta.paymentYear)), false);
  cols.add("model", gl.models.column(model, n), false);
  const hccIdx = new Int32Array(n);
  const hccValid = new Uint8Array((n + 7) >> 3);
  let hccNulls = 0;
  for (let k = 0; k < n; k++) {
    const num = hcc[k]!;
    const mk = model[k]!;
    const ix =
      num < 0 ? undefined : mk < packModels ? labels.hccFactorIndex[mk]?.[num] : gl.foreignHcc[mk - packModels]?.get(num);
    if (ix === undefined) hccNulls++;
    else {
      hccIdx[k] = ix;
      hccValid[k >> 3]! |= 1 << (k & 7);
    }
  }
  cols.add("hcc", gl.hccNames.column(hccIdx, n, hccValid, hccNulls));
  cols.add("action", gl.actions.column(action, n), false);
  cols.add("status", gl.statuses.column(status, n), false);
  cols.add("delta_raw_score", f64Column(dRaw.subarray(0, n)));
  cols.add("delta_normalized_score", f64Column(dNorm.subarray(0, n)));
  cols.add("delta_risk_score", f64Column(dRisk.subarray(0, n)));
  cols.add("delta_payment_score", f64Column(dPay.subarray(0, n)));
  const rate = opts.monthlyBaseRate;
  const annual = new Float64Array(n);
  for (let k = 0; k < n; k++) {
    const x = dPay[k]!;
    annual[k] = rate === null || Number.isNaN(x) ? NaN : Math.round(x * rate * 12 * 100) / 100 + 0;
  }
  cols.add("annual_value", f64Column(annual));
  cols.add("hccs_displaced", displaced.data(), false);
  cols.add("hccs_restored", restored.data(), false);
  cols.add("terms_on", on.data(), false);
  cols.add("terms_off", off.data(), false);
  return { batch: cols.batch(n), members: member.subarray(0, n) };
}

function hasKept(r: BatchResult, i: number, m: number, num: number): boolean {
  const slot = r.slotOf[m] ?? -1;
  if (slot < 0) return false;
  const o = (slot * r.n + i) * 3;
  const start = r.modelI32[o + 1] ?? 0;
  const count = r.modelI32[o + 2] ?? 0;
  for (let k = start; k < start + count; k++) if (r.hccs[k] === num) return true;
  return false;
}
