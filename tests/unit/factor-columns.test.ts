// The kernel's factorColumns pass (assembly/factors.ts) against the trace visitor the BigQuery
// UDF decodes factor rows with (src/engine/factor-records.ts): the same rows, in the same order,
// with the same labels and dx codes, on generated members scored by every pack model (so many
// members have models without a segment), with value errors and ESRD members mixed in.
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { Table, type RecordBatch, type Vector } from "apache-arrow";
import { buildCodeWeights, generateCohort } from "../../src/cohort/generate.js";
import { loadEngine } from "../../src/load.js";
import { membersToBatch, type MemberInput } from "../../src/engine/member.js";
import { encodeArrowBatch } from "../../src/engine/arrow-encode.js";
import { buildFactorTables, buildLabelBytes } from "../../src/engine/arrow-results.js";
import { dxAssigning, factorRowCoefficient, factorTraceCap, forEachFactorRecord } from "../../src/engine/factor-records.js";
import * as L from "../../src/engine/layout.js";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const codes = buildCodeWeights(readFileSync(join(ROOT, "data", "py2026", "V28", "crosswalk.tsv"), "utf8"));

function cohort(n: number): MemberInput[] {
  const members: MemberInput[] = [...generateCohort({ members: n, seed: 7, paymentYear: 2026, codes })].flat();
  members.forEach((m, i) => {
    if (i % 97 === 5) m.sex = "X"; // a value error: no rows
    if (i % 11 === 3) m.esrd_status = ["dialysis", "transplant", "graft"][i % 3] ?? null;
    if (i % 11 === 3 && i % 2 === 0) m.graft_months = i % 40;
  });
  return members;
}

type RowKey = string;
type Row = Record<string, unknown>;

function factorRows(rb: RecordBatch | null): Row[] {
  if (!rb) throw new Error("no factor batch");
  return new Table(rb).toArray().map((r: { toJSON(): Row }) => r.toJSON());
}

