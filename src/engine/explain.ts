// Decode the kernel's trace records (layout.ts T_*) into a step-by-step explanation.
import * as L from "./layout.js";
import type { BatchResult } from "./kernel.js";
import type { PackMeta } from "./pack-builder.js";
import type { OutputRecord } from "./engine.js";

export interface DxStep {
  code: string;
  normalized: string | null;
  status: "mapped" | "unmapped" | "malformed";
  ccs: { model: string; cc: string; via: "crosswalk" | "edit" }[];
  /** Each edit that fired on this code: the code it applied to, the rule in words, its source. */
  edits: { model: string; code: string; rule: string; action: string; source: string; mce: boolean }[];
}

export interface ModelStep {
  model: string;
  segment: string | null;
  segmentLabel: string | null;
  zeroedBeforeHierarchy: string[];
  dropped: { hcc: string; by: string }[];
  hccs: string[];
  factors: { factor: string; kind: "hcc" | "variable" | "divisor"; coefficient: number; label?: string }[];
  rawScore: number | null;
  normalizedScore: number | null;
}

export interface Explanation {
  paymentYear: number;
  age: number;
  dx: DxStep[];
  models: ModelStep[];
  population: { part: string; name: string; source: string }[];
  record: OutputRecord;
}

export function decodeExplanation(
  meta: PackMeta,
  r: BatchResult,
  codes: readonly (string | null)[],
  record: OutputRecord,
  age: number,
): Explanation {
  const dx: DxStep[] = codes.map((c) => ({ code: c ?? "", normalized: null, status: "malformed", ccs: [], edits: [] }));
  const models = new Map<number, ModelStep>();
  const step = (m: number): ModelStep => {
    let s = models.get(m);
    if (!s) {
      s = {
        model: meta.models[m]?.id ?? String(m),
        segment: null,
        segmentLabel: null,
        zeroedBeforeHierarchy: [],
        dropped: [],
        hccs: [],
        factors: [],
        rawScore: null,
        normalizedScore: null,
      };
      models.set(m, s);
    }
    return s;
  };
  const pops = new Set<number>();
  const words = L.TRACE_STRIDE / 4;
  const n = r.trace.length / words;
  for (let k = 0; k < n; k++) {
    const kind = r.trace[k * words] ?? 0;
    const a = r.trace[k * words + 1] ?? 0;
    const b = r.trace[k * words + 2] ?? 0;
    const c = r.trace[k * words + 3] ?? 0;
    const v = r.traceF64[(k * L.TRACE_STRIDE + 16) / 8] ?? 0;
    const mm = meta.models[b];
    const pre = mm?.hccPrefix ?? "HCC";
    switch (kind) {
      case L.T_DX: {
        const d = dx[a];
        if (!d) break;
        d.status = b >= 0 ? "mapped" : b === -1 ? "unmapped" : "malformed";
        d.normalized = b >= 0 ? (meta.codes[b] ?? null) : b === -1 ? d.code.replace(/[.\s]/g, "").toUpperCase() : null;
        break;
      }
      case L.T_DX_CC:
        dx[a]?.ccs.push({ model: mm?.id ?? "", cc: `${pre}${c}`, via: v === 1 ? "edit" : "crosswalk" });
        break;
      case L.T_EDIT: {
        const d = dx[a];
        const rule = mm?.edits[mm.editRecordRule[c] ?? -1];
        d?.edits.push({
          model: mm?.id ?? "",
          code: d.normalized ?? d.code,
          rule: rule?.note ?? "",
          action: rule?.action ?? "",
          source: rule?.source ?? "",
          mce: rule?.mce ?? false,
        });
        break;
      }
      case L.T_PRE_ZERO:
        step(b).zeroedBeforeHierarchy.push(`${pre}${c}`);
        break;
      case L.T_HIER_DROP:
        step(b).dropped.push({ hcc: `${pre}${c}`, by: `${pre}${a}` });
        break;
      case L.T_SEGMENT:
        step(b).segment = mm?.segments[c]?.id ?? null;
        step(b).segmentLabel = mm?.segments[c]?.label ?? null;
        break;
      case L.T_HCC_TERM: {
        const label = mm?.labels.get(a);
        step(b).factors.push({ factor: `${pre}${a}`, kind: "hcc", coefficient: v, ...(label ? { label } : {}) });
        step(b).hccs.push(`${pre}${a}`);
        break;
      }
      case L.T_VAR_TERM:
        step(b).factors.push({ factor: mm?.variables[a] ?? String(a), kind: "variable", coefficient: v });
        break;
      case L.T_DIVISOR:
        step(b).factors.push({ factor: mm?.variables[a] ?? String(a), kind: "divisor", coefficient: v });
        break;
      case L.T_RAW:
        step(b).rawScore = v;
        break;
      case L.T_NORMALIZED:
        step(b).normalizedScore = v;
        pops.add(c);
        break;
      case L.T_RISK:
        pops.add(c);
        break;
      default:
        break;
    }
  }
  // HCCs kept when the segment does not score HCCs come from the record
  for (const s of models.values()) {
    const col = record[`${s.model.toLowerCase()}_hccs`];
    if (Array.isArray(col)) s.hccs = col as string[];
  }
  return {
    paymentYear: meta.paymentYear,
    age,
    dx,
    models: [...models.values()],
    population: [...pops].map((p) => {
      const pm = meta.populations[p];
      return { part: pm?.part ?? "", name: pm?.name ?? "", source: pm?.source ?? "" };
    }),
    record,
  };
}
