// Build the kernel's model pack (assembly/layout.ts PH_*, MB_*, PB_*) from one payment year's
// tables. Model rules are data: this file only compiles them. It fails loudly when a
// coefficient has no rule, a rule names an unknown group, or a table refers to a non-payment HCC.
import * as L from "./layout.js";
import { compileWhen, type Clause } from "./clauses.js";
import { buildDispatch } from "./dispatch.js";
import type { ModelTables, PaymentYearTables, When } from "./tables.js";

export interface SegmentMeta {
  id: string;
  label: string;
}
export interface ModelMeta {
  id: string;
  name: string;
  hccPrefix: string;
  ccNumbers: number[];
  labels: Map<number, string>;
  segments: SegmentMeta[];
  variables: string[];
  variableKinds: VariableKind[];
  edits: { note: string; action: string; source: string; mce: boolean }[];
  /** Edit record index in the kernel table → rule index in `edits` (filled by the writer). */
  editRecordRule: number[];
  whatIfOnly: boolean;
}
export interface PopulationMeta {
  name: string;
  part: "C" | "D";
  models: number[];
  source: string;
}
export interface PackMeta {
  paymentYear: number;
  asOf: string;
  coefficientSet: string;
  dataVersion: string;
  codes: string[];
  models: ModelMeta[];
  populations: PopulationMeta[];
}
export interface Pack {
  bytes: Uint8Array;
  meta: PackMeta;
}

/** Little-endian byte buffer with 8-byte aligned sections; offsets are from the start. */
class Writer {
  private buf = new ArrayBuffer(1 << 16);
  private view = new DataView(this.buf);
  len = 0;
  private ensure(n: number): void {
    if (this.len + n <= this.buf.byteLength) return;
    let cap = this.buf.byteLength;
    while (cap < this.len + n) cap *= 2;
    const nb = new ArrayBuffer(cap);
    new Uint8Array(nb).set(new Uint8Array(this.buf, 0, this.len));
    this.buf = nb;
    this.view = new DataView(nb);
  }
  align(to = 8): number {
    this.ensure(to);
    while (this.len % to !== 0) this.view.setUint8(this.len++, 0);
    return this.len;
  }
  i32s(xs: ArrayLike<number>): number {
    const off = this.align();
    this.ensure(xs.length * 4 + 8);
    for (let i = 0; i < xs.length; i++) this.view.setInt32(this.len + i * 4, xs[i] ?? 0, true);
    this.len += xs.length * 4;
    return off;
  }
  f64s(xs: ArrayLike<number>): number {
    const off = this.align();
    this.ensure(xs.length * 8 + 8);
    for (let i = 0; i < xs.length; i++) this.view.setFloat64(this.len + i * 8, xs[i] ?? 0, true);
    this.len += xs.length * 8;
    return off;
  }
  u64s(xs: ArrayLike<bigint>, alignTo = 8): number {
    const off = this.align(alignTo);
    this.ensure(xs.length * 8 + 8);
    for (let i = 0; i < xs.length; i++) this.view.setBigUint64(this.len + i * 8, xs[i] ?? 0n, true);
    this.len += xs.length * 8;
    return off;
  }
  reserveI32(n: number): number {
    return this.i32s(new Int32Array(n));
  }
  patchI32(off: number, idx: number, v: number): void {
    this.view.setInt32(off + idx * 4, v, true);
  }
  bytes(): Uint8Array {
    return new Uint8Array(this.buf.slice(0, this.len));
  }
}

/** The kernel's key for a normalized code: its bytes little-endian in a u64. */
export function codeKey(code: string): bigint {
  let k = 0n;
  for (let i = 0; i < code.length; i++) k |= BigInt(code.charCodeAt(i)) << BigInt(8 * i);
  return k;
}

/** Home bucket of a key (the kernel's hashKey in assembly/dx-to-cc.ts). */
function hashBucket(key: bigint, bits: number): number {
  return Number(((key * 0x9e3779b97f4a7c15n) & 0xffffffffffffffffn) >> BigInt(64 - bits));
}

