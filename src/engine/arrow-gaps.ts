// The risk_score_gap_values batch (docs/gap-values.md) for one input batch, built from the
// kernel's what-if records with typed arrays and dictionaries, as arrow-results.ts builds
// risk_scores: one row per candidate added, kept HCC removed, and model's candidates added
// together; candidates the kernel could not value get a row with their status and no value.
import { Field, List, Utf8, makeData, type Data, type RecordBatch, type Vector } from "apache-arrow";
import * as L from "./layout.js";
import type { BatchResult } from "./kernel.js";
import type { Engine } from "./engine.js";
import { Columns, Dict, Utf8Appender, f64Column, i32Column, runIdColumn, type LabelBytes } from "./arrow-results.js";
import { GAP_ACTIONS, GAP_STATUSES, delta, type EncodedGaps, type GapAction, type GapStatus } from "./gaps.js";

const enc = new TextEncoder();

export interface GapBatchOptions {
  /** "Every HCC the member lacks": keep only the candidates that would count (status kept). */
  keptOnly: boolean;
  /** Candidates not tied to the member (a list for everyone): no row where the model does not score the member. */
  skipNotScored: boolean;
  /** Monthly base rate in dollars: annual_value = Δ payment score × rate × 12 (null: no column values). */
  monthlyBaseRate: number | null;
  rounded: boolean;
}

/** Dictionaries and pre-encoded names for the gap table, built once per engine. */
export interface GapLabels {
  actions: Dict;
  statuses: Dict;
  /** [model][variable] → UTF-8 name */
  varBytes: Uint8Array[][];
}

export function buildGapLabels(engine: Engine): GapLabels {
  return {
    actions: new Dict(GAP_ACTIONS),
    statuses: new Dict(GAP_STATUSES),
    varBytes: engine.meta.models.map((m) => m.variables.map((v) => enc.encode(v))),
  };
}

