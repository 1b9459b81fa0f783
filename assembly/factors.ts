// risk_score_factors columns from a factor-mode trace (layout.ts FD_*). The same records and
// rules as src/engine/factor-records.ts (forEachFactorRecord), which the BigQuery UDF still
// uses for one member at a time: a row per term, divisor, hierarchy drop and unscored HCC of a
// model that has a segment for the member (hierarchies run before the segment is chosen); the
// dx → CC records of a member and model come before that model's other records, so the codes
// behind an HCC row are the records of the current dx → CC run that assign its HCC.
import {
  TRACE_STRIDE, T_DX_CC, T_HIER_DROP, T_HCC_TERM, T_HCC_UNSCORED, T_VAR_TERM, T_DIVISOR,
  FD_TRACE, FD_TRACE_LEN, FD_N, FD_OUT_MODEL_I32, FD_ERRORED, FD_HCC_FACTOR, FD_HCC_STRIDE,
  FD_VAR_FACTOR, FD_VAR_TYPE, FD_VAR_STRIDE, FD_SEG_BASE, FD_KIND_TYPE, FD_DIVISOR_TYPE,
  FD_MEMBER_OFFSETS, FD_CODE_OFFSETS, FD_CODE_BYTES, FD_ROW_CAP, FD_MEMBER, FD_MODEL, FD_SEGMENT,
  FD_FACTOR, FD_TYPE, FD_COEF, FD_HCC, FD_HCC_VALID, FD_DX_OFFSETS, FD_DX_CAP, FD_DX_BYTE_OFFSETS,
  FD_DX_BYTES, FD_DX_BYTES_CAP, FD_ROWS, FD_DX_LEN, FD_DX_BYTES_LEN, FD_HCC_NULLS,
} from "./layout";
import { addr, word } from "./pack";


@inline function setI32(base: usize, i: i32, v: i32): void {
  store<i32>(base + (<usize>i << 2), v);
}

