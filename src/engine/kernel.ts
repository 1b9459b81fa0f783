// Thin host wrapper around the Wasm kernel: installs a pack, keeps batch buffers at their
// high-water mark, and copies results out. Pure: the caller supplies the compiled module.
import * as L from "./layout.js";
import { InternalError } from "../errors.js";

interface KernelExports {
  memory: WebAssembly.Memory;
  reserve(bytes: number): number;
  mark(): number;
  release(to: number): void;
  setPack(ptr: number): number;
  scoreBatch(desc: number): number;
  factorColumns(desc: number): number;
  modelColumns(desc: number): number;
  computeAge(dobDays: number, asOfDays: number): number;
  roundScore(x: number): number;
  ABI_NIN: WebAssembly.Global;
  ABI_NVAL: WebAssembly.Global;
  ABI_NOUT_F: WebAssembly.Global;
  ABI_NOUT_I: WebAssembly.Global;
  ABI_PACK_VERSION: WebAssembly.Global;
}

/** Members in the kernel's input layout: Arrow List<Utf8> offsets for the diagnosis codes. */
export interface EncodedBatch {
  n: number;
  attrs: Int32Array; // n * NIN
  memberOffsets: Int32Array<ArrayBufferLike>; // n + 1, into codeOffsets
  codeOffsets: Int32Array<ArrayBufferLike>; // into codeBytes
  codeBytes: Uint8Array<ArrayBufferLike>;
}

/** Kernel results for one batch (views copied out of Wasm memory). */
export interface BatchResult {
  n: number;
  nModels: number;
  memberF64: Float64Array; // n * NOUT_F
  memberI32: Int32Array; // n * NOUT_I
  /** Slot of each pack model in modelF64/modelI32 (-1: not copied out); member i of model m is at slot·n + i. */
  slotOf: Int32Array;
  modelF64: Float64Array; // [slot][n][2]: raw, normalized
  modelI32: Int32Array; // [slot][n][3]: segment, hccStart, hccCount
  hccs: Int32Array;
  trace: Int32Array; // TRACE_STRIDE/4 words per record (f64 at words 4–5)
  traceF64: Float64Array;
  /** What-if records (layout.ts GAP_*): GAP_I_STRIDE words and GAP_F_STRIDE values each. */
  gapI: Int32Array;
  gapF: Float64Array;
  gapPool: Int32Array;
}

/** What scoreBatch is asked for (layout.ts D_MODEL_MASK, D_OPTIONS, D_ASOF_DAYS, D_TRACE_CAP, D_GAP*). */
export interface ScoreOptions {
  modelMask: number;
  options: number;
  asOfDays: number;
  /** Pack model indices whose per-model results are copied out. */
  models: readonly number[];
  traceCap?: number;
  /** Copy the trace out into the result (default true; factorColumns reads it in place). */
  copyTrace?: boolean;
  gaps?: GapRequest;
}

/** How factorColumns maps the kernel's numbers onto the host's dictionaries (layout.ts FD_*). */
export interface FactorTables {
  hccFactor: Int32Array; // [model][hccStride]: HCC number → factor index
  hccStride: number;
  varFactor: Int32Array; // [model][varStride]: variable → factor index
  varType: Int32Array; // [model][varStride]: variable → factor type index
  varStride: number;
  segBase: Int32Array; // [model]: first segment dictionary index
  kindType: Int32Array; // [record kind]: factor type index of an HCC row
  divisorType: number;
}

/** The risk_score_factors columns of a batch (copied out of Wasm memory), `rows` long. */
export interface FactorColumns {
  rows: number;
  member: Int32Array;
  model: Int32Array;
  segment: Int32Array;
  factor: Int32Array;
  type: Int32Array;
  coef: Float64Array;
  hcc: Int32Array;
  hccValid: Uint8Array;
  hccNulls: number;
  dxOffsets: Int32Array; // rows + 1, into the dx code list
  dxByteOffsets: Int32Array; // codes + 1, into dxBytes
  dxBytes: Uint8Array;
}

/** One model's risk_scores columns of a batch (copied out of Wasm memory; layout.ts MC_*). */
export interface ModelColumns {
  raw: Float64Array; // NaN for errored members
  norm: Float64Array;
  segment: Int32Array; // 0 where null
  valid: Uint8Array; // the segment's and the HCC list's validity
  nulls: number;
  listOffsets: Int32Array; // n + 1, into keys
  keys: Int32Array; // the kept HCCs as dictionary keys
}

