// The kernel's modelColumns pass (assembly/model-columns.ts) against buildScoresBatch's JavaScript
// loop (which builds the HCC lists as text): the same risk_scores rows, value for value, on generated members
// scored by every pack model (so many members have models without a segment), with value errors
// and ESRD members mixed in.
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { DataType, Table, type RecordBatch } from "apache-arrow";
import { buildCodeWeights, generateCohort } from "../../src/cohort/generate.js";
import { loadEngine } from "../../src/load.js";
import { membersToBatch, type MemberInput } from "../../src/engine/member.js";
import { encodeArrowBatch } from "../../src/engine/arrow-encode.js";
import { buildLabelBytes, buildScoresBatch } from "../../src/engine/arrow-results.js";
import type { ModelColumns } from "../../src/engine/kernel.js";
import * as L from "../../src/engine/layout.js";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const codes = buildCodeWeights(readFileSync(join(ROOT, "data", "py2026", "V28", "crosswalk.tsv"), "utf8"));

function cohort(n: number): MemberInput[] {
  const members: MemberInput[] = [...generateCohort({ members: n, seed: 11, paymentYear: 2026, codes })].flat();
  members.forEach((m, i) => {
    if (i % 89 === 4) m.sex = "X"; // a value error: null scores, segment and lists
    if (i % 13 === 2) m.esrd_status = ["dialysis", "transplant", "graft"][i % 3] ?? null;
    if (i % 13 === 2 && i % 2 === 0) m.graft_months = i % 40;
  });
  return members;
}

const rows = (rb: RecordBatch): string[] =>
  new Table(rb)
    .toArray()
    .map((r: { toJSON(): Record<string, unknown> }) =>
      JSON.stringify(r.toJSON(), (_, v: unknown) =>
        v && typeof v === "object" && "toArray" in v ? [...(v as { toArray(): unknown[] }).toArray()] : v,
      ),
    );

describe("modelColumns (Wasm) against the JavaScript loop", () => {
  it("gives the same risk_scores batch for every model and member", () => {
    const e = loadEngine({ paymentYear: 2026, models: [], mceEdits: true, rounding: "round3" });
    const all = loadEngine({ paymentYear: 2026, models: e.meta.models.map((m) => m.id), mceEdits: true, rounding: "round3" });
    for (const engine of [e, all]) {
      const members = cohort(4000);
      const rb = membersToBatch(members).batch;
      const { batch, errors } = encodeArrowBatch(rb);
      const r = engine.kernel.score(batch, {
        modelMask: engine.scoredModels.reduce((a, m) => a | (1 << m), 0),
        options: L.OPT_MCE | L.OPT_ROUND3,
        asOfDays: Date.UTC(2026, 1, 1) / 86_400_000,
        models: engine.scoredModels,
      });
      const labels = buildLabelBytes(engine);
      const ids = rb.getChild("participant_id")!;
      let calls = 0;
      let nonNullLists = 0;
      const viaKernel = buildScoresBatch(engine, labels, ids, r, errors, "run-1", (m, keyOf, errored): ModelColumns => {
        calls++;
        const c = engine.kernel.modelColumns(m, keyOf, errored);
        nonNullLists += members.length - c.nulls;
        return c;
      });
      const viaJs = buildScoresBatch(engine, labels, ids, r, errors, "run-1", null);
      expect(calls).toBe(engine.scoredModels.length);
      expect(nonNullLists).toBeGreaterThan(members.length); // several models with a segment per member
      expect(errors.filter((x) => x).length).toBeGreaterThan(10);
      // the same columns and types, but for the HCC lists' items: keys into the names, not text
      const types = (rb: RecordBatch): string[] =>
        rb.schema.fields.map((f) => `${f.name}:${f.name.endsWith("_hccs") ? "list" : String(f.type)}`);
      expect(types(viaKernel)).toEqual(types(viaJs));
      for (const f of viaKernel.schema.fields.filter((x) => x.name.endsWith("_hccs"))) {
        expect(DataType.isDictionary((f.type as DataType).children[0]!.type)).toBe(true);
      }
      expect(rows(viaKernel)).toEqual(rows(viaJs));
    }
  });

  it("lists each member's kept HCCs in the kernel's order (keys under an identity map)", () => {
    const engine = loadEngine({ paymentYear: 2026 });
    const members = cohort(500);
    const { batch, errors } = encodeArrowBatch(membersToBatch(members).batch);
    const r = engine.kernel.score(batch, {
      modelMask: engine.scoredModels.reduce((a, m) => a | (1 << m), 0),
      options: L.OPT_MCE | L.OPT_ROUND3,
      asOfDays: Date.UTC(2026, 1, 1) / 86_400_000,
      models: engine.scoredModels,
    });
    const errored = Uint8Array.from(errors, (x) => (x ? 1 : 0));
    for (const m of engine.scoredModels) {
      const keyOf = Int32Array.from(buildLabelBytes(engine).hccBytes[m]!, (b, c) => (b ? c : -1));
      const c = engine.kernel.modelColumns(m, keyOf, errored);
      const slot = r.slotOf[m]!;
      for (let i = 0; i < members.length; i++) {
        const [seg, start, count] = [0, 1, 2].map((k) => r.modelI32[(slot * members.length + i) * 3 + k]!);
        const listed = [...c.keys.subarray(c.listOffsets[i], c.listOffsets[i + 1])];
        const present = ((c.valid[i >> 3]! >> (i & 7)) & 1) === 1;
        expect(present).toBe(!errored[i] && seg! >= 0);
        expect(listed).toEqual(present ? [...r.hccs.subarray(start, start! + count!)] : []);
      }
    }
  });
});