function bandRange(band: string): [number, number | null] {
  const gt = /^(\d+)_GT$/.exec(band);
  if (gt) return [Number(gt[1]), null];
  const r = /^(\d+)_(\d+)$/.exec(band);
  if (r) return [Number(r[1]), Number(r[2])];
  if (/^\d+$/.test(band)) return [Number(band), Number(band)];
  throw new Error(`bad age band '${band}'`);
}

export type VariableKind = "demographic" | "interaction" | "count" | "bonus" | "divisor";

interface VarDef {
  name: string;
  clauses: Clause[];
  groups: string[];
  kind: VariableKind;
  family: number; // variables of one family are mutually exclusive (-1 = none)
}

/** Expand a model's cells and variables into named definitions. */
function modelVariables(m: ModelTables): Map<string, VarDef> {
  const out = new Map<string, VarDef>();
  const add = (name: string, when: When, groups: string[] = [], family = -1): void => {
    if (out.has(name)) throw new Error(`${m.id}: variable ${name} defined twice`);
    const kind: VariableKind = groups.length > 0 ? "interaction" : "count" in when ? "count" : "demographic";
    out.set(name, { name, clauses: compileWhen(when, `${m.id} ${name}`), groups, kind, family });
  };
  m.rules.cells.forEach((cell, family) => {
    let combos: [string, When][] = [[cell.template, cell.when ?? {}]];
    for (const [ph, options] of Object.entries(cell.expand ?? {})) {
      combos = combos.flatMap(([t, w]) =>
        Object.entries(options).map(([k, ow]) => [t.replace(`{${ph}}`, k), { ...w, ...ow }] as [string, When]),
      );
    }
    for (const [t, w] of combos) {
      for (const [s, sex] of [
        ["F", "F"],
        ["M", "M"],
      ] as const) {
        for (const band of cell.bands) {
          add(t.replace("{S}", s).replace("{B}", band), { ...w, sex, [cell.age]: bandRange(band) }, [], family);
        }
      }
    }
  });
  // count variables (a single `count` clause with distinct values) are one family too
  const countFamily = m.rules.cells.length;
  for (const [name, v] of Object.entries(m.rules.variables)) {
    const w = v.when ?? {};
    const isCount = Object.keys(w).length === 1 && "count" in w && (v.groups ?? []).length === 0;
    add(name, w, v.groups ?? [], isCount ? countFamily : -1);
  }
  return out;
}

interface Built {
  meta: ModelMeta;
  /** Writes the model block; sets bit `bit` of codeModels[code id] for codes the model maps or edits. */
  write: (w: Writer, codeIndex: Map<string, number>, codeModels: Int32Array, bit: number) => number;
}