/** What-if requests for a batch (layout.ts OPT_GAP_*, D_GAP*). */
export interface GapRequest {
  options: number; // OPT_GAP_ADD | OPT_GAP_REMOVE | OPT_GAP_ALL
  /** GAP_IN_STRIDE words per candidate (model index, local CC index); member i's are offsets[i]..offsets[i+1]. */
  candidates: Int32Array;
  offsets: Int32Array | null;
}

interface Region {
  ptr: number;
  bytes: number;
}

export class Kernel {
  private readonly x: KernelExports;
  private readonly nModels: number;
  private readonly base: number; // memory mark after the pack
  private regions: Record<string, Region> = {};
  private desc = 0;
  private fdesc = 0;
  // factorColumns' buffers sit above the batch buffers, so growing them keeps the trace
  private batchTop = 0;
  private factorRegions: Record<string, Region> = {};
  private last: { n: number; traceLen: number; factors: boolean } | null = null;

  /** `module` compiled, or already instantiated with `kernelImports()` (asynchronous hosts). */
  constructor(module: WebAssembly.Module | WebAssembly.Instance, pack: Uint8Array) {
    const inst = module instanceof WebAssembly.Instance ? module : new WebAssembly.Instance(module, kernelImports());
    this.x = inst.exports as unknown as KernelExports;
    if (
      this.x.ABI_NIN.value !== L.NIN ||
      this.x.ABI_NOUT_I.value !== L.NOUT_I ||
      this.x.ABI_PACK_VERSION.value !== L.PK_VERSION
    ) {
      throw new InternalError("kernel ABI does not match src/engine/layout.ts; rebuild (npm run build)");
    }
    const p = this.x.reserve(pack.byteLength);
    new Uint8Array(this.x.memory.buffer, p, pack.byteLength).set(pack);
    const rc = this.x.setPack(p);
    if (rc !== 0) throw new InternalError(`kernel rejected the model pack (code ${rc})`);
    this.nModels = new Int32Array(this.x.memory.buffer, p + L.PH_N_MODELS * 4, 1)[0] ?? 0;
    this.desc = this.x.reserve(L.NDESC * 4);
    this.fdesc = this.x.reserve(Math.max(L.NFDESC, L.NMCDESC) * 4); // factorColumns and modelColumns
    this.base = this.x.mark();
    this.batchTop = this.base;
  }

  get models(): number {
    return this.nModels;
  }

  computeAge(dobDays: number, asOfDays: number): number {
    return this.x.computeAge(dobDays, asOfDays);
  }

  roundScore(x: number): number {
    return this.x.roundScore(x);
  }

  /** (Re)reserve every batch buffer when a need exceeds the high-water mark. */
  private ensure(needs: Record<string, number>): void {
    let grow = false;
    for (const [k, b] of Object.entries(needs)) if ((this.regions[k]?.bytes ?? -1) < b) grow = true;
    if (!grow) return;
    this.x.release(this.base);
    this.regions = this.reserveAll(this.regions, needs);
    this.batchTop = this.x.mark();
    this.factorRegions = {};
  }

  /**
   * Reserves every region again, from the mark the caller released to: a named one grown to its
   * need (and by half at least, so a slowly growing need does not re-reserve every batch), one
   * not named at the size it had.
   */
  private reserveAll(old: Record<string, Region>, needs: Record<string, number>): Record<string, Region> {
    const next: Record<string, Region> = {};
    for (const [k, r] of Object.entries(old)) if (!(k in needs)) next[k] = { ptr: this.x.reserve(r.bytes), bytes: r.bytes };
    for (const [k, b] of Object.entries(needs)) {
      const bytes = Math.max(b, Math.ceil((old[k]?.bytes ?? 0) * 1.5), 64);
      next[k] = { ptr: this.x.reserve(bytes), bytes };
    }
    return next;
  }

  /**
   * The buffers of factorColumns and modelColumns at their high-water mark, above the batch
   * buffers (which stay put). Growing one re-reserves them all: their contents do not outlive a
   * call (each call copies its columns out).
   */
  private ensureFactor(needs: Record<string, number>): void {
    if (Object.entries(needs).every(([k, b]) => (this.factorRegions[k]?.bytes ?? -1) >= b)) return;
    this.x.release(this.batchTop);
    this.factorRegions = this.reserveAll(this.factorRegions, needs);
  }

  private fptr(k: string): number {
    const r = this.factorRegions[k];
    if (!r) throw new InternalError(`kernel factor region ${k} missing`);
    return r.ptr;
  }

