// The scoring runtime inside a BigQuery JavaScript UDF (docs/bigquery-udf.md). Bundled by
// scripts/build-udf-runtime.mjs into one script with no imports and no Node or Web API: only
// ECMAScript built-ins and WebAssembly. One kernel per JS context, created on the first row and
// cached in the context's global store; each row is encoded into buffers reused across rows and
// scored through the same Kernel wrapper and value codes as `hcc score`, so its results are the
// pipeline's (src/engine/arrow-encode.ts, arrow-results.ts) field for field.
import * as L from "../engine/layout.js";
import { Kernel, kernelImports, type BatchResult, type EncodedBatch } from "../engine/kernel.js";
import { KERNEL_ERRORS } from "../engine/kernel-errors.js";
import { dxAssigning, factorRowCoefficient, factorTraceCap, forEachFactorRecord, hccRowType } from "../engine/factor-records.js";
import {
  AGE_RANGE,
  GRAFT_MONTHS_RANGE,
  checkWhole,
  parseDual,
  parseEsrd,
  parseReason,
  parseRx,
  parseSex,
  type Parse,
} from "../engine/values.js";
import type { UdfConfig, UdfModelConfig, UdfStore } from "./config.js";

/** The member STRUCT as BigQuery hands it to JavaScript (docs/bigquery-udf.md "Type mapping"). */
export interface UdfMember {
  birth_date?: unknown;
  age?: unknown;
  sex?: unknown;
  orec?: unknown;
  crec?: unknown;
  dual_elgbl_cd?: unknown;
  medicaid?: unknown;
  lti?: unknown;
  new_enrollee?: unknown;
  snp?: unknown;
  low_income?: unknown;
  pace?: unknown;
  esrd_status?: unknown;
  graft_months?: unknown;
  rx_plan?: unknown;
  diagnosis_codes?: unknown;
}

export interface UdfFactor {
  model: string;
  segment: string | null;
  factor: string;
  factor_type: string;
  coefficient: number;
  hcc: number | null;
  dx_codes: string[];
}

export type UdfResult = Record<string, unknown>;

export interface HccUdf {
  /** Score one member; instantiates the kernel synchronously on the first call. */
  score(member: UdfMember | null): UdfResult;
  /** Score one member; the first call compiles and instantiates asynchronously (one Promise per context). */
  scoreAsync(member: UdfMember | null): UdfResult | Promise<UdfResult>;
  /** Whether the kernel is instantiated in this context. */
  ready(): boolean;
}

const NO_DATE = -2147483648;
const DAY_MS = 86400000;

// ---- base64 (no atob: it is a Web API) ------------------------------------------------------

const B64 = /* @__PURE__ */ (() => {
  const t = new Int16Array(128).fill(-1);
  const a = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  for (let i = 0; i < a.length; i++) t[a.charCodeAt(i)] = i;
  return t;
})();

/** Decode base64 `s` into `out` at `at`; returns the bytes written. */
function decodeBase64Into(s: string, out: Uint8Array, at: number): number {
  let o = at;
  let acc = 0;
  let bits = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 61) break; // '='
    const v = c < 128 ? (B64[c] ?? -1) : -1;
    if (v < 0) throw new Error(`hcc udf: corrupt base64 at character ${i}`);
    acc = (acc << 6) | v;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[o++] = (acc >> bits) & 0xff;
    }
  }
  return o - at;
}

// ---- member values, as src/engine/arrow-encode.ts reads the same columns ----------------------

/** A Utf8-like value: null, undefined and "" are absent; numbers are read as their text. */
function readEnum(v: unknown, absent: number, parse: Parse, field: string, err: { text: string | null }): number {
  if (v === null || v === undefined || v === "") return absent;
  const r = parse(typeof v === "string" ? v : String(v as number));
  if (typeof r === "number") return r;
  err.text = err.text !== null ? `${err.text}; ${field}: ${r}` : `${field}: ${r}`;
  return absent;
}

function readBool(v: unknown, absent: number): number {
  if (v === true || v === 1) return 1;
  if (v === false || v === 0) return 0;
  return absent;
}

/** An integer within [lo, hi] (INT64/FLOAT64 arrive as numbers); out of range is a value error. */
function readInt(
  v: unknown,
  absent: number,
  range: readonly [number, number],
  field: string,
  err: { text: string | null },
): number {
  let n: number;
  if (typeof v === "number" && Number.isFinite(v)) n = Math.trunc(v);
  else if (typeof v === "bigint") n = Number(v);
  else if (typeof v === "string" && v.trim() !== "")
    return readEnum(
      v,
      absent,
      (s) => (/^-?\d{1,9}$/.test(s.trim()) ? checkWhole(Number(s), range[0], range[1]) : `'${s.trim()}' is not a whole number`),
      field,
      err,
    );
  else return absent;
  const r = checkWhole(n, range[0], range[1]);
  if (typeof r === "number") return r;
  err.text = err.text !== null ? `${err.text}; ${field}: ${r}` : `${field}: ${r}`;
  return absent;
}

