// One model's risk_scores columns from a scoreBatch's outputs (layout.ts MC_*): what the host
// built with a loop per member and model (src/engine/arrow-results.ts buildScoresBatch, which
// keeps that loop for lists of text). Same values: tests/unit/model-columns.test.ts.
import {
  MC_N, MC_MODEL, MC_OUT_MODEL_F64, MC_OUT_MODEL_I32, MC_HCC, MC_ERRORED, MC_KEY_OF, MC_KEY_OF_LEN,
  MC_RAW, MC_NORM, MC_SEGMENT, MC_VALID, MC_LIST, MC_KEYS, MC_KEYS_CAP, MC_NULLS, MC_ITEMS,
} from "./layout";
import { addr, word } from "./pack";


/** Write the columns; 0, or -1 when the keys do not fit. */
export function writeModelColumns(desc: usize): i32 {
  const n = word(desc, MC_N);
  const m = word(desc, MC_MODEL);
  const outF = addr(desc, MC_OUT_MODEL_F64) + <usize>(m * n) * 16;
  const outI = addr(desc, MC_OUT_MODEL_I32) + <usize>(m * n) * 12;
  const hcc = addr(desc, MC_HCC);
  const errored = addr(desc, MC_ERRORED);
  const keyOf = addr(desc, MC_KEY_OF);
  const keyOfLen = word(desc, MC_KEY_OF_LEN);
  const raw = addr(desc, MC_RAW);
  const norm = addr(desc, MC_NORM);
  const seg = addr(desc, MC_SEGMENT);
  const valid = addr(desc, MC_VALID);
  const list = addr(desc, MC_LIST);
  const keys = addr(desc, MC_KEYS);
  const keysCap = word(desc, MC_KEYS_CAP);
  memory.fill(valid, 0, <usize>((n + 7) >> 3));
  let nulls = 0;
  let items = 0;
  store<i32>(list, 0);
  for (let i = 0; i < n; i++) {
    const o = outI + <usize>i * 12;
    const f = outF + <usize>i * 16;
    const at = <usize>i << 3;
    if (load<u8>(errored + <usize>i) != 0) {
      store<f64>(raw + at, NaN);
      store<f64>(norm + at, NaN);
      store<i32>(seg + (<usize>i << 2), 0);
      nulls++;
    } else {
      store<f64>(raw + at, load<f64>(f));
      store<f64>(norm + at, load<f64>(f, 8));
      const s = load<i32>(o);
      if (s < 0) {
        store<i32>(seg + (<usize>i << 2), 0);
        nulls++;
      } else {
        store<i32>(seg + (<usize>i << 2), s);
        const v = valid + <usize>(i >> 3);
        store<u8>(v, <i32>load<u8>(v) | (1 << (i & 7)));
        const start = load<i32>(o, 4);
        const end = start + load<i32>(o, 8);
        for (let k = start; k < end; k++) {
          const c = load<i32>(hcc + (<usize>k << 2));
          if (c < 0 || c >= keyOfLen) continue;
          const key = load<i32>(keyOf + (<usize>c << 2));
          if (key < 0) continue;
          if (items >= keysCap) return -1;
          store<i32>(keys + (<usize>items << 2), key);
          items++;
        }
      }
    }
    store<i32>(list + (<usize>(i + 1) << 2), items);
  }
  store<i32>(desc + (<usize>MC_NULLS << 2), nulls);
  store<i32>(desc + (<usize>MC_ITEMS << 2), items);
  return 0;
}