/** Write the columns; 0, or -1 when the rows, dx codes or their bytes do not fit. */
export function writeFactorColumns(desc: usize): i32 {
  const tr = addr(desc, FD_TRACE);
  const nRec = word(desc, FD_TRACE_LEN);
  const n = word(desc, FD_N);
  const outMI = addr(desc, FD_OUT_MODEL_I32);
  const errored = addr(desc, FD_ERRORED);
  const hccFactor = addr(desc, FD_HCC_FACTOR);
  const hccStride = word(desc, FD_HCC_STRIDE);
  const varFactor = addr(desc, FD_VAR_FACTOR);
  const varType = addr(desc, FD_VAR_TYPE);
  const varStride = word(desc, FD_VAR_STRIDE);
  const segBase = addr(desc, FD_SEG_BASE);
  const kindType = addr(desc, FD_KIND_TYPE);
  const divisorType = word(desc, FD_DIVISOR_TYPE);
  const memberOffsets = addr(desc, FD_MEMBER_OFFSETS);
  const codeOffsets = addr(desc, FD_CODE_OFFSETS);
  const codeBytes = addr(desc, FD_CODE_BYTES);
  const rowCap = word(desc, FD_ROW_CAP);
  const oMember = addr(desc, FD_MEMBER);
  const oModel = addr(desc, FD_MODEL);
  const oSeg = addr(desc, FD_SEGMENT);
  const oFactor = addr(desc, FD_FACTOR);
  const oType = addr(desc, FD_TYPE);
  const oCoef = addr(desc, FD_COEF);
  const oHcc = addr(desc, FD_HCC);
  const oValid = addr(desc, FD_HCC_VALID);
  const oDxOff = addr(desc, FD_DX_OFFSETS);
  const dxCap = word(desc, FD_DX_CAP);
  const oByteOff = addr(desc, FD_DX_BYTE_OFFSETS);
  const oBytes = addr(desc, FD_DX_BYTES);
  const bytesCap = word(desc, FD_DX_BYTES_CAP);
  memory.fill(oValid, 0, <usize>((rowCap + 7) >> 3));

  let row = 0;
  let dxLen = 0;
  let byteLen = 0;
  let hccNulls = 0;
  let groupStart = 0; // first record of the current (member, model) run of dx → CC records
  let groupEnd = 0; // one past its last one so far
  let groupKey: i64 = -1;
  setI32(oDxOff, 0, 0);
  setI32(oByteOff, 0, 0);
  for (let k = 0; k < nRec; k++) {
    const p = tr + <usize>(k * TRACE_STRIDE);
    const kind = load<i32>(p);
    if (kind == T_DX_CC) {
      const key = <i64>load<f64>(p, 16) * 64 + <i64>load<i32>(p, 8);
      if (key != groupKey) {
        groupKey = key;
        groupStart = k;
      }
      groupEnd = k + 1;
      continue;
    }
    let member: i32;
    let hcc: i32 = -1;
    if (kind == T_HCC_TERM || kind == T_HCC_UNSCORED) {
      member = load<i32>(p, 12);
      hcc = load<i32>(p, 4);
    } else if (kind == T_VAR_TERM || kind == T_DIVISOR) {
      member = load<i32>(p, 12);
    } else if (kind == T_HIER_DROP) {
      member = <i32>load<f64>(p, 16);
      hcc = load<i32>(p, 12);
    } else continue;
    if (load<u8>(errored + <usize>member) != 0) continue;
    const m = load<i32>(p, 8);
    // a model with no segment for the member has no score and no rows (its hierarchy ran first)
    const seg = load<i32>(outMI + <usize>((m * n + member) * 12));
    if (seg < 0) continue;
    if (row >= rowCap) return -1;
    setI32(oMember, row, member);
    setI32(oModel, row, m);
    setI32(oSeg, row, load<i32>(segBase + (<usize>m << 2)) + seg);
    store<f64>(oCoef + (<usize>row << 3), kind == T_HIER_DROP ? 0 : load<f64>(p, 16));
    if (hcc >= 0) {
      setI32(oFactor, row, load<i32>(hccFactor + (<usize>(m * hccStride + hcc) << 2)));
      setI32(oType, row, load<i32>(kindType + (<usize>kind << 2)));
      setI32(oHcc, row, hcc);
      const v = oValid + <usize>(row >> 3);
      store<u8>(v, <i32>load<u8>(v) | (1 << (row & 7)));
      if (groupKey == <i64>member * 64 + <i64>m) {
        const ms = load<i32>(memberOffsets + (<usize>member << 2));
        for (let j = groupStart; j < groupEnd; j++) {
          const q = tr + <usize>(j * TRACE_STRIDE);
          if (load<i32>(q) != T_DX_CC || load<i32>(q, 12) != hcc) continue;
          const c = ms + load<i32>(q, 4);
          const cs = load<i32>(codeOffsets + (<usize>c << 2));
          const len = load<i32>(codeOffsets + (<usize>(c + 1) << 2)) - cs;
          if (dxLen >= dxCap || byteLen + len > bytesCap) return -1;
          memory.copy(oBytes + <usize>byteLen, codeBytes + <usize>cs, <usize>len);
          byteLen += len;
          dxLen++;
          setI32(oByteOff, dxLen, byteLen);
        }
      }
    } else {
      const a = load<i32>(p, 4);
      const at = <usize>(m * varStride + a) << 2;
      setI32(oFactor, row, load<i32>(varFactor + at));
      setI32(oType, row, kind == T_DIVISOR ? divisorType : load<i32>(varType + at));
      setI32(oHcc, row, 0);
      hccNulls++;
    }
    row++;
    setI32(oDxOff, row, dxLen);
  }
  setI32(desc, FD_ROWS, row);
  setI32(desc, FD_DX_LEN, dxLen);
  setI32(desc, FD_DX_BYTES_LEN, byteLen);
  setI32(desc, FD_HCC_NULLS, hccNulls);
  return 0;
}
