// Engine API: a payment year's pack in a kernel; score batches, explain one member.
// Pure: the caller provides the compiled Wasm module and the pack (src/load.ts does I/O).
import * as L from "./layout.js";
import { Kernel, type BatchResult, type EncodedBatch, type FactorTables } from "./kernel.js";
import type { Pack, PackMeta } from "./pack-builder.js";
import { membersToBatch, parseDateDays, type MemberInput } from "./member.js";
import { decodeExplanation, type Explanation } from "./explain.js";
import { UsageError } from "../errors.js";
import { Utf8, type RecordBatch } from "apache-arrow";
import { encodeArrowBatch } from "./arrow-encode.js";
import {
  buildFactorTables,
  buildFactorsBatch,
  buildLabelBytes,
  buildScoresBatch,
  errorsOf,
  type LabelBytes,
} from "./arrow-results.js";
import { factorTraceCap } from "./factor-records.js";
import { KERNEL_ERRORS } from "./kernel-errors.js";
import {
  batchCandidates,
  encodeGaps,
  gapValuesOf,
  gapOptionBits,
  type GapCandidate,
  type GapOptions,
  type GapSource,
  type GapValue,
} from "./gaps.js";
import { buildGapLabels, buildGapValuesBatch, type ForeignModel, type GapLabels } from "./arrow-gaps.js";

/** Gap values in batch scoring (hcc score --gaps; docs/gap-values.md). */
export interface BatchGapOptions extends GapOptions {
  source: GapSource;
  /** Monthly base rate in dollars for annual_value (null: annual_value is null). */
  monthlyBaseRate: number | null;
  /** Models the candidates name that the payment year does not have: model_not_scored rows (arrow-gaps.ts). */
  foreignModels?: readonly ForeignModel[];
}

export interface EngineOptions {
  /** Model ids to score (e.g. ["V28"]); empty or undefined = what the payment year uses. */
  models?: readonly string[];
  /** Apply MCE plausibility edits where the data has them (default true). */
  mceEdits?: boolean;
  /** "round3" (CMS reporting, default) or "none" (full precision). */
  rounding?: "round3" | "none";
}

export interface OutputRecord {
  member_id: string;
  payment_year: number;
  risk_score: number | null;
  payment_score: number | null;
  rx_risk_score: number | null;
  [model: string]: unknown;
  dx_malformed: number;
  dx_unmapped: number;
  edits_applied: number;
  error: string | null;
  orec_default: boolean;
  dual_default: boolean;
  rx_plan_default: boolean;
}

export { KERNEL_ERRORS };

export interface ExplainedGaps {
  /** What each kept HCC is worth: the change if it were not recaptured (removed alone). */
  kept_hcc_values: GapValue[];
  /** Each named gap: per model, and for the payment year's blend. */
  gaps: { gap: string; models: GapValue[]; blend: { delta_risk_score: number | null; delta_payment_score: number | null } }[];
  /** Every named gap added together (not the sum of the singles). */
  together: { delta_risk_score: number | null; delta_payment_score: number | null } | null;
}

const blendOf = (v: GapValue): { delta_risk_score: number | null; delta_payment_score: number | null } => ({
  delta_risk_score: v.delta_risk_score,
  delta_payment_score: v.delta_payment_score,
});

export class Engine {
  readonly meta: PackMeta;
  readonly kernel: Kernel;
  readonly modelMask: number;
  readonly options: number;
  readonly asOfDays: number;
  readonly scoredModels: number[];

  constructor(module: WebAssembly.Module, pack: Pack, opts: EngineOptions = {}) {
    this.meta = pack.meta;
    this.kernel = new Kernel(module, pack.bytes);
    let mask = 0;
    for (const id of opts.models ?? []) {
      const i = pack.meta.models.findIndex((m) => m.id === id.toUpperCase());
      if (i < 0) {
        throw new UsageError(
          `model ${id} is not available for PY${pack.meta.paymentYear} (have ${pack.meta.models.map((m) => m.id).join(", ")})`,
        );
      }
      mask |= 1 << i;
    }
    this.modelMask = mask;
    this.options = (opts.mceEdits === false ? 0 : L.OPT_MCE) | (opts.rounding === "none" ? 0 : L.OPT_ROUND3);
    const asOf = parseDateDays(pack.meta.asOf);
    if (asOf === null) throw new UsageError(`bad as-of date ${pack.meta.asOf}`);
    this.asOfDays = asOf;
    // models that can appear in output: requested, or any the payment year's populations use
    const used = new Set<number>();
    if (mask !== 0) pack.meta.models.forEach((_, i) => (mask & (1 << i)) !== 0 && used.add(i));
    else for (const p of pack.meta.populations) for (const m of p.models) used.add(m);
    this.scoredModels = [...used].sort((a, b) => a - b);
  }

