// The pack builder is the last check between data/ and the kernel: reference tables that do not
// fit together (a coefficient without a rule, an HCC that is not a payment HCC, an unknown value
// in a rule) must stop the build with the model and the item named, never build a pack that
// silently scores them as zero. Also: `when` clauses compile to the kernel's (index, lo, hi).
import { describe, expect, it } from "vitest";
import { loadPaymentYear } from "../../src/data/load.js";
import { compileWhen, INT_MAX, INT_MIN } from "../../src/engine/clauses.js";
import * as L from "../../src/engine/layout.js";
import { buildPack, codeKey } from "../../src/engine/pack-builder.js";
import type { ModelTables, PaymentYearTables } from "../../src/engine/tables.js";

/** PY2026 tables with one model changed by `edit` (a deep copy; data/ is not touched). */
function tablesWith(id: string, edit: (m: ModelTables) => void): PaymentYearTables {
  const t = loadPaymentYear(2026);
  const m = t.models.find((x) => x.id === id);
  if (!m) throw new Error(`no ${id}`);
  const copy: ModelTables = structuredClone(m);
  edit(copy);
  return { ...t, models: t.models.map((x) => (x.id === id ? copy : x)) };
}

describe("buildPack refuses tables that do not fit together", () => {
  it("builds the shipped tables, deterministically", () => {
    const a = buildPack(loadPaymentYear(2026));
    const b = buildPack(loadPaymentYear(2026));
    expect(Buffer.from(a.bytes).equals(Buffer.from(b.bytes))).toBe(true);
    expect(a.meta.models.map((m) => m.id)).toEqual(["V22", "V24", "V28", "ESRD21", "ESRD24", "RX08"]);
  });

  it("a coefficient whose variable has no rule", () => {
    const t = tablesWith("V28", (m) => {
      const seg = m.coefficients.find(([s]) => s !== "")?.[0] ?? "";
      m.coefficients.push([seg, "MYSTERY_TERM", 0.5]);
    });
    expect(() => buildPack(t)).toThrow(/^V28: 1 coefficients have no rule in data\/rules: \w+_MYSTERY_TERM$/);
  });

  it("an HCC coefficient for an HCC the model does not pay (no label)", () => {
    const t = tablesWith("V28", (m) => {
      m.labels.delete(37);
      m.coefficients = m.coefficients.filter(([, v]) => v !== "HCC37");
    });
    // the crosswalk still maps codes to HCC37: it is no longer a payment HCC
    expect(() => buildPack(t)).toThrow(/^V28: .* refers to HCC37, not a payment HCC$/);
  });

  it("a rule with an unknown value or an unknown enum member names where it is", () => {
    const unknownKey = tablesWith("V28", (m) => {
      const name = Object.keys(m.rules.variables)[0] ?? "";
      const v = m.rules.variables[name];
      if (v) v.when = { ...(v.when ?? {}), shoe_size: 44 } as never;
    });
    expect(() => buildPack(unknownKey)).toThrow(/^V28 \w+: unknown value 'shoe_size' in a rule$/);
    expect(() => compileWhen({ sex: "X" } as never, "V28 segment CNA")).toThrow("V28 segment CNA: 'X' is not a value of sex");
  });

  it("a segment without coefficients", () => {
    const t = tablesWith("RX08", (m) => {
      const seg = m.rules.segments.find((s) => s.prefix !== null);
      const key = seg?.prefix ?? seg?.id ?? "";
      m.coefficients = m.coefficients.filter(([s]) => s !== key);
    });
    expect(() => buildPack(t)).toThrow(/^RX08: no coefficients for segment \w+$/);
  });
});

describe("compileWhen", () => {
  it("compiles scalars, enums, ranges and negations into (value index, lo, hi)", () => {
    expect(compileWhen({ sex: "F", age: [65, null], orec: 1 } as never, "x")).toEqual([
      [L.V_SEX, 2, 2],
      [L.V_AGE, 65, INT_MAX],
      [L.V_OREC, 1, 1],
    ]);
    expect(compileWhen({ age: [null, 64] } as never, "x")).toEqual([[L.V_AGE, INT_MIN, 64]]);
    expect(compileWhen({ esrd: { not: "none" } } as never, "x")).toEqual([[L.V_ESRD | 0x100, 0, 0]]);
    expect(compileWhen({ dual: "full", rx_plan: "pdp" } as never, "x")).toEqual([
      [L.V_DUAL, 2, 2],
      [L.V_RX_PLAN, 1, 1],
    ]);
    expect(compileWhen({}, "x")).toEqual([]);
  });
});

describe("codeKey", () => {
  it("packs up to eight code bytes little-endian, as the kernel's hash reads them", () => {
    expect(codeKey("A")).toBe(0x41n);
    expect(codeKey("E119")).toBe(0x39313145n);
    expect(codeKey("Z99")).not.toBe(codeKey("Z990"));
  });
});