function buildModel(m: ModelTables): Built {
  const id = m.id;
  const prefix = m.rules.hccPrefix;
  const hccRe = new RegExp(`^${prefix}(\\d+)$`);
  const payment = new Set<number>();
  for (const [, v] of m.coefficients) {
    const mm = hccRe.exec(v);
    if (mm) payment.add(Number(mm[1]));
  }
  for (const h of m.labels.keys()) payment.add(h);
  const ccNumbers = [...payment].sort((a, b) => a - b);
  const local = new Map(ccNumbers.map((c, i) => [c, i]));
  const loc = (cc: number, what: string): number => {
    const i = local.get(cc);
    if (i === undefined) throw new Error(`${id}: ${what} refers to ${prefix}${cc}, not a payment ${prefix}`);
    return i;
  };

  // groups: named sets plus single HCCs referenced by variables
  const defs = modelVariables(m);
  const groupIdx = new Map<string, number>();
  const groupMembers: number[][] = [];
  const groupOf = (name: string): number => {
    const g = groupIdx.get(name);
    if (g !== undefined) return g;
    let members = m.rules.groups[name];
    if (!members) {
      const mm = hccRe.exec(name);
      if (!mm) throw new Error(`${id}: unknown group ${name}`);
      members = [Number(mm[1])];
    }
    const i = groupMembers.length;
    if (i >= 64) throw new Error(`${id}: more than 64 diagnostic groups`);
    groupIdx.set(name, i);
    groupMembers.push(members.map((c) => loc(c, `group ${name}`)));
    return i;
  };

  // variables actually used, with segment terms
  const varNames: string[] = [];
  const varKinds: VariableKind[] = [];
  const varRows: { clauses: Clause[]; mask: bigint; family: number }[] = [];
  const varIndex = new Map<string, number>();
  const useVar = (key: string, def: VarDef): number => {
    const have = varIndex.get(key);
    if (have !== undefined) return have;
    let mask = 0n;
    for (const g of def.groups) mask |= 1n << BigInt(groupOf(g));
    varIndex.set(key, varRows.length);
    varNames.push(def.name);
    varKinds.push(def.kind);
    varRows.push({ clauses: def.clauses, mask, family: def.family });
    return varRows.length - 1;
  };

  const bySegment = new Map<string, Map<string, number>>();
  for (const [s, v, x] of m.coefficients) {
    const t = bySegment.get(s) ?? new Map<string, number>();
    t.set(v, x);
    bySegment.set(s, t);
  }
  const free = bySegment.get("") ?? new Map<string, number>();
  const variants = m.variants ?? [{ id: "", when: {} }];
  const segMeta: SegmentMeta[] = [];
  const segRows: { sel: Clause[]; hccs: boolean; hccCoef: Float64Array; terms: [number, number][]; divs: [number, number][] }[] =
    [];
  const unknown: string[] = [];
  for (const variant of variants) {
    for (const seg of m.rules.segments) {
      const segId = variant.id === "" ? seg.id : `${variant.id}/${seg.id}`;
      const key =
        seg.prefix === null ? null : variant.id === "" ? (seg.prefix ?? seg.id) : `${variant.id}/${seg.prefix ?? seg.id}`;
      const sel = compileWhen({ ...variant.when, ...seg.when }, `${id} segment ${segId}`);
      const hccCoef = new Float64Array(ccNumbers.length);
      const terms: [number, number][] = [];
      const divs: [number, number][] = [];
      const coefs = key === null ? new Map<string, number>() : bySegment.get(key);
      if (key !== null && !coefs) throw new Error(`${id}: no coefficients for segment ${key}`);
      for (const [v, x] of coefs ?? []) {
        const mm = hccRe.exec(v);
        if (mm) {
          hccCoef[loc(Number(mm[1]), `coefficient ${key}_${v}`)] = x;
          continue;
        }
        const def = defs.get(v);
        if (!def) {
          unknown.push(`${key}_${v}`);
          continue;
        }
        if (x !== 0) terms.push([useVar(v, def), x]);
      }
      const extra = (list: { coef: string; when: When }[] | undefined, into: [number, number][], kind: VariableKind): void => {
        for (const e of list ?? []) {
          const x = free.get(e.coef);
          if (x === undefined) throw new Error(`${id}: segment ${seg.id} names coefficient ${e.coef}, which the table lacks`);
          const def: VarDef = { name: e.coef, clauses: compileWhen(e.when, `${id} ${e.coef}`), groups: [], kind, family: -1 };
          into.push([useVar(`${segId}:${e.coef}`, def), x]);
        }
      };
      extra(seg.extra, terms, "bonus");
      extra(seg.divisors, divs, "divisor");
      segMeta.push({ id: segId, label: seg.label ?? seg.id });
      segRows.push({ sel, hccs: seg.hccs !== false, hccCoef, terms, divs });
    }
  }
  if (unknown.length > 0) {
    throw new Error(`${id}: ${unknown.length} coefficients have no rule in data/rules: ${unknown.slice(0, 8).join(", ")}`);
  }
  // every group gets a bit even when unused, so explain can name them
  for (const g of Object.keys(m.rules.groups)) groupOf(g);

  const editRows: { codes: string[]; clauses: Clause[]; action: number; cc: number; mce: number }[] = [];
  const editMeta: { note: string; action: string; source: string; mce: boolean }[] = [];
  for (const r of m.edits.rules) {
    editRows.push({
      codes: r.codes,
      clauses: compileWhen(r.when, `${id} edit`),
      action: r.action === "override" ? 1 : 0,
      cc: r.action === "override" ? loc(r.cc ?? -1, `edit ${r.note ?? ""}`) : -1,
      mce: r.mce ? 1 : 0,
    });
    editMeta.push({
      note: r.note ?? "",
      action: r.action === "override" ? `→ ${prefix}${r.cc}` : "invalid",
      source: r.source ?? "",
      mce: r.mce === true,
    });
  }

  const meta: ModelMeta = {
    id,
    name: m.rules.name,
    hccPrefix: prefix,
    ccNumbers,
    labels: m.labels,
    segments: segMeta,
    variables: varNames,
    variableKinds: varKinds,
    edits: editMeta,
    editRecordRule: [],
    whatIfOnly: m.whatIfOnly === true,
  };

  const write = (w: Writer, codeIndex: Map<string, number>, codeModels: Int32Array, bit: number): number => {
    const nCodes = codeModels.length;
    const clausePool: number[] = [];
    const addClauses = (cs: Clause[]): [number, number] => {
      const start = clausePool.length / 3;
      for (const c of cs) clausePool.push(...c);
      return [start, cs.length];
    };
    const intPool: number[] = [];
    // crosswalk CSR
    const perCode: number[][] = Array.from({ length: nCodes }, () => []);
    for (const [code, cc] of m.crosswalk) {
      const ci = codeIndex.get(code);
      const li = local.get(cc);
      if (ci === undefined || li === undefined) continue;
      if (!perCode[ci]?.includes(li)) perCode[ci]?.push(li);
    }
    const ccStart = new Int32Array(nCodes + 1);
    const ccList: number[] = [];
    perCode.forEach((l, i) => {
      ccStart[i] = ccList.length;
      ccList.push(...l.sort((a, b) => a - b));
    });
    ccStart[nCodes] = ccList.length;
    // edits CSR (file order within a code)
    const perCodeEdits: number[][] = Array.from({ length: nCodes }, () => []);
    const editWords: number[] = [];
    editRows.forEach((e, ei) => {
      const [cs, cn] = addClauses(e.clauses);
      editWords.push(cs, cn, e.action, e.cc, e.mce);
      for (const code of e.codes) {
        const ci = codeIndex.get(code);
        if (ci !== undefined) perCodeEdits[ci]?.push(ei);
      }
    });
    const editStart = new Int32Array(nCodes + 1);
    const editRefs: number[] = [];
    perCodeEdits.forEach((l, i) => {
      editStart[i] = editRefs.length;
      editRefs.push(...l);
    });
    editStart[nCodes] = editRefs.length;
    // editStart indexes edit records directly: expand to per-code copies
    const editRecords: number[] = [];
    for (const ei of editRefs) editRecords.push(...editWords.slice(ei * 5, ei * 5 + 5));
    meta.editRecordRule = editRefs;
    // pre-hierarchy
    const pre: number[] = [];
    for (const r of m.rules.preHierarchy) {
      if (!local.has(r.zero)) continue;
      const list = (r.unlessAny ?? []).map((c) => loc(c, "pre-hierarchy rule"));
      pre.push(loc(r.zero, "pre-hierarchy rule"), intPool.length, list.length);
      intPool.push(...list);
    }
    // hierarchy, in published order; the kernel visits set parents in ascending order, which
    // is the published order only when parents ascend (true of every CMS SET0 list, §13.2)
    const hier: number[] = [];
    const ruleOf = new Int32Array(ccNumbers.length).fill(-1);
    let prevParent = -1;
    for (const [p, children] of m.hierarchy) {
      const lp = local.get(p);
      if (lp === undefined) continue;
      if (lp <= prevParent) throw new Error(`${id}: hierarchy parents are not in ascending order at ${prefix}${p}`);
      prevParent = lp;
      const lc = children.flatMap((c) => (local.has(c) ? [loc(c, "hierarchy")] : []));
      ruleOf[lp] = hier.length / 3;
      hier.push(lp, intPool.length, lc.length);
      intPool.push(...lc);
    }
    const groupMask = new BigUint64Array(ccNumbers.length);
    groupMembers.forEach((members, g) => {
      for (const li of members) groupMask[li] = (groupMask[li] ?? 0n) | (1n << BigInt(g));
    });
    const varWords: number[] = [];
    for (const v of varRows) {
      const [cs, cn] = addClauses(v.clauses);
      varWords.push(Number(v.mask & 0xffffffffn) | 0, Number(v.mask >> 32n) | 0, cs, cn);
    }
    const termVar: number[] = [];
    const termCoef: number[] = [];
    const termNext: number[] = [];
    const termDispatch: number[] = [];
    const dispatchPool: number[] = [];
    const addDispatch = (items: Clause[][], ids: number[]): number => {
      const rec = buildDispatch(items, ids);
      if (!rec) return -1;
      dispatchPool.push(...rec);
      return dispatchPool.length - rec.length;
    };
    const segDispatch = addDispatch(
      segRows.map((s) => s.sel),
      segRows.map((_, i) => i),
    );
    const segWords: number[] = [];
    const hccCoefOffs: number[] = [];
    for (const s of segRows) hccCoefOffs.push(w.f64s(s.hccCoef));
    segRows.forEach((s, i) => {
      const [ss, sn] = addClauses(s.sel);
      const ts = termVar.length;
      // family members contiguous (stable order otherwise); a match jumps past its family
      const fam = (v: number): number => varRows[v]?.family ?? -1;
      const ordered = s.terms
        .map((t, k) => ({ t, k }))
        .sort((a, b) => {
          const fa = fam(a.t[0]);
          const fb = fam(b.t[0]);
          return fa === fb ? a.k - b.k : (fa < 0 ? 1e9 : fa) - (fb < 0 ? 1e9 : fb);
        })
        .map((x) => x.t);
      ordered.forEach(([v, x], k) => {
        termVar.push(v);
        termCoef.push(x);
        let next = k + 1;
        if (fam(v) >= 0) while (next < ordered.length && fam(ordered[next]?.[0] ?? -1) === fam(v)) next++;
        termNext.push(ts + next);
        // a family run gets a dispatch table at its first term (the kernel then jumps past it)
        const runStart = fam(v) >= 0 && (k === 0 || fam(ordered[k - 1]?.[0] ?? -1) !== fam(v));
        const run = runStart && next - k >= 4 ? ordered.slice(k, next) : [];
        termDispatch.push(
          run.length === 0
            ? -1
            : addDispatch(
                run.map(([rv]) => varRows[rv]?.clauses ?? []),
                run.map((_, j) => ts + k + j),
              ),
        );
      });
      const ds = termVar.length;
      for (const [v, x] of s.divs) {
        termVar.push(v);
        termCoef.push(x);
        termNext.push(termVar.length);
        termDispatch.push(-1);
      }
      segWords.push(ss, sn, s.hccs ? 1 : 0, hccCoefOffs[i] ?? 0, ts, ordered.length, ds, s.divs.length);
    });
    const codeRows = new Int32Array(nCodes * 4);
    for (let i = 0; i < nCodes; i++) {
      codeRows[i * 4] = ccStart[i] ?? 0;
      codeRows[i * 4 + 1] = ccStart[i + 1] ?? 0;
      codeRows[i * 4 + 2] = editStart[i] ?? 0;
      codeRows[i * 4 + 3] = editStart[i + 1] ?? 0;
      if (codeRows[i * 4] !== codeRows[i * 4 + 1] || codeRows[i * 4 + 2] !== codeRows[i * 4 + 3]) {
        codeModels[i] = (codeModels[i] ?? 0) | (1 << bit);
      }
    }
    const block = new Int32Array(L.NMB);
    block[L.MB_N_CC] = ccNumbers.length;
    block[L.MB_CC_NUM] = w.i32s(ccNumbers);
    block[L.MB_CODE_ROWS] = w.i32s(codeRows);
    block[L.MB_CC_LIST] = w.i32s(ccList);
    block[L.MB_HIER_RULE_OF] = w.i32s(ruleOf);
    block[L.MB_EDITS] = w.i32s(editRecords);
    block[L.MB_N_PRE] = pre.length / 3;
    block[L.MB_PRE] = w.i32s(pre);
    block[L.MB_N_HIER] = hier.length / 3;
    block[L.MB_HIER] = w.i32s(hier);
    block[L.MB_GROUP_MASK] = w.u64s(groupMask);
    block[L.MB_N_VARS] = varRows.length;
    block[L.MB_VARS] = w.i32s(varWords);
    block[L.MB_N_SEGS] = segRows.length;
    block[L.MB_SEGS] = w.i32s(segWords);
    block[L.MB_TERM_VAR] = w.i32s(termVar);
    block[L.MB_TERM_COEF] = w.f64s(termCoef);
    block[L.MB_TERM_NEXT] = w.i32s(termNext);
    block[L.MB_DISPATCH] = w.i32s(dispatchPool);
    block[L.MB_SEG_DISPATCH] = segDispatch;
    block[L.MB_TERM_DISPATCH] = w.i32s(termDispatch);
    block[L.MB_INT_POOL] = w.i32s(intPool);
    block[L.MB_CLAUSES] = w.i32s(clausePool);
    return w.i32s(block);
  };
  return { meta, write };
}