  /**
   * The risk_score_factors columns of the batch the last score() scored in factor mode
   * (L.OPT_FACTORS), from its trace still in kernel memory: rows of members with
   * `errored[i] !== 0` are left out.
   */
  factorColumns(t: FactorTables, errored: Uint8Array): FactorColumns {
    const last = this.last;
    if (!last?.factors) throw new InternalError("factorColumns: the last batch was not scored in factor mode");
    const { n, traceLen } = last;
    // every row is one trace record, every dx code one dx → CC record; the bytes are grown on demand
    let bytesCap = Math.max(1024, traceLen * 8);
    for (;;) {
      const rowCap = traceLen;
      this.ensureFactor({
        errored: n,
        hccFactor: t.hccFactor.byteLength,
        varFactor: t.varFactor.byteLength,
        varType: t.varType.byteLength,
        segBase: t.segBase.byteLength,
        kindType: t.kindType.byteLength,
        member: rowCap * 4,
        model: rowCap * 4,
        segment: rowCap * 4,
        factor: rowCap * 4,
        type: rowCap * 4,
        coef: rowCap * 8,
        hcc: rowCap * 4,
        hccValid: (rowCap + 7) >> 3,
        dxOffsets: (rowCap + 1) * 4,
        dxByteOffsets: (traceLen + 1) * 4,
        dxBytes: bytesCap,
      });
      const mem = this.x.memory.buffer;
      new Uint8Array(mem, this.fptr("errored"), n).set(errored.subarray(0, n));
      new Int32Array(mem, this.fptr("hccFactor"), t.hccFactor.length).set(t.hccFactor);
      new Int32Array(mem, this.fptr("varFactor"), t.varFactor.length).set(t.varFactor);
      new Int32Array(mem, this.fptr("varType"), t.varType.length).set(t.varType);
      new Int32Array(mem, this.fptr("segBase"), t.segBase.length).set(t.segBase);
      new Int32Array(mem, this.fptr("kindType"), t.kindType.length).set(t.kindType);
      const d = new Int32Array(mem, this.fdesc, L.NFDESC);
      d.fill(0);
      d[L.FD_TRACE] = this.ptr("trace");
      d[L.FD_TRACE_LEN] = traceLen;
      d[L.FD_N] = n;
      d[L.FD_OUT_MODEL_I32] = this.ptr("outMI");
      d[L.FD_ERRORED] = this.fptr("errored");
      d[L.FD_HCC_FACTOR] = this.fptr("hccFactor");
      d[L.FD_HCC_STRIDE] = t.hccStride;
      d[L.FD_VAR_FACTOR] = this.fptr("varFactor");
      d[L.FD_VAR_TYPE] = this.fptr("varType");
      d[L.FD_VAR_STRIDE] = t.varStride;
      d[L.FD_SEG_BASE] = this.fptr("segBase");
      d[L.FD_KIND_TYPE] = this.fptr("kindType");
      d[L.FD_DIVISOR_TYPE] = t.divisorType;
      d[L.FD_MEMBER_OFFSETS] = this.ptr("memberOffsets");
      d[L.FD_CODE_OFFSETS] = this.ptr("codeOffsets");
      d[L.FD_CODE_BYTES] = this.ptr("codeBytes");
      d[L.FD_ROW_CAP] = rowCap;
      for (const k of ["member", "model", "segment", "factor", "type", "coef", "hcc", "hccValid", "dxOffsets"] as const) {
        d[FD_OUT[k]] = this.fptr(k);
      }
      d[L.FD_DX_CAP] = traceLen;
      d[L.FD_DX_BYTE_OFFSETS] = this.fptr("dxByteOffsets");
      d[L.FD_DX_BYTES] = this.fptr("dxBytes");
      d[L.FD_DX_BYTES_CAP] = bytesCap;
      const rc = this.x.factorColumns(this.fdesc);
      if (rc === -1) {
        bytesCap *= 2;
        continue;
      }
      if (rc !== 0) throw new InternalError(`kernel factorColumns failed (code ${rc})`);
      const dv = new Int32Array(mem, this.fdesc, L.NFDESC);
      const rows = dv[L.FD_ROWS] ?? 0;
      const dxLen = dv[L.FD_DX_LEN] ?? 0;
      const i32 = (k: string, len: number): Int32Array => new Int32Array(mem.slice(this.fptr(k), this.fptr(k) + len * 4));
      return {
        rows,
        member: i32("member", rows),
        model: i32("model", rows),
        segment: i32("segment", rows),
        factor: i32("factor", rows),
        type: i32("type", rows),
        coef: new Float64Array(mem.slice(this.fptr("coef"), this.fptr("coef") + rows * 8)),
        hcc: i32("hcc", rows),
        hccValid: new Uint8Array(mem.slice(this.fptr("hccValid"), this.fptr("hccValid") + ((rows + 7) >> 3))),
        hccNulls: dv[L.FD_HCC_NULLS] ?? 0,
        dxOffsets: i32("dxOffsets", rows + 1),
        dxByteOffsets: i32("dxByteOffsets", dxLen + 1),
        dxBytes: new Uint8Array(mem.slice(this.fptr("dxBytes"), this.fptr("dxBytes") + (dv[L.FD_DX_BYTES_LEN] ?? 0))),
      };
    }
  }

