// Gap values (docs/gap-values.md): the exact change in a member's scores from adding a
// candidate HCC alone, removing a kept HCC alone, or adding every candidate together, computed
// by the kernel in the same batch as the base scoring (assembly/gaps.ts). This module turns
// (model, HCC number) candidates into the kernel's (model index, CC index) pairs and the
// kernel's records back into deltas.
import * as L from "./layout.js";
import type { RecordBatch, Utf8, Vector } from "apache-arrow";
import type { GapRequest } from "./kernel.js";
import type { PackMeta } from "./pack-builder.js";
import { UsageError } from "../errors.js";

export interface GapCandidate {
  /** Model id as in the pack (V28, V24, ESRD24, RX08, …). */
  model: string;
  /** HCC number in that model. */
  hcc: number;
}

export type GapAction = "add" | "remove" | "add_all";

/**
 * Why a what-if has the value it has. add: kept (the HCC counts once added), dominated (a kept
 * HCC above it in a hierarchy, or a model rule, drops it), already_kept (the member has it);
 * remove/add_all: ok. No value: unknown_hcc (not an HCC of the model this payment year),
 * not_scored (the model does not score this member: not in its population, or no segment),
 * member_error (the member has an error row), model_not_scored (the payment year has no such
 * model at all, e.g. V24 in PY2027).
 */
export type GapStatus =
  | "kept"
  | "dominated"
  | "already_kept"
  | "ok"
  | "unknown_hcc"
  | "not_scored"
  | "member_error"
  | "model_not_scored";

export const GAP_STATUSES: readonly GapStatus[] = [
  "kept",
  "dominated",
  "already_kept",
  "ok",
  "unknown_hcc",
  "not_scored",
  "member_error",
  "model_not_scored",
];
export const GAP_ACTIONS: readonly GapAction[] = ["add", "remove", "add_all"];

export interface GapValue {
  /** Index of the member in the batch. */
  member: number;
  model: string;
  /** "HCC17"-style label; null for add_all. */
  hcc: string | null;
  action: GapAction;
  status: GapStatus;
  delta_raw_score: number | null;
  delta_normalized_score: number | null;
  /** Change in the risk score of the population that blends the model (Part C or D). */
  delta_risk_score: number | null;
  delta_payment_score: number | null;
  /** Kept before, not after (besides the HCC removed). */
  hccs_displaced: string[];
  /** Kept after, not before (besides the HCC added). */
  hccs_restored: string[];
  /** Model terms (interactions, count variables, …) that apply after and not before, and vice versa. */
  terms_on: string[];
  terms_off: string[];
}

export interface GapOptions {
  add: boolean;
  remove: boolean;
  all: boolean;
}

/** Candidates in the kernel's form plus the ones the kernel cannot value (with why). */
export interface EncodedGaps {
  request: GapRequest;
  rejected: { member: number; model: string; hcc: number; status: GapStatus }[];
}

/**
 * Parse a gap list as users write it: `HCC17,V28:HCC85,RX08:45`. A bare HCC applies to every
 * scored model that has it; a model prefix pins it. Returns candidates per scored model.
 */
export function parseGapList(text: string, meta: PackMeta, scoredModels: readonly number[]): GapCandidate[] {
  const out: GapCandidate[] = [];
  for (const raw of text.split(",")) {
    const item = raw.trim();
    if (item === "") continue;
    const m = /^(?:([A-Za-z0-9]+)[:/])?([A-Za-z]*)(\d+)$/.exec(item);
    if (!m) throw new UsageError(`--gaps: "${item}" is not an HCC (write HCC17, 17 or V28:HCC17)`);
    const model = m[1]?.toUpperCase();
    const prefix = m[2]!.toUpperCase();
    const hcc = Number(m[3]);
    const models = scoredModels
      .map((i) => meta.models[i]!)
      .filter((mm) => (model ? mm.id === model : prefix === "" || mm.hccPrefix.toUpperCase() === prefix));
    if (model && models.length === 0) {
      throw new UsageError(
        `--gaps: model ${model} is not scored for PY${meta.paymentYear} (scored: ${scoredModels.map((i) => meta.models[i]!.id).join(", ")})`,
      );
    }
    const having = models.filter((mm) => mm.ccNumbers.includes(hcc));
    if (having.length === 0) {
      throw new UsageError(
        `--gaps: ${item} is not an HCC of ${models.map((mm) => mm.id).join(" or ") || "any scored model"} for PY${meta.paymentYear}`,
      );
    }
    for (const mm of having) out.push({ model: mm.id, hcc });
  }
  return out;
}

