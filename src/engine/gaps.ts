// Gap values (docs/gap-values.md): the exact change in a member's scores from adding a
// candidate HCC alone, removing a kept HCC alone, or adding every candidate together, computed
// by the kernel in the same batch as the base scoring (assembly/gaps.ts). This module turns
// (model, HCC number) candidates into the kernel's (model index, CC index) pairs and the
// kernel's records back into deltas.
import * as L from "./layout.js";
import type { BatchResult, GapRequest } from "./kernel.js";
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
 * member_error (the member has an error row).
 */
export type GapStatus = "kept" | "dominated" | "already_kept" | "ok" | "unknown_hcc" | "not_scored" | "member_error";

export const GAP_STATUSES: readonly GapStatus[] = [
  "kept",
  "dominated",
  "already_kept",
  "ok",
  "unknown_hcc",
  "not_scored",
  "member_error",
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
        rejected.push({ member: i, model: id, hcc: c.hcc, status: "unknown_hcc" });
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

const ACTIONS: Record<number, GapAction> = { [L.GK_ADD]: "add", [L.GK_REMOVE]: "remove", [L.GK_ADD_ALL]: "add_all" };

const finite = (x: number | undefined): number | null => (x === undefined || Number.isNaN(x) ? null : x);
/**
 * after − before, snapped to `step` (1e-3 for scores rounded to 3 decimals, where the difference
 * of two such values is a multiple of 0.001 up to binary noise; 1e-12 for full precision).
 */
export const delta = (after: number | undefined, before: number | undefined, step: number): number | null => {
  const a = finite(after);
  const b = finite(before);
  if (a === null || b === null) return null;
  // an integer count of steps divided by 1/step: the double nearest to the decimal (no -0)
  const inv = Math.round(1 / step);
  return Math.round((a - b) * inv) / inv + 0;
};

/**
 * The kernel's what-if records as values, in kernel order (per member, per model: adds in
 * candidate order, removes in HCC order, then add-all). `memberOk(i)`: false for members with an
 * error (they get no kernel records; their candidates come back as member_error).
 */
export function decodeGaps(
  meta: PackMeta,
  r: BatchResult,
  enc: EncodedGaps,
  memberOk: (i: number) => boolean,
  rounded: boolean,
): GapValue[] {
  const step = rounded ? 1e-3 : 1e-12;
  const out: GapValue[] = [];
  const gi = r.gapI;
  const gf = r.gapF;
  const pool = r.gapPool;
  const nRec = gi.length / L.GAP_I_STRIDE;
  let base = -1;
  for (let k = 0; k < nRec; k++) {
    const w = k * L.GAP_I_STRIDE;
    const kind = gi[w + L.GAP_I_KIND]!;
    if (kind === L.GK_BASE) {
      base = k;
      continue;
    }
    const mi = gi[w + L.GAP_I_MODEL]!;
    const mm = meta.models[mi]!;
    const label = (num: number): string => `${mm.hccPrefix}${num}`;
    const num = gi[w + L.GAP_I_HCC]!;
    const hcc = num >= 0 ? label(num) : null;
    const displaced: string[] = [];
    const restored: string[] = [];
    let addedKept = false;
    const ds = gi[w + L.GAP_I_DIFF_START]!;
    for (let j = ds; j < ds + gi[w + L.GAP_I_DIFF_COUNT]!; j++) {
      const h = pool[j]!;
      if (h > 0 && h === num && kind === L.GK_ADD) addedKept = true;
      else if (h > 0) restored.push(label(h));
      else if (!(kind === L.GK_REMOVE && -h === num)) displaced.push(label(-h));
    }
    const termsOn: string[] = [];
    const termsOff: string[] = [];
    const vs = gi[w + L.GAP_I_VARS_START]!;
    for (let j = vs; j < vs + gi[w + L.GAP_I_VARS_COUNT]!; j++) {
      const v = pool[j]!;
      (v > 0 ? termsOn : termsOff).push(mm.variables[Math.abs(v) - 1] ?? String(Math.abs(v) - 1));
    }
    const at = (rec: number, f: number): number | undefined => gf[rec * L.GAP_F_STRIDE + f];
    let status: GapStatus = "ok";
    if (kind === L.GK_ADD) {
      const member = gi[w + L.GAP_I_MEMBER]!;
      const kept = keptHccs(r, member, mi);
      status = kept.has(num) ? "already_kept" : addedKept ? "kept" : "dominated";
    }
    out.push({
      member: gi[w + L.GAP_I_MEMBER]!,
      model: mm.id,
      hcc,
      action: ACTIONS[kind] ?? "add",
      status,
      delta_raw_score: delta(at(k, L.GAP_F_RAW), at(base, L.GAP_F_RAW), 1e-12),
      delta_normalized_score: delta(at(k, L.GAP_F_NORMALIZED), at(base, L.GAP_F_NORMALIZED), step),
      delta_risk_score: delta(at(k, L.GAP_F_RISK), at(base, L.GAP_F_RISK), step),
      delta_payment_score: delta(at(k, L.GAP_F_PAYMENT), at(base, L.GAP_F_PAYMENT), step),
      hccs_displaced: displaced,
      hccs_restored: restored,
      terms_on: termsOn,
      terms_off: termsOff,
    });
  }
  // candidates the kernel did not value: unknown, unscored, or the member had no segment/error
  const valued = new Set(out.map((g) => `${g.member}\u0000${g.model}\u0000${g.hcc ?? ""}\u0000${g.action}`));
  const cands = enc.request.candidates;
  const offs = enc.request.offsets;
  if ((enc.request.options & L.OPT_GAP_ADD) !== 0 && offs) {
    for (let i = 0; i + 1 < offs.length; i++) {
      for (let c = offs[i]!; c < offs[i + 1]!; c++) {
        const mm = meta.models[cands[c * L.GAP_IN_STRIDE]!]!;
        const num = mm.ccNumbers[cands[c * L.GAP_IN_STRIDE + 1]!]!;
        const hcc = `${mm.hccPrefix}${num}`;
        if (valued.has(`${i}\u0000${mm.id}\u0000${hcc}\u0000add`)) continue;
        out.push(emptyValue(i, mm.id, hcc, memberOk(i) ? "not_scored" : "member_error"));
      }
    }
  }
  for (const x of enc.rejected) {
    const mm = meta.models.find((m) => m.id === x.model);
    out.push(emptyValue(x.member, x.model, `${mm?.hccPrefix ?? "HCC"}${x.hcc}`, memberOk(x.member) ? x.status : "member_error"));
  }
  return out;
}

/** A what-if without a value (status says why). */
export function emptyValue(
  member: number,
  model: string,
  hcc: string | null,
  status: GapStatus,
  action: GapAction = "add",
): GapValue {
  return {
    member,
    model,
    hcc,
    action,
    status,
    delta_raw_score: null,
    delta_normalized_score: null,
    delta_risk_score: null,
    delta_payment_score: null,
    hccs_displaced: [],
    hccs_restored: [],
    terms_on: [],
    terms_off: [],
  };
}

/** HCC numbers model `m` kept for member i in the base scoring. */
function keptHccs(r: BatchResult, i: number, m: number): Set<number> {
  const slot = r.slotOf[m] ?? -1;
  if (slot < 0) return new Set();
  const o = (slot * r.n + i) * 3;
  const start = r.modelI32[o + 1] ?? 0;
  const count = r.modelI32[o + 2] ?? 0;
  return new Set(r.hccs.subarray(start, start + count));
}

/** Where a batch's candidates come from (hcc score --gaps). */
export type GapSource =
  | { kind: "column" } // the member batch's gap_candidates column: "V28:17" items joined by U+001F
  | { kind: "list"; candidates: readonly GapCandidate[] } // the same for every member
  | { kind: "lacking" }; // every HCC of the scored models (the rows keep those that would count)

/**
 * Candidates for a batch of n members, in the kernel's form. Column items name a model the
 * payment year does not have, or no HCC, are rejected with unknown_hcc (a row says so).
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
        rejected.push({ member: i, model: m === undefined ? id : meta.models[m]!.id, hcc: num, status: "unknown_hcc" });
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
