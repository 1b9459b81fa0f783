import { writeFileSync } from "node:fs";
import { it } from "vitest";
import { loadEngine } from "../../src/load.js";
import { generateMembers, MODEL_IDS } from "./generate-members.js";
import { runOracle } from "./oracle.js";

it("explore", () => {
  for (const model of MODEL_IDS) {
    const members = generateMembers({ model, count: 20000, seed: 20260401 });
    const t0 = Date.now();
    const orc = runOracle(model, members);
    const t1 = Date.now();
    const e = loadEngine({ paymentYear: 2026, models: [model], rounding: "none" });
    const ours = e.scoreMembers(members);
    const t2 = Date.now();
    const p = model.toLowerCase();
    const diffs = [];
    for (let i = 0; i < members.length; i++) {
      const o = ours[i]!; const q = orc[i]!;
      const raw = o[`${p}_raw_score`] as number | null; const hccs = (o[`${p}_hccs`] as string[] | null) ?? [];
      const sameScore = raw !== null && q.raw_score !== null && Math.abs(raw - q.raw_score) <= 1e-9;
      const sameH = JSON.stringify([...hccs].sort()) === JSON.stringify([...(q.hccs ?? [])].sort());
      if (!(sameScore && sameH)) diffs.push({ m: members[i], ours: { raw, seg: o[`${p}_segment`], hccs, err: o.error }, orc: q });
    }
    console.log(model, "oracle ms", t1 - t0, "ours ms", t2 - t1, "diffs", diffs.length);
    writeFileSync(`/tmp/dt/${model}.json`, JSON.stringify(diffs));
  }
}, 600000);