describe("factorColumns (Wasm) against the trace visitor", () => {
  it("gives the visitor's rows, minus models without a segment, for every model and member", () => {
    const engine = loadEngine({ paymentYear: 2026, models: [], mceEdits: true, rounding: "round3" });
    const all = loadEngine({
      paymentYear: 2026,
      models: engine.meta.models.map((m) => m.id),
      mceEdits: true,
      rounding: "round3",
    });
    let noSegmentRows = 0;
    let dropped = 0;
    for (const e of [engine, all]) {
      const members = cohort(3000);
      const { batch, errors } = encodeArrowBatch(membersToBatch(members).batch);
      const models = e.meta.models.map((_, i) => i);
      const nCodes = batch.memberOffsets[batch.n] ?? 0;
      const r = e.kernel.score(batch, {
        modelMask: models.reduce((a, m) => a | (1 << m), 0),
        options: L.OPT_MCE | L.OPT_ROUND3 | L.OPT_FACTORS,
        asOfDays: Date.UTC(2026, 1, 1) / 86_400_000,
        models,
        traceCap: factorTraceCap(batch.n, nCodes, models.length),
      });
      const labels = buildLabelBytes(e);
      const tables = buildFactorTables(e, labels);
      const errored = Uint8Array.from(errors, (x) => (x ? 1 : 0));
      const f = e.kernel.factorColumns(tables, errored);

      // the reference: the visitor's rows, labelled the way the UDF labels them
      const dec = new TextDecoder();
      const code = (c: number): string => dec.decode(batch.codeBytes.subarray(batch.codeOffsets[c], batch.codeOffsets[c + 1]));
      const W = L.TRACE_STRIDE / 4;
      const want: RowKey[] = [];
      forEachFactorRecord(r.trace, r.traceF64, (k, member, m, hcc, dxFrom, dxTo) => {
        if (errored[member]) return;
        const seg = r.modelI32[((r.slotOf[m] ?? 0) * r.n + member) * 3] ?? -1;
        if (seg < 0) {
          noSegmentRows++;
          return;
        }
        const model = e.meta.models[m]!;
        const kind = r.trace[k * W] ?? 0;
        let factor: string;
        let type: string;
        const dx: string[] = [];
        if (hcc >= 0) {
          factor = `${model.hccPrefix}${hcc}`;
          type = kind === L.T_HIER_DROP ? "hcc_dropped" : kind === L.T_HCC_UNSCORED ? "hcc_unscored" : "hcc";
          if (type === "hcc_dropped") dropped++;
          for (let j = dxFrom; j >= 0 && j < dxTo; j++) {
            const d = dxAssigning(r.trace, j, hcc);
            if (d >= 0) dx.push(code((batch.memberOffsets[member] ?? 0) + d));
          }
        } else {
          const a = r.trace[k * W + 1] ?? 0;
          factor = model.variables[a] ?? "";
          type = kind === L.T_DIVISOR ? "divisor" : (model.variableKinds[a] ?? "");
        }
        const coef = factorRowCoefficient(r.trace, r.traceF64, k);
        want.push(JSON.stringify([member, model.id, model.segments[seg]?.id, factor, type, coef, hcc >= 0 ? hcc : null, dx]));
      });

      // the columns, labelled through the host's dictionaries
      const segNames = e.meta.models.flatMap((m) => m.segments.map((s) => s.id));
      const factorNames = labels.factorNames.vector;
      const typeNames = labels.factorTypes.vector;
      const got: RowKey[] = [];
      for (let i = 0; i < f.rows; i++) {
        const valid = ((f.hccValid[i >> 3] ?? 0) >> (i & 7)) & 1;
        const dx: string[] = [];
        for (let c = f.dxOffsets[i]!; c < f.dxOffsets[i + 1]!; c++) {
          dx.push(dec.decode(f.dxBytes.subarray(f.dxByteOffsets[c], f.dxByteOffsets[c + 1])));
        }
        got.push(
          JSON.stringify([
            f.member[i],
            e.meta.models[f.model[i]!]!.id,
            segNames[f.segment[i]!],
            factorNames.get(f.factor[i]!),
            typeNames.get(f.type[i]!),
            f.coef[i],
            valid ? f.hcc[i] : null,
            dx,
          ]),
        );
      }
      expect(got.length).toBeGreaterThan(10_000);
      expect(f.hccNulls).toBe(got.filter((g) => (JSON.parse(g) as unknown[])[6] === null).length);
      expect(got).toEqual(want);
    }
    // the cases the comparison is for happened
    expect(noSegmentRows).toBeGreaterThan(0);
    expect(dropped).toBeGreaterThan(100);
  });

  it("grows its code bytes for codes longer than its first guess", () => {
    const engine = loadEngine({ paymentYear: 2026, models: [], mceEdits: true, rounding: "round3" });
    // spaces and dots are dropped before the lookup, so this is E11.22; dx_codes keep the bytes as given
    const long = `E11.22${" ".repeat(5000)}`;
    const { batch } = membersToBatch([
      { member_id: "A", birth_date: "1950-01-01", sex: "F", orec: "0", diagnosis_codes: [long, "I5022"] },
    ]);
    const rows = factorRows(engine.scoreArrowBatch(batch, "run", { factors: true }).factors);
    const hcc37 = rows.find((r) => r["model"] === "V28" && r["factor"] === "HCC37");
    expect((hcc37?.["dx_codes"] as Vector | undefined)?.toArray()).toEqual([long]);
  });

  it("leaves out a model with no segment for the member (it has no score), keeping the others", () => {
    const engine = loadEngine({ paymentYear: 2026, models: ["V24", "ESRD24"], mceEdits: true, rounding: "round3" });
    // E11.22 and E11.9: the hierarchy drops HCC 19 under 18 in both models; a member without
    // ESRD has no ESRD24 segment
    const { batch } = membersToBatch([
      { member_id: "A", birth_date: "1950-01-01", sex: "F", orec: "0", diagnosis_codes: ["E1122", "E119"] },
    ]);
    const { scores, factors } = engine.scoreArrowBatch(batch, "run", { factors: true });
    expect((new Table(scores).get(0)?.toJSON() as Row | undefined)?.["esrd24_segment"]).toBeNull();
    const rows = factorRows(factors);
    expect(rows.map((r) => r["model"])).not.toContain("ESRD24");
    expect(rows).toContainEqual(
      expect.objectContaining({ model: "V24", segment: "CNA", factor: "HCC19", factor_type: "hcc_dropped" }),
    );
  });
});