/** Kernel option bits for the requested what-ifs. */
export function gapOptionBits(o: GapOptions): number {
  return (o.add ? L.OPT_GAP_ADD : 0) | (o.remove ? L.OPT_GAP_REMOVE : 0) | (o.all ? L.OPT_GAP_ALL : 0);
}

/** Translate per-member candidates to the kernel's pairs; unknown ones are returned, not sent. */
export function encodeGaps(
  meta: PackMeta,
  scoredModels: readonly number[],
  perMember: readonly (readonly GapCandidate[])[],
  opts: GapOptions,
): EncodedGaps {
  const modelIndex = new Map(meta.models.map((m, i) => [m.id, i]));
  const scored = new Set(scoredModels);
  const ccIndex = meta.models.map((m) => new Map(m.ccNumbers.map((num, i) => [num, i])));
  const n = perMember.length;
  const offsets = new Int32Array(n + 1);
  let total = 0;
  for (const c of perMember) total += c.length;
  const pairs = new Int32Array(total * L.GAP_IN_STRIDE);
  const rejected: EncodedGaps["rejected"] = [];
  let k = 0;
  for (let i = 0; i < n; i++) {
    offsets[i] = k;
    const seen = new Set<string>();
    for (const c of perMember[i] ?? []) {
      const id = c.model.toUpperCase();
      const key = `${id}\u0000${c.hcc}`;
      if (seen.has(key)) continue;
      seen.add(key);
      const m = modelIndex.get(id);
      const cc = m === undefined ? undefined : ccIndex[m]?.get(c.hcc);
      if (m === undefined || cc === undefined) {
        rejected.push({ member: i, model: id, hcc: c.hcc, status: m === undefined ? "model_not_scored" : "unknown_hcc" });
        continue;
      }
      if (!scored.has(m)) {
        rejected.push({ member: i, model: id, hcc: c.hcc, status: "not_scored" });
        continue;
      }
      pairs[k * L.GAP_IN_STRIDE] = m;
      pairs[k * L.GAP_IN_STRIDE + 1] = cc;
      k++;
    }
  }
  offsets[n] = k;
  return {
    request: { options: gapOptionBits(opts), candidates: pairs.subarray(0, k * L.GAP_IN_STRIDE), offsets },
    rejected,
  };
}

/**
 * The rows of a risk_score_gap_values batch (arrow-gaps.ts, the one decoder of the kernel's
 * what-if records) as values; `members[k]` is row k's member index in the scored batch.
 */
export function gapValuesOf(batch: RecordBatch, members: Int32Array): GapValue[] {
  const col = (name: string): Vector => {
    const c = batch.getChild(name);
    if (!c) throw new Error(`gap values batch has no ${name} column`);
    return c;
  };
  const [model, hcc, action, status, dRaw, dNorm, dRisk, dPay, displaced, restored, on, off] = [
    "model",
    "hcc",
    "action",
    "status",
    "delta_raw_score",
    "delta_normalized_score",
    "delta_risk_score",
    "delta_payment_score",
    "hccs_displaced",
    "hccs_restored",
    "terms_on",
    "terms_off",
  ].map(col);
  const list = (v: Vector, k: number): string[] => [...((v.get(k) as Vector<Utf8> | null) ?? [])] as string[];
  const out: GapValue[] = [];
  for (let k = 0; k < batch.numRows; k++) {
    out.push({
      member: members[k]!,
      model: model!.get(k) as string,
      hcc: hcc!.get(k) as string | null,
      action: action!.get(k) as GapAction,
      status: status!.get(k) as GapStatus,
      delta_raw_score: dRaw!.get(k) as number | null,
      delta_normalized_score: dNorm!.get(k) as number | null,
      delta_risk_score: dRisk!.get(k) as number | null,
      delta_payment_score: dPay!.get(k) as number | null,
      hccs_displaced: list(displaced!, k),
      hccs_restored: list(restored!, k),
      terms_on: list(on!, k),
      terms_off: list(off!, k),
    });
  }
  return out;
}