  /** Column prefix of a model in output records: V28 → v28, ESRD24 → esrd24. */
  static columnPrefix(id: string): string {
    return id.toLowerCase();
  }

  scoreEncoded(batch: EncodedBatch): BatchResult {
    return this.kernel.score(batch, {
      modelMask: this.modelMask,
      options: this.options,
      asOfDays: this.asOfDays,
      models: this.scoredModels,
    });
  }

  /** Score member records; one output record per input, in order. */
  scoreMembers(members: readonly MemberInput[]): OutputRecord[] {
    const { batch, errors } = encodeArrowBatch(membersToBatch(members).batch);
    const r = this.scoreEncoded(batch);
    return members.map((m, i) => this.decodeRecord(r, i, m.member_id, errors[i] ?? null));
  }

  /** One output record from kernel results; `valueError` (input parsing) wins over scores. */
  decodeRecord(r: BatchResult, i: number, memberId: string, valueError: string | null): OutputRecord {
    const f = r.memberF64;
    const mi = r.memberI32;
    const ib = i * L.NOUT_I;
    const kErr = mi[ib + L.OUT_ERROR] ?? 0;
    const error = valueError ?? (kErr !== 0 ? (KERNEL_ERRORS[kErr] ?? `error ${kErr}`) : null);
    const flags = mi[ib + L.OUT_FLAGS] ?? 0;
    const num = (x: number | undefined): number | null => (error !== null || x === undefined || Number.isNaN(x) ? null : x);
    const rec: OutputRecord = {
      member_id: memberId,
      payment_year: this.meta.paymentYear,
      risk_score: num(f[i * L.NOUT_F + L.OUT_RISK]),
      payment_score: num(f[i * L.NOUT_F + L.OUT_PAYMENT]),
      rx_risk_score: num(f[i * L.NOUT_F + L.OUT_RX_RISK]),
      dx_malformed: mi[ib + L.OUT_DX_MALFORMED] ?? 0,
      dx_unmapped: mi[ib + L.OUT_DX_UNMAPPED] ?? 0,
      edits_applied: mi[ib + L.OUT_EDITS] ?? 0,
      error,
      orec_default: (flags & L.FLAG_OREC_DEFAULT) !== 0,
      dual_default: (flags & L.FLAG_DUAL_DEFAULT) !== 0,
      rx_plan_default: (flags & L.FLAG_RX_PLAN_DEFAULT) !== 0,
    };
    for (const m of this.scoredModels) {
      const meta = this.meta.models[m];
      if (!meta) continue;
      const p = Engine.columnPrefix(meta.id);
      const at = (r.slotOf[m] ?? 0) * r.n + i;
      const o = at * 3;
      const seg = r.modelI32[o] ?? -1;
      const start = r.modelI32[o + 1] ?? 0;
      const count = r.modelI32[o + 2] ?? 0;
      const raw = r.modelF64[at * 2];
      const norm = r.modelF64[at * 2 + 1];
      rec[`${p}_raw_score`] = num(raw);
      rec[`${p}_normalized_score`] = num(norm);
      rec[`${p}_segment`] = error === null && seg >= 0 ? (meta.segments[seg]?.id ?? null) : null;
      rec[`${p}_hccs`] =
        error === null && seg >= 0 ? Array.from(r.hccs.subarray(start, start + count), (h) => `${meta.hccPrefix}${h}`) : null;
    }
    return rec;
  }

  private labelBytes: LabelBytes | undefined;
  private factorTables: FactorTables | undefined;
  private gapLabels: { key: string; labels: GapLabels } | undefined;