/** DATE arrives as a Date (midnight UTC); a number is taken as epoch milliseconds. */
function readDays(v: unknown): number {
  let ms = NaN;
  if (v !== null && typeof v === "object" && typeof (v as { getTime?: unknown }).getTime === "function") {
    ms = (v as { getTime(): number }).getTime();
  } else if (typeof v === "number") ms = v;
  else if (typeof v === "bigint") ms = Number(v);
  return Number.isFinite(ms) ? Math.floor(ms / DAY_MS) : NO_DATE;
}

/** Demographics into attrs[0..NIN); the value errors as encodeArrowBatch words them. */
function encodeAttrs(m: UdfMember, a: Int32Array): string | null {
  const err = { text: null as string | null };
  const age = readInt(m.age, -1, AGE_RANGE, "age", err);
  const dob = readDays(m.birth_date);
  a[L.IN_SEX] = readEnum(m.sex, 0, parseSex, "sex", err);
  a[L.IN_OREC] = readEnum(m.orec, -1, parseReason, "orec", err);
  a[L.IN_CREC] = readEnum(m.crec, -1, parseReason, "crec", err);
  a[L.IN_DUAL] = readEnum(m.dual_elgbl_cd, -1, parseDual, "dual_elgbl_cd", err);
  a[L.IN_ESRD] = readEnum(m.esrd_status, 0, parseEsrd, "esrd_status", err);
  a[L.IN_RX_PLAN] = readEnum(m.rx_plan, -1, parseRx, "rx_plan", err);
  a[L.IN_AGE] = age;
  a[L.IN_DOB_DAYS] = dob;
  a[L.IN_MEDICAID] = readBool(m.medicaid, -1);
  a[L.IN_LTI] = readBool(m.lti, 0);
  a[L.IN_NE] = readBool(m.new_enrollee, 0);
  a[L.IN_SNP] = readBool(m.snp, 0);
  a[L.IN_LOW_INCOME] = readBool(m.low_income, 0);
  a[L.IN_PACE] = readBool(m.pace, 0);
  a[L.IN_GRAFT_MONTHS] = readInt(m.graft_months, -1, GRAFT_MONTHS_RANGE, "graft_months", err);
  if (age < 0 && dob === NO_DATE && !/(^|; )(age|birth_date):/.test(err.text ?? "")) {
    const e = "age: neither age nor birth_date given";
    err.text = err.text !== null ? `${err.text}; ${e}` : e;
  }
  return err.text;
}

/** Growable per-context input buffers: reused by every row (high-water mark). */
class RowBuffers {
  attrs = new Int32Array(L.NIN);
  memberOffsets = new Int32Array(2);
  codeOffsets = new Int32Array(64);
  codeBytes = new Uint8Array(1024);
  codes: string[] = [];

  /** UTF-8 of the member's codes (null items are empty codes, as in Arrow); returns the batch. */
  encodeCodes(list: unknown): EncodedBatch {
    const codes = this.codes;
    codes.length = 0;
    if (Array.isArray(list)) {
      for (const c of list as unknown[])
        codes.push(typeof c === "string" ? c : c === null || c === undefined ? "" : String(c as number));
    }
    const k = codes.length;
    if (this.codeOffsets.length < k + 1) this.codeOffsets = new Int32Array(Math.max(k + 1, this.codeOffsets.length * 2));
    let need = 0;
    for (const c of codes) need += c.length * 3;
    if (this.codeBytes.length < need) this.codeBytes = new Uint8Array(Math.max(need, this.codeBytes.length * 2));
    const out = this.codeBytes;
    const offs = this.codeOffsets;
    let o = 0;
    for (let j = 0; j < k; j++) {
      offs[j] = o;
      o = writeUtf8(codes[j] ?? "", out, o);
    }
    offs[k] = o;
    this.memberOffsets[1] = k;
    return {
      n: 1,
      attrs: this.attrs,
      memberOffsets: this.memberOffsets,
      codeOffsets: offs.subarray(0, k + 1),
      codeBytes: out.subarray(0, o),
    };
  }
}