/** Where a batch's candidates come from (hcc score --gaps). */
export type GapSource =
  | { kind: "column" } // the member batch's gap_candidates column: "V28:17" items joined by U+001F
  | { kind: "list"; candidates: readonly GapCandidate[] } // the same for every member
  | { kind: "lacking" }; // every HCC of the scored models (the rows keep those that would count)

/**
 * Candidates for a batch of n members, in the kernel's form. Column items name a model the
 * payment year does not have are rejected with model_not_scored, items naming no HCC of the model
 * with unknown_hcc (a row says so).
 */
export function batchCandidates(
  meta: PackMeta,
  scoredModels: readonly number[],
  src: GapSource,
  n: number,
  column: { offsets: Int32Array; bytes: Uint8Array; valid: Uint8Array | null } | null,
): EncodedGaps {
  const modelIndex = new Map(meta.models.map((m, i) => [m.id, i]));
  const ccIndex = meta.models.map((m) => new Map(m.ccNumbers.map((num, i) => [num, i])));
  const scored = new Set(scoredModels);
  const pairs: number[] = [];
  const offsets = new Int32Array(n + 1);
  const rejected: EncodedGaps["rejected"] = [];
  const fixed: number[] = [];
  if (src.kind === "list") {
    for (const c of src.candidates) {
      const m = modelIndex.get(c.model.toUpperCase());
      const cc = m === undefined ? undefined : ccIndex[m]?.get(c.hcc);
      if (m === undefined || cc === undefined)
        throw new UsageError(`--gaps: ${c.model}:HCC${c.hcc} is not an HCC of PY${meta.paymentYear}`);
      if (scored.has(m)) fixed.push(m, cc);
    }
  } else if (src.kind === "lacking") {
    for (const m of scoredModels) meta.models[m]!.ccNumbers.forEach((_, cc) => fixed.push(m, cc));
  }
  for (let i = 0; i < n; i++) {
    offsets[i] = pairs.length / L.GAP_IN_STRIDE;
    if (src.kind !== "column") {
      for (const x of fixed) pairs.push(x);
      continue;
    }
    if (!column || (column.valid && ((column.valid[i >> 3] ?? 0) & (1 << (i & 7))) === 0)) continue;
    const seen = new Set<number>();
    let s = column.offsets[i]!;
    const e = column.offsets[i + 1]!;
    while (s < e) {
      let t = s;
      while (t < e && column.bytes[t] !== 0x1f) t++;
      let colon = s;
      while (colon < t && column.bytes[colon] !== 0x3a) colon++;
      const id = String.fromCharCode(...column.bytes.subarray(s, colon));
      const num = Number(String.fromCharCode(...column.bytes.subarray(colon + 1, t)));
      s = t + 1;
      const m = modelIndex.get(id);
      const cc = m === undefined ? undefined : ccIndex[m]?.get(num);
      if (m === undefined || cc === undefined || !Number.isInteger(num)) {
        rejected.push({
          member: i,
          model: m === undefined ? id : meta.models[m]!.id,
          hcc: num,
          status: m === undefined ? "model_not_scored" : "unknown_hcc",
        });
        continue;
      }
      if (!scored.has(m)) {
        rejected.push({ member: i, model: meta.models[m]!.id, hcc: num, status: "not_scored" });
        continue;
      }
      const key = (m << 16) | cc;
      if (seen.has(key)) continue;
      seen.add(key);
      pairs.push(m, cc);
    }
  }
  offsets[n] = pairs.length / L.GAP_IN_STRIDE;
  return { request: { options: 0, candidates: Int32Array.from(pairs), offsets }, rejected };
}