/** Build the pack for one payment year. */
export function buildPack(t: PaymentYearTables): Pack {
  const built = t.models.map(buildModel);
  const codeSet = new Set<string>();
  for (const m of t.models) {
    for (const [c] of m.crosswalk) codeSet.add(c);
    for (const r of m.edits.rules) for (const c of r.codes) codeSet.add(c);
  }
  const codes = [...codeSet].sort();
  const codeIndex = new Map(codes.map((c, i) => [c, i]));

  const w = new Writer();
  const header = w.reserveI32(L.NPH);
  let bits = 4;
  while (1 << bits < codes.length * 2) bits++;
  const cap = 1 << bits;
  // a code's model bits tell the kernel which models have anything for it (PH_HASH_KEYS)
  if (built.length > 31) throw new Error(`PY${t.paymentYear}: more than 31 models in one pack`);
  const codeModels = new Int32Array(codes.length);
  const modelOffs = built.map((b, mi) => b.write(w, codeIndex, codeModels, mi));
  // [key, id | model bits << 32] per slot, empty key = 0; buckets of 4 slots (one cache line),
  // filled in order, probed bucket by bucket from the key's home bucket
  const slots = new BigUint64Array(cap * 2);
  const nBuckets = cap / L.HASH_BUCKET_SLOTS;
  codes.forEach((c, i) => {
    const k = codeKey(c);
    let b = hashBucket(k, bits - Math.log2(L.HASH_BUCKET_SLOTS));
    for (;;) {
      let j = 0;
      while (j < L.HASH_BUCKET_SLOTS && slots[(b * L.HASH_BUCKET_SLOTS + j) * 2] !== 0n) j++;
      if (j < L.HASH_BUCKET_SLOTS) {
        const s = b * L.HASH_BUCKET_SLOTS + j;
        slots[s * 2] = k;
        slots[s * 2 + 1] = BigInt(i) | (BigInt(codeModels[i] ?? 0) << 32n);
        break;
      }
      b = (b + 1) & (nBuckets - 1);
    }
  });
  const keysOff = w.u64s(slots, 64);
  const dirOff = w.i32s(modelOffs);

  // populations
  const modelIdx = new Map(t.models.map((m, i) => [m.id, i]));
  const popWords: number[] = [];
  const compWords: number[] = [];
  const nfWords: number[] = [];
  const clausePool: number[] = [];
  const f64: number[] = [];
  const popMeta: PopulationMeta[] = [];
  const addClauses = (when: When, where: string): [number, number] => {
    const cs = compileWhen(when, where);
    const s = clausePool.length / 3;
    for (const c of cs) clausePool.push(...c);
    return [s, cs.length];
  };
  for (const p of t.populations) {
    const [ss, sn] = addClauses(p.when, `population ${p.name}`);
    const cs = compWords.length / L.COMP_STRIDE;
    const models: number[] = [];
    for (const c of p.components) {
      const mi = modelIdx.get(c.model);
      if (mi === undefined) throw new Error(`PY${t.paymentYear} population ${p.name}: model ${c.model} not in the pack`);
      models.push(mi);
      const segs = built[mi]?.meta.segments ?? [];
      const ns = nfWords.length / L.NF_STRIDE;
      for (const r of c.nf) {
        let lo = 0;
        let hi = 0;
        segs.forEach((s, si) => {
          const base = s.id.includes("/") ? s.id.slice(s.id.indexOf("/") + 1) : s.id;
          const ok = r.segments ? r.segments.includes(base) : r.segmentsPrefix ? s.id.startsWith(r.segmentsPrefix) : true;
          if (!ok) return;
          if (si < 32) lo |= 1 << si;
          else hi |= 1 << (si - 32);
        });
        nfWords.push(0, 0, lo, hi, f64.length);
        f64.push(r.value ?? NaN);
      }
      compWords.push(mi, f64.length, ns, c.nf.length);
      f64.push(c.weight);
    }
    popWords.push(p.part === "C" ? 0 : 1, ss, sn, cs, p.components.length, f64.length);
    f64.push(p.maci ?? t.maci);
    popMeta.push({ name: p.name, part: p.part, models, source: p.source });
  }
  // first-match population per part through a dispatch table (pool words 0 and 1: C, D)
  const popDispatch: number[] = [-1, -1];
  for (const part of [0, 1]) {
    const ids = t.populations.flatMap((p, i) => ((p.part === "C" ? 0 : 1) === part ? [i] : []));
    const rec = buildDispatch(
      ids.map((i) => {
        const p = t.populations[i];
        return p ? compileWhen(p.when, `population ${p.name}`) : [];
      }),
      ids,
    );
    if (rec) {
      popDispatch[part] = popDispatch.length;
      popDispatch.push(...rec);
    }
  }
  const pb = new Int32Array(L.NPB);
  pb[L.PB_DISPATCH] = w.i32s(popDispatch);
  pb[L.PB_N_POPS] = t.populations.length;
  pb[L.PB_POPS] = w.i32s(popWords);
  pb[L.PB_COMPS] = w.i32s(compWords);
  pb[L.PB_NF_RULES] = w.i32s(nfWords);
  pb[L.PB_CLAUSES] = w.i32s(clausePool);
  pb[L.PB_F64] = w.f64s(f64);
  const pbOff = w.i32s(pb);

  w.patchI32(header, L.PH_MAGIC, L.PK_MAGIC);
  w.patchI32(header, L.PH_VERSION, L.PK_VERSION);
  w.patchI32(header, L.PH_N_MODELS, built.length);
  w.patchI32(header, L.PH_HASH_CAP, cap);
  w.patchI32(header, L.PH_HASH_KEYS, keysOff);
  w.patchI32(header, L.PH_HASH_VALS, 0);
  w.patchI32(header, L.PH_N_CODES, codes.length);
  w.patchI32(header, L.PH_MODEL_DIR, dirOff);
  w.patchI32(header, L.PH_POPS, pbOff);
  return {
    bytes: w.bytes(),
    meta: {
      paymentYear: t.paymentYear,
      asOf: t.asOf,
      coefficientSet: t.coefficientSet,
      dataVersion: t.dataVersion,
      codes,
      models: built.map((b) => b.meta),
      populations: popMeta,
    },
  };
}