  /**
   * Model `m`'s risk_scores columns of the batch the last score() scored (the model must have
   * been scored): `keyOf` maps HCC numbers to dictionary keys (-1: none); members with
   * `errored[i] !== 0` get null scores, segment and list.
   */
  modelColumns(m: number, keyOf: Int32Array, errored: Uint8Array): ModelColumns {
    const last = this.last;
    if (!last) throw new InternalError("modelColumns: no batch scored");
    const { n } = last;
    let keysCap = Math.max(64, Math.floor((this.regions["hcc"]?.bytes ?? 0) / 4));
    for (;;) {
      this.ensureFactor({
        errored: n,
        keyOf: keyOf.byteLength,
        raw: n * 8,
        norm: n * 8,
        mcSegment: n * 4,
        mcValid: (n + 7) >> 3,
        list: (n + 1) * 4,
        keys: keysCap * 4,
      });
      const mem = this.x.memory.buffer;
      new Uint8Array(mem, this.fptr("errored"), n).set(errored.subarray(0, n));
      new Int32Array(mem, this.fptr("keyOf"), keyOf.length).set(keyOf);
      const d = new Int32Array(mem, this.fdesc, L.NMCDESC);
      d.fill(0);
      d[L.MC_N] = n;
      d[L.MC_MODEL] = m;
      d[L.MC_OUT_MODEL_F64] = this.ptr("outMF");
      d[L.MC_OUT_MODEL_I32] = this.ptr("outMI");
      d[L.MC_HCC] = this.ptr("hcc");
      d[L.MC_ERRORED] = this.fptr("errored");
      d[L.MC_KEY_OF] = this.fptr("keyOf");
      d[L.MC_KEY_OF_LEN] = keyOf.length;
      d[L.MC_RAW] = this.fptr("raw");
      d[L.MC_NORM] = this.fptr("norm");
      d[L.MC_SEGMENT] = this.fptr("mcSegment");
      d[L.MC_VALID] = this.fptr("mcValid");
      d[L.MC_LIST] = this.fptr("list");
      d[L.MC_KEYS] = this.fptr("keys");
      d[L.MC_KEYS_CAP] = keysCap;
      const rc = this.x.modelColumns(this.fdesc);
      if (rc === -1) {
        keysCap *= 2;
        continue;
      }
      if (rc !== 0) throw new InternalError(`kernel modelColumns failed (code ${rc})`);
      const items = d[L.MC_ITEMS] ?? 0;
      const copy = (k: string, bytes: number): ArrayBuffer => mem.slice(this.fptr(k), this.fptr(k) + bytes);
      return {
        raw: new Float64Array(copy("raw", n * 8)),
        norm: new Float64Array(copy("norm", n * 8)),
        segment: new Int32Array(copy("mcSegment", n * 4)),
        valid: new Uint8Array(copy("mcValid", (n + 7) >> 3)),
        nulls: d[L.MC_NULLS] ?? 0,
        listOffsets: new Int32Array(copy("list", (n + 1) * 4)),
        keys: new Int32Array(copy("keys", items * 4)),
      };
    }
  }

  private ptr(k: string): number {
    const r = this.regions[k];
    if (!r) throw new InternalError(`kernel region ${k} missing`);
    return r.ptr;
  }