  /**
   * Score an Arrow member batch (docs/pipeline.md) into a risk_scores batch and, with
   * `factors`, a risk_score_factors batch. No JS string per member or code on this path
   * (error messages excepted).
   */
  scoreArrowBatch(
    rb: RecordBatch,
    runId: string,
    opts: { factors: boolean; gaps?: BatchGapOptions | null; idsAsDictionary?: boolean; hccsAsDictionary?: boolean },
  ): { scores: RecordBatch; factors: RecordBatch | null; gapValues: RecordBatch | null } {
    const { batch, errors } = encodeArrowBatch(rb);
    const ids = rb.getChild("participant_id");
    if (!ids) throw new UsageError("member batch has no participant_id column");
    this.labelBytes ??= buildLabelBytes(this);
    const nScored = Math.max(1, this.scoredModels.length);
    const nCodes = batch.memberOffsets[batch.n] ?? 0;
    const g = opts.gaps ?? null;
    let gaps = null;
    if (g) {
      const col = rb.getChild("gap_candidates")?.data[0];
      if (g.source.kind === "column" && col && !(col.type instanceof Utf8)) {
        throw new UsageError('member batch column gap_candidates must be text ("V28:17" items joined by U+001F)');
      }
      gaps = batchCandidates(
        this.meta,
        this.scoredModels,
        g.source,
        batch.n,
        col && col.offset === 0
          ? {
              offsets: col.valueOffsets as Int32Array,
              bytes: col.values as Uint8Array,
              valid: col.nullCount > 0 ? col.nullBitmap : null,
            }
          : null,
      );
      gaps.request.options = gapOptionBits(g);
    }
    const r = this.kernel.score(batch, {
      modelMask: this.modelMask,
      options: this.options | (opts.factors ? L.OPT_FACTORS : 0),
      asOfDays: this.asOfDays,
      models: this.scoredModels,
      traceCap: opts.factors ? factorTraceCap(batch.n, nCodes, nScored) : 0,
      copyTrace: false,
      ...(gaps ? { gaps: gaps.request } : {}),
    });
    const scores = buildScoresBatch(
      this,
      this.labelBytes,
      ids,
      r,
      errors,
      runId,
      opts.hccsAsDictionary ? (m, keyOf, errored) => this.kernel.modelColumns(m, keyOf, errored) : null,
    );
    let factors: RecordBatch | null = null;
    if (opts.factors) {
      const errored = new Uint8Array(batch.n);
      for (let i = 0; i < batch.n; i++) if (errors[i]) errored[i] = 1;
      this.factorTables ??= buildFactorTables(this, this.labelBytes);
      factors = buildFactorsBatch(
        this,
        this.labelBytes,
        ids,
        this.kernel.factorColumns(this.factorTables, errored),
        runId,
        opts.idsAsDictionary ?? false,
      );
    }
    let gapValues: RecordBatch | null = null;
    if (g && gaps) {
      gapValues = buildGapValuesBatch(
        this,
        this.labelBytes,
        this.gapLabelsFor(g.foreignModels ?? []),
        ids,
        r,
        gaps,
        errorsOf(r, errors),
        runId,
        {
          keptOnly: g.source.kind === "lacking",
          skipNotScored: g.source.kind !== "column",
          monthlyBaseRate: g.monthlyBaseRate,
          rounded: (this.options & L.OPT_ROUND3) !== 0,
          idsAsDictionary: opts.idsAsDictionary ?? false,
        },
      ).batch;
    }
    return { scores, factors, gapValues };
  }

  /** The gap table's dictionaries for a set of foreign models (one set per run: built once). */
  private gapLabelsFor(foreign: readonly ForeignModel[]): GapLabels {
    const key = JSON.stringify(foreign);
    if (this.gapLabels?.key !== key) {
      this.labelBytes ??= buildLabelBytes(this);
      this.gapLabels = { key, labels: buildGapLabels(this, this.labelBytes, foreign) };
    }
    return this.gapLabels.labels;
  }