class ListColumn {
  readonly items = new Utf8Appender(64, 512);
  offsets: number[] = [0];
  push(): void {
    this.offsets.push(this.items.rows);
  }
  data(): Data {
    return makeData({
      type: new List(new Field("item", new Utf8(), true)),
      length: this.offsets.length - 1,
      nullCount: 0,
      valueOffsets: Int32Array.from(this.offsets),
      child: this.items.finish(),
    });
  }
}

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
): RecordBatch {
  const idData = ids.data[0];
  if (!idData || ids.data.length !== 1) throw new Error("participant_id must be one chunk");
  const idOffsets = idData.valueOffsets as Int32Array;
  const idBytes = idData.values as Uint8Array;
  const step = opts.rounded ? 1e-3 : 1e-12;
  const member: number[] = [];
  const model: number[] = [];
  const hcc: number[] = []; // HCC number, -1 = null
  const action: number[] = [];
  const status: number[] = [];
  const d: number[][] = [[], [], [], []]; // raw, normalized, risk, payment
  const displaced = new ListColumn();
  const restored = new ListColumn();
  const on = new ListColumn();
  const off = new ListColumn();
  const push = (i: number, m: number, num: number, a: GapAction, st: GapStatus, v: (number | null)[]): void => {
    member.push(i);
    model.push(m);
    hcc.push(num);
    action.push(GAP_ACTIONS.indexOf(a));
    status.push(GAP_STATUSES.indexOf(st));
    for (let k = 0; k < 4; k++) d[k]!.push(v[k] ?? NaN);
    displaced.push();
    restored.push();
    on.push();
    off.push();
  };
  const gi = r.gapI;
  const gf = r.gapF;
  const pool = r.gapPool;
  const nRec = gi.length / L.GAP_I_STRIDE;
  const valued = new Uint32Array(r.n); // per member: models with a base record
  let base = -1;
  for (let k = 0; k < nRec; k++) {
    const w = k * L.GAP_I_STRIDE;
    const i = gi[w + L.GAP_I_MEMBER]!;
    const kind = gi[w + L.GAP_I_KIND]!;
    const m = gi[w + L.GAP_I_MODEL]!;
    if (errs[i] !== null) continue; // a value error: the kernel scored defaults; rows below say member_error
    if (kind === L.GK_BASE) {
      base = k;
      valued[i]! |= 1 << m;
      continue;
    }
    const num = gi[w + L.GAP_I_HCC]!;
    let addedKept = false;
    const ds = gi[w + L.GAP_I_DIFF_START]!;
    const de = ds + gi[w + L.GAP_I_DIFF_COUNT]!;
    for (let j = ds; j < de; j++) if (pool[j] === num && kind === L.GK_ADD) addedKept = true;
    let st: GapStatus = "ok";
    if (kind === L.GK_ADD) st = addedKept ? "kept" : hasKept(r, i, m, num) ? "already_kept" : "dominated";
    if (opts.keptOnly && kind === L.GK_ADD && st !== "kept") continue;
    const at = (rec: number, f: number): number | undefined => gf[rec * L.GAP_F_STRIDE + f];
    push(i, m, kind === L.GK_ADD_ALL ? -1 : num, kind === L.GK_ADD ? "add" : kind === L.GK_REMOVE ? "remove" : "add_all", st, [
      delta(at(k, L.GAP_F_RAW), at(base, L.GAP_F_RAW), 1e-12),
      delta(at(k, L.GAP_F_NORMALIZED), at(base, L.GAP_F_NORMALIZED), step),
      delta(at(k, L.GAP_F_RISK), at(base, L.GAP_F_RISK), step),
      delta(at(k, L.GAP_F_PAYMENT), at(base, L.GAP_F_PAYMENT), step),
    ]);
    // the lists of this row (push() closed them empty; reopen by appending before the close)
    const row = member.length - 1;
    const hb = labels.hccBytes[m]!;
    for (let j = ds; j < de; j++) {
      const h = pool[j]!;
      if (h > 0 && !(kind === L.GK_ADD && h === num)) appendItem(restored, row, hb[h]);
      else if (h < 0 && !(kind === L.GK_REMOVE && -h === num)) appendItem(displaced, row, hb[-h]);
    }
    const vs = gi[w + L.GAP_I_VARS_START]!;
    const ve = vs + gi[w + L.GAP_I_VARS_COUNT]!;
    const vb = gl.varBytes[m]!;
    for (let j = vs; j < ve; j++) {
      const v = pool[j]!;
      appendItem(v > 0 ? on : off, row, vb[Math.abs(v) - 1]);
    }
  }
  // candidates without a value: the model did not score the member, or the member has an error
  const cands = gaps.request.candidates;
  const offs = gaps.request.offsets;
  if (offs && (gaps.request.options & L.OPT_GAP_ADD) !== 0) {
    for (let i = 0; i < r.n; i++) {
      for (let c = offs[i]!; c < offs[i + 1]!; c++) {
        const m = cands[c * L.GAP_IN_STRIDE]!;
        if ((valued[i]! & (1 << m)) !== 0) continue;
        const num = engine.meta.models[m]!.ccNumbers[cands[c * L.GAP_IN_STRIDE + 1]!]!;
        const st: GapStatus = errs[i] !== null ? "member_error" : "not_scored";
        if (!opts.keptOnly && !(opts.skipNotScored && st === "not_scored")) push(i, m, num, "add", st, []);
      }
    }
  }
  for (const x of gaps.rejected) {
    const m = engine.meta.models.findIndex((mm) => mm.id === x.model);
    if (m >= 0 && !opts.keptOnly) push(x.member, m, x.hcc, "add", errs[x.member] !== null ? "member_error" : x.status, []);
  }
  // unknown models cannot be a dictionary entry: they are rejected at parse time (encodeGaps keeps them out)
  const n = member.length;
  const cols = new Columns();
  cols.add("run_id", runIdColumn(runId, n), false);
  const pid = new Utf8Appender(n, n * 12);
  for (const i of member) pid.append(idBytes, idOffsets[i]!, idOffsets[i + 1]!);
  cols.add("participant_id", pid.finish(), false);
  cols.add("payment_year", i32Column(new Int32Array(n).fill(engine.meta.paymentYear)), false);
  cols.add("model", labels.models.column(Int32Array.from(model), n), false);
  const hccIdx = new Int32Array(n);
  const hccValid = new Uint8Array((n + 7) >> 3);
  let hccNulls = 0;
  for (let k = 0; k < n; k++) {
    const num = hcc[k]!;
    const ix = num >= 0 ? labels.hccFactorIndex[model[k]!]?.[num] : undefined;
    if (ix === undefined) hccNulls++;
    else {
      hccIdx[k] = ix;
      hccValid[k >> 3]! |= 1 << (k & 7);
    }
  }
  cols.add("hcc", labels.factorNames.column(hccIdx, n, hccValid, hccNulls));
  cols.add("action", gl.actions.column(Int32Array.from(action), n), false);
  cols.add("status", gl.statuses.column(Int32Array.from(status), n), false);
  const names = ["delta_raw_score", "delta_normalized_score", "delta_risk_score", "delta_payment_score"];
  names.forEach((name, k) => cols.add(name, f64Column(Float64Array.from(d[k]!))));
  const rate = opts.monthlyBaseRate;
  cols.add(
    "annual_value",
    f64Column(Float64Array.from(d[3]!, (x) => (rate === null || Number.isNaN(x) ? NaN : Math.round(x * rate * 12 * 100) / 100))),
  );
  cols.add("hccs_displaced", displaced.data(), false);
  cols.add("hccs_restored", restored.data(), false);
  cols.add("terms_on", on.data(), false);
  cols.add("terms_off", off.data(), false);
  return cols.batch(n);
}

/** Append an item to the list of the row just pushed (its closing offset moves with it). */
function appendItem(col: ListColumn, row: number, bytes: Uint8Array | undefined): void {
  if (!bytes) return;
  col.items.append(bytes, 0, bytes.length);
  col.offsets[row + 1] = col.items.rows;
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
