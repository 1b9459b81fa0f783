// CMS steps: model-specific pre-hierarchy rules (cms-algorithm.md §3.2 V28 heart patch, §6.1
// and §7 ESRD renal zeroing) and hierarchies in published order (§1.4: each rule tests the
// parent's *current* value, so 62 ⊃ 63 ⊃ 202 keeps {62, 202}). Tables: MB_PRE, MB_HIER.
import { emit, traceOn, factorsOn, currentMember } from "./trace";
import { T_PRE_ZERO, T_HIER_DROP } from "./layout";

export function applyPreHierarchy(
  flags: usize, pre: usize, nPre: i32, intPool: usize, ccNum: usize, model: i32,
): void {
  for (let r = 0; r < nPre; r++) {
    const p = pre + <usize>(r * 12);
    const target = load<i32>(p);
    if (load<u8>(flags + <usize>target) == 0) continue;
    const ls = load<i32>(p, 4);
    const lc = load<i32>(p, 8);
    let keep = false;
    for (let i = 0; i < lc; i++) {
      if (load<u8>(flags + <usize>load<i32>(intPool + (<usize>(ls + i) << 2))) != 0) {
        keep = true;
        break;
      }
    }
    if (!keep) {
      store<u8>(flags + <usize>target, 0);
      if (traceOn) emit(T_PRE_ZERO, 0, model, load<i32>(ccNum + (<usize>target << 2)), 0);
    }
  }
}

/**
 * Apply the hierarchy visiting the set CCs in ascending order (`setList`, sorted); `ruleOf[cc]`
 * is the rule whose parent is cc, or -1. Equivalent to running every rule in published order
 * when rules are in ascending parent order (checked by the pack builder).
 */
export function applyHierarchySorted(
  flags: usize, setList: usize, nSet: i32, ruleOf: usize, hier: usize, intPool: usize, ccNum: usize, model: i32,
): void {
  for (let k = 0; k < nSet; k++) {
    const parent = load<i32>(setList + (<usize>k << 2));
    if (load<u8>(flags + <usize>parent) == 0) continue;
    const r = load<i32>(ruleOf + (<usize>parent << 2));
    if (r < 0) continue;
    const p = hier + <usize>(r * 12);
    const cs = load<i32>(p, 4);
    const cc = load<i32>(p, 8);
    for (let i = 0; i < cc; i++) {
      const child = load<i32>(intPool + (<usize>(cs + i) << 2));
      if (load<u8>(flags + <usize>child) != 0) {
        store<u8>(flags + <usize>child, 0);
        if (traceOn || factorsOn) {
          // explain: value 0; factor mode: the member (risk_score_factors' hcc_dropped rows)
          emit(
            T_HIER_DROP, load<i32>(ccNum + (<usize>parent << 2)), model, load<i32>(ccNum + (<usize>child << 2)),
            traceOn ? 0 : <f64>currentMember,
          );
        }
      }
    }
  }
}