/** UTF-8 as TextEncoder writes it (lone surrogates → U+FFFD); returns the new offset. */
function writeUtf8(s: string, out: Uint8Array, at: number): number {
  let o = at;
  for (let i = 0; i < s.length; i++) {
    let c = s.charCodeAt(i);
    if (c < 0x80) {
      out[o++] = c;
      continue;
    }
    if (c >= 0xd800 && c <= 0xdfff) {
      const d = i + 1 < s.length ? s.charCodeAt(i + 1) : 0;
      if (c <= 0xdbff && d >= 0xdc00 && d <= 0xdfff) {
        c = 0x10000 + ((c - 0xd800) << 10) + (d - 0xdc00);
        i++;
      } else c = 0xfffd;
    }
    if (c < 0x800) {
      out[o++] = 0xc0 | (c >> 6);
      out[o++] = 0x80 | (c & 63);
    } else if (c < 0x10000) {
      out[o++] = 0xe0 | (c >> 12);
      out[o++] = 0x80 | ((c >> 6) & 63);
      out[o++] = 0x80 | (c & 63);
    } else {
      out[o++] = 0xf0 | (c >> 18);
      out[o++] = 0x80 | ((c >> 12) & 63);
      out[o++] = 0x80 | ((c >> 6) & 63);
      out[o++] = 0x80 | (c & 63);
    }
  }
  return o;
}

// ---- results, as buildScoresBatch / buildFactorsBatch write them ------------------------------

interface Labels {
  byIndex: (UdfModelConfig | undefined)[];
  validCc: Uint8Array[]; // [pack model][cc] = 1 when the model names that HCC
  /** Result field names per pack model: raw, normalized, segment, hccs (built once). */
  keys: (readonly [string, string, string, string])[];
}

function buildLabels(c: UdfConfig): Labels {
  const byIndex: (UdfModelConfig | undefined)[] = [];
  const validCc: Uint8Array[] = [];
  const keys: (readonly [string, string, string, string])[] = [];
  for (const m of c.models) {
    byIndex[m.index] = m;
    keys[m.index] = [`${m.prefix}_raw_score`, `${m.prefix}_normalized_score`, `${m.prefix}_segment`, `${m.prefix}_hccs`];
    const v = new Uint8Array(Math.max(0, ...m.ccNumbers) + 1);
    for (const cc of m.ccNumbers) v[cc] = 1;
    validCc[m.index] = v;
  }
  return { byIndex, validCc, keys };
}

function decodeResult(c: UdfConfig, lb: Labels, r: BatchResult, valueError: string | null, codes: string[]): UdfResult {
  const f = r.memberF64;
  const mi = r.memberI32;
  const kErr = mi[L.OUT_ERROR] ?? 0;
  const error = valueError ?? (kErr !== 0 ? (KERNEL_ERRORS[kErr] ?? `error ${kErr}`) : null);
  const num = (x: number | undefined): number | null => (error !== null || x === undefined || Number.isNaN(x) ? null : x);
  const flags = mi[L.OUT_FLAGS] ?? 0;
  const out: UdfResult = {
    payment_year: c.paymentYear,
    risk_score: num(f[L.OUT_RISK]),
    payment_score: num(f[L.OUT_PAYMENT]),
    rx_risk_score: num(f[L.OUT_RX_RISK]),
  };
  for (const idx of c.scored) {
    const m = lb.byIndex[idx];
    const keys = lb.keys[idx];
    const slot = r.slotOf[idx] ?? -1;
    if (!m || !keys || slot < 0) continue;
    const seg = r.modelI32[slot * 3] ?? -1;
    const ok = error === null && seg >= 0;
    out[keys[0]] = num(r.modelF64[slot * 2]);
    out[keys[1]] = num(r.modelF64[slot * 2 + 1]);
    out[keys[2]] = ok ? (m.segments[seg] ?? null) : null;
    let hccs: string[] | null = null;
    if (ok) {
      hccs = [];
      const start = r.modelI32[slot * 3 + 1] ?? 0;
      const count = r.modelI32[slot * 3 + 2] ?? 0;
      const valid = lb.validCc[idx];
      for (let k = start; k < start + count; k++) {
        const h = r.hccs[k] ?? 0;
        if (valid?.[h] === 1) hccs.push(`${m.hccPrefix}${h}`);
      }
    }
    out[keys[3]] = hccs;
  }
  out["dx_malformed"] = mi[L.OUT_DX_MALFORMED] ?? 0;
  out["dx_unmapped"] = mi[L.OUT_DX_UNMAPPED] ?? 0;
  out["edits_applied"] = mi[L.OUT_EDITS] ?? 0;
  out["error"] = error;
  out["orec_default"] = (flags & L.FLAG_OREC_DEFAULT) !== 0;
  out["dual_default"] = (flags & L.FLAG_DUAL_DEFAULT) !== 0;
  out["rx_plan_default"] = (flags & L.FLAG_RX_PLAN_DEFAULT) !== 0;
  const pop = (k: number): string | null => (error !== null ? null : (c.populations[mi[k] ?? -1] ?? null));
  out["population"] = pop(L.OUT_POP_C);
  out["rx_population"] = pop(L.OUT_POP_D);
  if (c.factors) out["factors"] = valueError !== null ? [] : decodeFactors(lb, r, codes);
  return out;
}