  /**
   * Score a batch. `models` are the pack model indices whose per-model results are copied out
   * (the kernel writes every model's block; copying only these saves memory traffic).
   */
  score(b: EncodedBatch, opts: ScoreOptions): BatchResult {
    // what-if output: a base record per member and model, one per candidate and per kept HCC
    // (bounded by the HCC pool), one add-all per model; grown and scored again when short
    let gapCap = 0;
    if (opts.gaps) {
      const g = opts.gaps;
      const withKept = (g.options & L.OPT_GAP_REMOVE) !== 0 ? 3 : 0;
      gapCap = g.candidates.length / L.GAP_IN_STRIDE + b.n * (this.nModels * 2 + withKept) + 64;
    }
    for (;;) {
      const r = this.scoreOnce(b, opts, gapCap, gapCap * 4);
      if (r !== null) return r;
      gapCap *= 2;
    }
  }

  private scoreOnce(b: EncodedBatch, opts: ScoreOptions, gapCap: number, gapPoolCap: number): BatchResult | null {
    const n = b.n;
    const nm = this.nModels;
    const nCodes = b.memberOffsets[n] ?? 0;
    const maxDx = longestList(b.memberOffsets, n);
    const traceCap = opts.traceCap ?? 0;
    // each scored model writes at most min(#CCs, 3 per code + 1) HCCs; the kernel also keeps
    // a model's full CC count free before scoring it
    const hccCap = nm * (nCodes * 3 + n) + 1024;
    this.ensure({
      attrs: b.attrs.byteLength,
      memberOffsets: b.memberOffsets.byteLength,
      codeOffsets: b.codeOffsets.byteLength,
      codeBytes: b.codeBytes.byteLength + 8, // the kernel reads codes 8 bytes at a time
      outF: n * L.NOUT_F * 8,
      outI: n * L.NOUT_I * 4,
      outMF: n * nm * 16,
      outMI: n * nm * 12,
      hcc: hccCap * 4,
      trace: traceCap * L.TRACE_STRIDE,
      scratch: (maxDx + 1) * 12,
      gapIn: (opts.gaps?.candidates.byteLength ?? 0) + 8,
      gapOffsets: (n + 1) * 4,
      gapOutI: gapCap * L.GAP_I_STRIDE * 4,
      gapOutF: gapCap * L.GAP_F_STRIDE * 8,
      gapPool: gapPoolCap * 4,
    });
    const mem = (): ArrayBuffer => this.x.memory.buffer;
    new Int32Array(mem(), this.ptr("attrs"), b.attrs.length).set(b.attrs);
    new Int32Array(mem(), this.ptr("memberOffsets"), b.memberOffsets.length).set(b.memberOffsets);
    new Int32Array(mem(), this.ptr("codeOffsets"), b.codeOffsets.length).set(b.codeOffsets);
    new Uint8Array(mem(), this.ptr("codeBytes"), b.codeBytes.length).set(b.codeBytes);
    const d = new Int32Array(mem(), this.desc, L.NDESC);
    d.fill(0);
    d[L.D_N] = n;
    d[L.D_IN] = this.ptr("attrs");
    d[L.D_MEMBER_OFFSETS] = this.ptr("memberOffsets");
    d[L.D_CODE_OFFSETS] = this.ptr("codeOffsets");
    d[L.D_CODE_BYTES] = this.ptr("codeBytes");
    d[L.D_MODEL_MASK] = opts.modelMask;
    d[L.D_OPTIONS] = opts.options;
    d[L.D_OUT_MEMBER_F64] = this.ptr("outF");
    d[L.D_OUT_MEMBER_I32] = this.ptr("outI");
    d[L.D_OUT_MODEL_F64] = this.ptr("outMF");
    d[L.D_OUT_MODEL_I32] = this.ptr("outMI");
    d[L.D_OUT_HCC] = this.ptr("hcc");
    d[L.D_OUT_HCC_CAP] = Math.floor((this.regions["hcc"]?.bytes ?? 0) / 4);
    d[L.D_TRACE] = this.ptr("trace");
    d[L.D_TRACE_CAP] = traceCap;
    d[L.D_ASOF_DAYS] = opts.asOfDays;
    d[L.D_SCRATCH] = this.ptr("scratch");
    const g = opts.gaps;
    if (g) {
      new Int32Array(mem(), this.ptr("gapIn"), g.candidates.length).set(g.candidates);
      if (g.offsets) new Int32Array(mem(), this.ptr("gapOffsets"), n + 1).set(g.offsets);
      d[L.D_GAPS] = this.ptr("gapIn");
      d[L.D_GAP_OFFSETS] = g.offsets ? this.ptr("gapOffsets") : 0;
      d[L.D_GAP_OUT_I32] = this.ptr("gapOutI");
      d[L.D_GAP_OUT_F64] = this.ptr("gapOutF");
      d[L.D_GAP_CAP] = gapCap;
      d[L.D_GAP_POOL] = this.ptr("gapPool");
      d[L.D_GAP_POOL_CAP] = gapPoolCap;
      d[L.D_OPTIONS] = opts.options | g.options;
    }
    const rc = this.x.scoreBatch(this.desc);
    if (rc === -3) return null;
    if (rc === -4) throw new InternalError("kernel scoreBatch: a gap candidate's CC index is out of range (host bug)");
    if (rc === -2) throw new InternalError("kernel scoreBatch: trace buffer too small (host sizing bug)");
    if (rc !== 0) throw new InternalError(`kernel scoreBatch failed (code ${rc}): HCC output pool too small`);
    const dv = new Int32Array(mem(), this.desc, L.NDESC);
    const hccLen = dv[L.D_OUT_HCC_LEN] ?? 0;
    const traceLen = dv[L.D_TRACE_LEN] ?? 0;
    const gapLen = dv[L.D_GAP_LEN] ?? 0;
    const gapPoolLen = dv[L.D_GAP_POOL_LEN] ?? 0;
    this.last = { n, traceLen, factors: (opts.options & L.OPT_FACTORS) !== 0 && (opts.options & L.OPT_TRACE) === 0 };
    const traceBytes =
      opts.copyTrace === false
        ? new ArrayBuffer(0)
        : mem().slice(this.ptr("trace"), this.ptr("trace") + traceLen * L.TRACE_STRIDE);
    const slotOf = new Int32Array(nm).fill(-1);
    const ns = opts.models.length;
    const modelF64 = new Float64Array(ns * n * 2);
    const modelI32 = new Int32Array(ns * n * 3);
    opts.models.forEach((m, j) => {
      slotOf[m] = j;
      modelF64.set(new Float64Array(mem(), this.ptr("outMF") + m * n * 16, n * 2), j * n * 2);
      modelI32.set(new Int32Array(mem(), this.ptr("outMI") + m * n * 12, n * 3), j * n * 3);
    });
    return {
      n,
      nModels: nm,
      memberF64: new Float64Array(mem().slice(this.ptr("outF"), this.ptr("outF") + n * L.NOUT_F * 8)),
      memberI32: new Int32Array(mem().slice(this.ptr("outI"), this.ptr("outI") + n * L.NOUT_I * 4)),
      slotOf,
      modelF64,
      modelI32,
      hccs: new Int32Array(mem().slice(this.ptr("hcc"), this.ptr("hcc") + hccLen * 4)),
      trace: new Int32Array(traceBytes),
      traceF64: new Float64Array(traceBytes),
      gapI: g ? new Int32Array(mem().slice(this.ptr("gapOutI"), this.ptr("gapOutI") + gapLen * L.GAP_I_STRIDE * 4)) : EMPTY_I32,
      gapF: g ? new Float64Array(mem().slice(this.ptr("gapOutF"), this.ptr("gapOutF") + gapLen * L.GAP_F_STRIDE * 8)) : EMPTY_F64,
      gapPool: g ? new Int32Array(mem().slice(this.ptr("gapPool"), this.ptr("gapPool") + gapPoolLen * 4)) : EMPTY_I32,
    };
  }
}

/** The descriptor word of each factorColumns output column. */
const FD_OUT = {
  member: L.FD_MEMBER,
  model: L.FD_MODEL,
  segment: L.FD_SEGMENT,
  factor: L.FD_FACTOR,
  type: L.FD_TYPE,
  coef: L.FD_COEF,
  hcc: L.FD_HCC,
  hccValid: L.FD_HCC_VALID,
  dxOffsets: L.FD_DX_OFFSETS,
} as const;

const EMPTY_I32 = new Int32Array(0);
const EMPTY_F64 = new Float64Array(0);

/** The kernel's imports (for WebAssembly.instantiate outside this class). */
export function kernelImports(): Record<string, Record<string, unknown>> {
  return { env: { abort: kernelAbort } };
}

function kernelAbort(): never {
  throw new InternalError("kernel abort: broken invariant");
}

/**
 * The most codes of any member. A loop of its own: inline, it made scoreOnce (called once per
 * batch, otherwise never hot) the largest function V8 optimized in a worker.
 */
function longestList(offsets: Int32Array, n: number): number {
  let max = 0;
  for (let i = 0; i < n; i++) max = Math.max(max, offsets[i + 1]! - offsets[i]!);
  return max;
}
