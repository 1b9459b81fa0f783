// The factor-mode trace records that become risk_score_factors rows (docs/pipeline.md
// "Results"): terms, hierarchy drops and kept HCCs of segments that score none. No Arrow here:
// the BigQuery UDF bundle decodes the same records.
import * as L from "./layout.js";

/**
 * Trace records factor mode can write for n members, nCodes codes and nScored models: per
 * member and model up to 48 variable and divisor terms; per code and model at most 3 dx → CC
 * records (2 crosswalk CCs, 1 edit) and, for each CC those set, one term, unscored or dropped
 * record. The kernel refuses (rc -2) rather than overflow.
 */
export function factorTraceCap(n: number, nCodes: number, nScored: number): number {
  return n * nScored * 48 + nCodes * nScored * 6 + 64;
}

/** The member of a factor-mode record that becomes a risk_score_factors row, or -1. */
function factorRowMember(tr: Int32Array, trF64: Float64Array, k: number): number {
  const W = L.TRACE_STRIDE / 4;
  const kind = tr[k * W] ?? 0;
  if (kind === L.T_HCC_TERM || kind === L.T_VAR_TERM || kind === L.T_DIVISOR || kind === L.T_HCC_UNSCORED)
    return tr[k * W + 3] ?? 0;
  if (kind === L.T_HIER_DROP) return trF64[k * 3 + 2] ?? 0;
  return -1;
}

/** The HCC number a factor-mode HCC record is about (term, unscored or dropped child), or -1. */
function factorRowHcc(tr: Int32Array, k: number): number {
  const W = L.TRACE_STRIDE / 4;
  const kind = tr[k * W] ?? 0;
  if (kind === L.T_HCC_TERM || kind === L.T_HCC_UNSCORED) return tr[k * W + 1] ?? 0;
  if (kind === L.T_HIER_DROP) return tr[k * W + 3] ?? 0;
  return -1;
}

/** The factor_type of an HCC row (a record factorRowHcc names an HCC for). */
export type HccRowType = "hcc" | "hcc_dropped" | "hcc_unscored";
export function hccRowType(tr: Int32Array, k: number): HccRowType {
  return hccRowTypeOfKind(tr[k * (L.TRACE_STRIDE / 4)] ?? 0);
}

/** The factor_type of an HCC row by its record kind (T_HIER_DROP, T_HCC_UNSCORED, else a term). */
export function hccRowTypeOfKind(kind: number): HccRowType {
  return kind === L.T_HIER_DROP ? "hcc_dropped" : kind === L.T_HCC_UNSCORED ? "hcc_unscored" : "hcc";
}

/** The coefficient of a row: the record's value, except a hierarchy drop's (its value is the member). */
export function factorRowCoefficient(tr: Int32Array, trF64: Float64Array, k: number): number {
  return (tr[k * (L.TRACE_STRIDE / 4)] ?? 0) === L.T_HIER_DROP ? 0 : (trF64[k * 3 + 2] ?? 0);
}

/**
 * The dx index (within the member) of trace record j when it is a dx → CC record assigning CC
 * `hcc`, else -1. Callers scan j over a visit's [dxFrom, dxTo).
 */
export function dxAssigning(tr: Int32Array, j: number, hcc: number): number {
  const W = L.TRACE_STRIDE / 4;
  return (tr[j * W] ?? 0) === L.T_DX_CC && (tr[j * W + 3] ?? 0) === hcc ? (tr[j * W + 1] ?? 0) : -1;
}

/**
 * Visit each factor-mode record that becomes a risk_score_factors row, with its member, model,
 * the HCC it is about (-1 for variable and divisor terms) and, for HCC rows, `dxFrom` and `dxTo`:
 * the first dx → CC record of that member and model and one past the last one before the visited
 * record (-1 and -1 when there is none). The kernel writes a member's records contiguously (dx →
 * CC records before that model's hierarchy drops and terms), so the codes behind the HCC are the
 * records in [dxFrom, dxTo) that assign it (dxAssigning); the terms between dxTo and the visited
 * record are not scanned again for each HCC. Shared by the pipeline's factor batches and the UDF's
 * factor arrays; no allocation per record.
 */
export function forEachFactorRecord(
  tr: Int32Array,
  trF64: Float64Array,
  visit: (k: number, member: number, model: number, hcc: number, dxFrom: number, dxTo: number) => void,
): void {
  const W = L.TRACE_STRIDE / 4;
  const nRec = tr.length / W;
  let groupStart = 0; // first record of the current (member, model) run of dx → CC records
  let groupEnd = 0; // one past its last dx → CC record so far
  let groupKey = -1;
  for (let k = 0; k < nRec; k++) {
    const kind = tr[k * W] ?? 0;
    if (kind === L.T_DX_CC) {
      const key = (trF64[k * 3 + 2] ?? 0) * 64 + (tr[k * W + 2] ?? 0);
      if (key !== groupKey) {
        groupKey = key;
        groupStart = k;
      }
      groupEnd = k + 1;
      continue;
    }
    const member = factorRowMember(tr, trF64, k);
    if (member < 0) continue;
    const m = tr[k * W + 2] ?? 0;
    const hcc = factorRowHcc(tr, k);
    const inGroup = hcc >= 0 && groupKey === member * 64 + m;
    visit(k, member, m, hcc, inGroup ? groupStart : -1, inGroup ? groupEnd : -1);
  }
}
