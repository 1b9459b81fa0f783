// Gap-value benchmark (docs/gap-values.md): the same cohort scored warehouse → warehouse with
// and without `--gaps` (three candidate HCCs per member, each kept HCC's at-risk value, and the
// candidates together), two rounds alternating, 2 workers. Prints wall time, members/s, gap rows
// and the ratio to the plain run; writes bench/results/gaps-<date>-<commit>.json (not with --smoke).
//
//   node --single-threaded-gc bench/gaps-bench.js [--members N] [--smoke] [--db FILE]
//     --db: score a copy of an existing warehouse (e.g. one `hcc generate` made) instead of generating
import { copyFileSync, mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { generateWarehouse } from "../dist/cli/generate.js";
import { openSink, openSource } from "../dist/io/open.js";
import { runScoring } from "../dist/pipeline/score-run.js";
import { defaultDataDir } from "../dist/data/load.js";
import { writeResult } from "./record.js";

const { values: args } = parseArgs({
  options: { members: { type: "string" }, smoke: { type: "boolean", default: false }, db: { type: "string" } },
});
const dir = mkdtempSync(join(os.tmpdir(), "hcc-gaps-bench-"));
const db = join(dir, "warehouse.duckdb");
let members = Number(args.members ?? (args.smoke ? "20000" : "1000000"));
if (args.db) copyFileSync(args.db, db);
else {
  const t = performance.now();
  const g = await generateWarehouse({ members, seed: 7, out: db, paymentYear: 2026, layout: "long", dataDir: defaultDataDir() });
  console.log(
    `setup: generated ${members.toLocaleString("en-US")} members, ${g.dxRows.toLocaleString("en-US")} dx rows in ${((performance.now() - t) / 1000).toFixed(1)} s`,
  );
}

// three open gaps per member: a cancer (hierarchy with 18–23), heart failure (interactions), obesity
const CANDIDATES = [
  { model: "V28", hcc: 17 },
  { model: "V28", hcc: 226 },
  { model: "V28", hcc: 48 },
];
const gaps = { add: true, remove: true, all: true, monthlyBaseRate: 1000, source: { kind: "list", candidates: CANDIDATES } };

async function run(label, withGaps) {
  const source = await openSource(db);
  const sink = await openSink(db);
  const t = performance.now();
  const s = await runScoring({
    source,
    sink,
    paymentYear: 2026,
    models: [],
    mceEdits: true,
    rounding: "round3",
    workers: 2,
    factors: true,
    gaps: withGaps ? gaps : null,
  });
  await source.close();
  const wall = (performance.now() - t) / 1000;
  members = s.membersIn;
  const r = {
    label,
    gaps: withGaps,
    members: s.membersIn,
    gap_rows: s.gapRows,
    wall_seconds: wall,
    members_per_second: s.membersIn / wall,
    stage_seconds: s.stageSeconds,
    peak_rss_mib: process.resourceUsage().maxRSS / 1024,
  };
  console.log(
    `${label}: ${wall.toFixed(2)} s, ${Math.round(r.members_per_second).toLocaleString("en-US")} members/s, ${s.gapRows.toLocaleString("en-US")} gap rows; ` +
      `kernel ${s.stageSeconds.kernel.toFixed(2)} s, encode ${s.stageSeconds.encode.toFixed(2)} s, write ${s.stageSeconds.write.toFixed(2)} s; peak RSS so far ${Math.round(r.peak_rss_mib)} MiB`,
  );
  return r;
}

const runs = [];
for (let round = 1; round <= 2; round++) {
  runs.push(await run(`plain #${round}`, false));
  runs.push(await run(`--gaps #${round}`, true));
}
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)];
const plain = Math.min(...runs.filter((r) => !r.gaps).map((r) => r.wall_seconds));
const withGaps = Math.min(...runs.filter((r) => r.gaps).map((r) => r.wall_seconds));
const ratio = withGaps / plain;
console.log(
  `best of 2: plain ${plain.toFixed(2)} s, --gaps ${withGaps.toFixed(2)} s → ${ratio.toFixed(2)}× the plain run (target < 2×; median ratio ${(median(runs.filter((r) => r.gaps).map((r) => r.wall_seconds)) / median(runs.filter((r) => !r.gaps).map((r) => r.wall_seconds))).toFixed(2)}×)`,
);

if (!args.smoke) {
  const out = writeResult("gaps", `-${members}`, {
    config: {
      members,
      candidates: CANDIDATES,
      remove: true,
      together: true,
      workers: 2,
      factors: true,
      sink: "duckdb (parquet views)",
    },
    runs,
    best_ratio: ratio,
  });
  console.log(`wrote ${out}`);
}
rmSync(dir, { recursive: true, force: true });