/** Factor rows from the factor-mode trace of one member (buildFactorsBatch with n = 1). */
function decodeFactors(lb: Labels, r: BatchResult, codes: string[]): UdfFactor[] {
  const W = L.TRACE_STRIDE / 4;
  const tr = r.trace;
  const rows: UdfFactor[] = [];
  forEachFactorRecord(tr, r.traceF64, (k, member, mIdx, hcc, dxFrom, dxTo) => {
    const kind = tr[k * W] ?? 0;
    const m = lb.byIndex[mIdx];
    const seg = r.modelI32[((r.slotOf[mIdx] ?? 0) * r.n + member) * 3] ?? -1;
    // a model with no segment for the member has no score and no rows (its hierarchy ran first)
    if (seg < 0) return;
    const row: UdfFactor = {
      model: m?.id ?? "",
      segment: m?.segments[seg] ?? null,
      factor: "",
      factor_type: "",
      coefficient: factorRowCoefficient(tr, r.traceF64, k),
      hcc: null,
      dx_codes: [],
    };
    if (hcc >= 0) {
      row.factor = `${m?.hccPrefix ?? ""}${hcc}`;
      row.factor_type = hccRowType(tr, k);
      row.hcc = hcc;
      for (let j = dxFrom; j >= 0 && j < dxTo; j++) {
        const d = dxAssigning(tr, j, hcc);
        if (d >= 0) row.dx_codes.push(codes[d] ?? "");
      }
    } else {
      const a = tr[k * W + 1] ?? 0;
      row.factor = m?.variables[a] ?? "";
      row.factor_type = kind === L.T_DIVISOR ? "divisor" : (m?.variableKinds[a] ?? "demographic");
    }
    rows.push(row);
  });
  return rows;
}

// ---- the per-context API ---------------------------------------------------------------------

function partsBytes(store: UdfStore, name: string, n: number, bytes: number): Uint8Array {
  const out = new Uint8Array(bytes);
  let at = 0;
  for (let i = 0; i < n; i++) {
    const key = n === 1 && name === "wasm" ? "wasm" : `${name}.${i}`;
    const s = store.parts[key];
    if (typeof s !== "string") {
      throw new Error(`hcc udf: library part ${key} is not loaded (every file of the bundle must be in OPTIONS(library=…))`);
    }
    at += decodeBase64Into(s, out, at);
  }
  if (at !== bytes) throw new Error(`hcc udf: ${name} decoded to ${at} bytes, expected ${bytes}`);
  return out;
}

/** The UDF API over one context's store (library parts + the kernel once instantiated). */
export function createHccUdf(config: UdfConfig, wasmBytes: number, store: UdfStore): HccUdf {
  const labels = buildLabels(config);
  const buffers = new RowBuffers();
  const traceOpts = config.options | (config.factors ? L.OPT_FACTORS : 0);
  const nScored = Math.max(1, config.scored.length);
  let kernel: Kernel | null = null;
  let pending: Promise<void> | null = null;

  const pack = (): Uint8Array => partsBytes(store, "pack", config.packParts, config.packBytes);
  const wasm = (): Uint8Array => partsBytes(store, "wasm", 1, wasmBytes);
  const release = (): void => {
    for (const k of Object.keys(store.parts)) store.parts[k] = null; // the kernel holds its copy
  };
  const install = (k: Kernel): void => {
    kernel = k;
    release();
  };

  const scoreRow = (k: Kernel, member: UdfMember | null): UdfResult => {
    const m = member ?? {};
    const valueError = encodeAttrs(m, buffers.attrs);
    const batch = buffers.encodeCodes(m.diagnosis_codes);
    const nCodes = batch.memberOffsets[1] ?? 0;
    const r = k.score(batch, {
      modelMask: config.modelMask,
      options: traceOpts,
      asOfDays: config.asOfDays,
      models: config.scored,
      traceCap: config.factors ? factorTraceCap(1, nCodes, nScored) : 0,
    });
    return decodeResult(config, labels, r, valueError, buffers.codes);
  };

  return {
    ready: () => kernel !== null,
    score(member) {
      if (kernel === null) install(new Kernel(new WebAssembly.Module(wasm()), pack()));
      return scoreRow(kernel as unknown as Kernel, member);
    },
    scoreAsync(member) {
      if (kernel !== null) return scoreRow(kernel, member);
      pending ??= (async () => {
        const module = await WebAssembly.compile(wasm());
        const instance = await WebAssembly.instantiate(module, kernelImports());
        install(new Kernel(instance, pack()));
      })();
      return pending.then(() => scoreRow(kernel as unknown as Kernel, member));
    },
  };
}
