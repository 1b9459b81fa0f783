// Change attribution benchmark (`hcc diff`, docs/attribution.md): members/s of attributeChanges
// in process (engines loaded and members generated first, untimed) for three comparisons of a
// seeded cohort — two member records in one payment year (demographics and diagnoses move), one
// record in two payment years (model and normalization move), and both at once (up to 2^5
// scorings per member). Prints members/s and scorings per member; no timing assertions.
//
//   node bench/diff-bench.js [--members N] [--smoke]
import { readFileSync } from "node:fs";
import os from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { execFileSync } from "node:child_process";
import { buildCodeWeights, generateCohort } from "../dist/cohort/generate.js";
import { loadAttributionYear } from "../dist/load.js";
import { attributeChanges } from "../dist/attribution/attribute.js";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");
const { values: args } = parseArgs({ options: { members: { type: "string" }, smoke: { type: "boolean", default: false } } });
const members = Number(args.members ?? (args.smoke ? "2000" : "100000"));
const CHUNK = 2048;

/** Side B: a seeded edit of side A (a code lost, a code gained, a birthday, a dual status change). */
function perturb(m, i, pool) {
  const h = Math.imul(i + 1, 0x9e3779b1) >>> 0;
  const codes = [...(m.diagnosis_codes ?? [])];
  if (h % 3 === 0 && codes.length > 0) codes.splice(h % codes.length, 1);
  if (h % 5 < 2) codes.push(pool[h % pool.length]);
  const to = { ...m, diagnosis_codes: codes };
  if (h % 7 === 0) to.age = m.age + 1;
  if (h % 11 === 0) to.dual_elgbl_cd = m.dual_elgbl_cd === "02" ? "00" : "02";
  return to;
}

const codes = buildCodeWeights(readFileSync(join(ROOT, "data", "py2026", "V28", "crosswalk.tsv"), "utf8"));
const pool = codes.slice(0, 500).map((c) => c.code);
const cohort = [];
for (const chunk of generateCohort({ members, seed: 11, paymentYear: 2026, codes, chunkSize: 10000 })) {
  for (const m of chunk) {
    const rest = { ...m };
    delete rest.birth_date; // ages, so that a birthday is a demographic change
    cohort.push(rest);
  }
}
const edited = cohort.map((m, i) => ({ participantId: m.member_id, from: m, to: perturb(m, i, pool) }));
const same = cohort.map((m) => ({ participantId: m.member_id, from: m, to: m }));
const py2025 = loadAttributionYear({ paymentYear: 2025 });
const py2026 = loadAttributionYear({ paymentYear: 2026 });

function measure(label, pairs, a, b) {
  let attributed = 0;
  const t0 = performance.now();
  for (let s = 0; s < pairs.length; s += CHUNK) {
    for (const r of attributeChanges(pairs.slice(s, s + CHUNK), a, b)) if (r.status === "ok") attributed++;
  }
  const sec = (performance.now() - t0) / 1000;
  const rate = Math.round(pairs.length / sec);
  console.log(
    `${label.padEnd(44)} ${pairs.length} members  ${sec.toFixed(2)} s  ${rate.toLocaleString("en-US")} members/s  (${attributed} attributed)`,
  );
  return { label, members: pairs.length, seconds: sec, membersPerSecond: rate };
}

let commit = "unknown";
try {
  commit = execFileSync("git", ["rev-parse", "--short", "HEAD"], { cwd: ROOT, encoding: "utf8" }).trim();
} catch {
  // not a git checkout
}
console.log(`node ${process.version}, ${os.cpus()[0]?.model ?? "?"} × ${os.cpus().length}, commit ${commit}`);
measure("PY2026, edited records (demographics, dx)", edited, py2026, py2026);
measure("PY2025 → PY2026, same records (model, NF)", same, py2025, py2026);
measure("PY2025 → PY2026, edited records (all five)", edited, py2025, py2026);