  /**
   * Score members and value their gaps (docs/gap-values.md): each candidate added alone, each
   * kept HCC removed alone, every candidate added together, as `opts` asks. One kernel pass.
   */
  valueGaps(
    members: readonly MemberInput[],
    candidates: readonly (readonly GapCandidate[])[],
    opts: GapOptions,
  ): { records: OutputRecord[]; gaps: GapValue[] } {
    const rb = membersToBatch(members).batch;
    const { batch, errors } = encodeArrowBatch(rb);
    const enc = encodeGaps(this.meta, this.scoredModels, candidates, opts);
    const r = this.kernel.score(batch, {
      modelMask: this.modelMask,
      options: this.options,
      asOfDays: this.asOfDays,
      models: this.scoredModels,
      gaps: enc.request,
    });
    const records = members.map((m, i) => this.decodeRecord(r, i, m.member_id, errors[i] ?? null));
    const ids = rb.getChild("participant_id");
    if (!ids) throw new UsageError("member batch has no participant_id column");
    this.labelBytes ??= buildLabelBytes(this);
    const gapLabels = this.gapLabelsFor([]);
    // the rows hcc score --gaps writes, read back: one decoder for both paths
    const built = buildGapValuesBatch(this, this.labelBytes, gapLabels, ids, r, enc, errorsOf(r, errors), "", {
      keptOnly: false,
      skipNotScored: false,
      monthlyBaseRate: null,
      rounded: (this.options & L.OPT_ROUND3) !== 0,
    });
    const gaps = gapValuesOf(built.batch, built.members);
    // a candidate naming a model the pack does not have cannot be a row of the table; say so here
    for (const x of enc.rejected) {
      if (this.meta.models.some((m) => m.id === x.model)) continue;
      gaps.push({
        member: x.member,
        model: x.model,
        hcc: `HCC${x.hcc}`,
        action: "add",
        status: records[x.member]?.error === null ? x.status : "member_error",
        delta_raw_score: null,
        delta_normalized_score: null,
        delta_risk_score: null,
        delta_payment_score: null,
        hccs_displaced: [],
        hccs_restored: [],
        terms_on: [],
        terms_off: [],
      });
    }
    return { records, gaps };
  }

  /**
   * The values `hcc explain --gaps` shows: each kept HCC's (removed alone), each named gap's per
   * model and for the blend, and all the named gaps together.
   */
  explainGaps(member: MemberInput, gaps: readonly GapCandidate[]): ExplainedGaps {
    const { gaps: values } = this.valueGaps([member], [gaps], { add: true, remove: true, all: true });
    const kept = values.filter((v) => v.action === "remove");
    const singles = values.filter((v) => v.action === "add");
    const together = values.filter((v) => v.action === "add_all");
    // a gap named without a model applies to every scored model that has it: its blend value is
    // all of those added at once
    const byGap = new Map<string, GapValue[]>();
    for (const v of singles) {
      const key = v.hcc ?? "";
      byGap.set(key, [...(byGap.get(key) ?? []), v]);
    }
    const entries = [...byGap].map(([gap, models]) => {
      let blend = blendOf(models[0]!);
      if (models.length > 1) {
        const mine = gaps.filter((g) => `${this.prefixOf(g.model)}${g.hcc}` === gap);
        const all = this.valueGaps([member], [mine], { add: false, remove: false, all: true }).gaps.find(
          (v) => v.action === "add_all",
        );
        blend = all ? blendOf(all) : { delta_risk_score: null, delta_payment_score: null };
      }
      return { gap, models, blend };
    });
    // together: the Part C blend when a Part C model has gaps (Part D gaps move the Part D score)
    const partC = new Set(
      this.meta.populations.filter((p) => p.part === "C").flatMap((p) => p.models.map((m) => this.meta.models[m]!.id)),
    );
    const all = together.find((v) => partC.has(v.model)) ?? together[0];
    return { kept_hcc_values: kept, gaps: entries, together: all ? blendOf(all) : null };
  }

  private prefixOf(model: string): string {
    return this.meta.models.find((m) => m.id === model.toUpperCase())?.hccPrefix ?? "HCC";
  }

  /** Explain one member step by step, from the kernel's detail mode. */
  explain(member: MemberInput): Explanation {
    const { batch, errors } = encodeArrowBatch(membersToBatch([member]).batch);
    const codes = (member.diagnosis_codes ?? []).filter((c): c is string => c !== null);
    const r = this.kernel.score(batch, {
      modelMask: this.modelMask,
      options: this.options | L.OPT_TRACE,
      asOfDays: this.asOfDays,
      models: this.scoredModels,
      traceCap: 256 + codes.length * 16,
    });
    const record = this.decodeRecord(r, 0, member.member_id, errors[0] ?? null);
    return decodeExplanation(this.meta, r, codes, record, r.memberI32[L.OUT_AGE] ?? -1);
  }
}
