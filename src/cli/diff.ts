// `hcc diff`: why each member's payment score changed between two scorings (docs/attribution.md).
// Two member-record files in one payment year (--from/--to), one file in two payment years
// (--input with --from-year/--to-year), two files in two years, or two warehouse runs' input
// snapshots (--from-run/--to-run: rows also to risk_score_changes). Rows to --out; the plan-level
// rollup to stdout. Progress shows counts only, never member ids or codes.
import type { Command } from "commander";
import { loadAttributionYear } from "../load.js";
import { parseRounding, parseYear } from "./options.js";
import { formatOf, readMemberRecords } from "../io/member-records.js";
import { AttributionFileWriter, attributionFormatOf } from "../io/attribution-file.js";
import { attributeChanges, GROUPS, type AttributionRow, type MemberPair } from "../attribution/attribute.js";
import { readSnapshotMembers, readSnapshotRun, type SnapshotRun } from "../io/run-snapshots.js";
import { RunChangesWriter } from "../io/run-changes.js";
import { RollupBuilder, type AttributionRollup } from "../attribution/rollup.js";
import type { AttributionYear } from "../attribution/payment-blend.js";
import type { MemberInput } from "../engine/member.js";
import { DataError, UsageError } from "../errors.js";
import { ProgressBar } from "./progress.js";

interface DiffFlags {
  from?: string;
  to?: string;
  input?: string;
  fromYear?: string;
  toYear?: string;
  out?: string;
  format?: string;
  mceEdits: boolean;
  rounding: string;
  chunk?: string;
  quiet?: boolean;
  fromRun?: string;
  toRun?: string;
  db?: string;
  schema?: string;
}

/** Member pairs per attribution call: up to 2^5 scorings each, so batches stay a few MiB. */
const DEFAULT_CHUNK = 2048;

/** A member-record file's records by id, in file order; a repeated id fails the file (line only). */
async function readMembers(path: string, format?: string): Promise<Map<string, MemberInput>> {
  const out = new Map<string, MemberInput>();
  for await (const [m, line] of readMemberRecords(path, formatOf(path, format))) {
    if (out.has(m.member_id))
      throw new DataError(`${path}: line ${line}: field member_id: repeats an earlier member`, {
        file: path,
        row: line,
        column: "member_id",
      });
    out.set(m.member_id, m);
  }
  return out;
}

/** Pairs by member id: the --from file's order, then members only in --to, in its order. */
export function pairMembers(from: ReadonlyMap<string, MemberInput>, to: ReadonlyMap<string, MemberInput>): MemberPair[] {
  const pairs: MemberPair[] = [];
  for (const [id, m] of from) pairs.push({ participantId: id, from: m, to: to.get(id) ?? null });
  for (const [id, m] of to) if (!from.has(id)) pairs.push({ participantId: id, from: null, to: m });
  return pairs;
}

const num = (x: number | null, digits = 4): string => (x === null ? "—" : x.toFixed(digits));
const count = (n: number): string => n.toLocaleString("en-US");

export function renderRollup(r: AttributionRollup, fromYear: number, toYear: number): string {
  const out = [
    `Payment score change, PY${fromYear} → PY${toYear}: ${count(r.members)} members ` +
      `(${count(r.attributed)} attributed, ${count(r.added)} added, ${count(r.removed)} removed, ${count(r.errors)} errors)`,
    `  average change ${num(r.averageChange)}`,
    "  average contribution (sums to the average change):",
  ];
  const w = Math.max(...GROUPS.map((g) => g.length));
  for (const g of GROUPS) out.push(`    ${g.padEnd(w)}  ${num(r.averageParts[g])}`);
  out.push("  members by dominant cause:");
  for (const g of [...GROUPS, "none" as const]) out.push(`    ${g.padEnd(w)}  ${count(r.dominantCauses[g])}`);
  return out.join("\n");
}

/** Where a diff's rows go: the --out file and, for a run pair, the warehouse's risk_score_changes. */
interface RowWriter {
  write(rows: readonly AttributionRow[]): void;
  commit(): unknown;
  abort(): void;
}

interface DiffSides {
  fromMembers: Map<string, MemberInput>;
  toMembers: Map<string, MemberInput>;
  fromYear: number;
  toYear: number;
}

/** Two member-record files in one or two years, or one file in two years. */
async function readFileSides(o: DiffFlags): Promise<DiffSides & { inputs: string[] }> {
  if (o.input && (o.from || o.to)) throw new UsageError("give --input (one file, two years) or --from and --to, not both");
  if (!o.input && !(o.from && o.to))
    throw new UsageError("diff needs --from <file> and --to <file>, --input <file>, or --from-run and --to-run");
  if (!o.out) throw new UsageError("diff needs --out <file.ndjson|file.csv>");
  const fromYear = parseYear(o.fromYear ?? "2026");
  const toYear = o.toYear === undefined ? fromYear : parseYear(o.toYear);
  if (o.input && fromYear === toYear)
    throw new UsageError("--input compares one file across two payment years: give --from-year and --to-year that differ");
  const inputs = o.input ? [o.input] : [o.from as string, o.to as string];
  const fromMembers = await readMembers(inputs[0] as string, o.format);
  const toMembers = o.input ? fromMembers : await readMembers(inputs[1] as string, o.format);
  return { fromMembers, toMembers, fromYear, toYear, inputs };
}

/** Two warehouse runs' input snapshots (score --keep-inputs), each in its run's payment year. */
async function readRunSides(o: DiffFlags): Promise<DiffSides & { runs: [SnapshotRun, SnapshotRun] }> {
  if (!o.fromRun || !o.toRun) throw new UsageError("diff between runs needs --from-run <run_id> and --to-run <run_id>");
  for (const f of ["from", "to", "input", "fromYear", "toYear", "format"] as const)
    if (o[f] !== undefined)
      throw new UsageError("--from-run/--to-run take the members and payment years from the runs: give no files or years");
  const db = o.db ?? "./warehouse.duckdb";
  const schema = o.schema ?? "sgv_reporting";
  const from = await readSnapshotRun(db, schema, o.fromRun);
  const to = await readSnapshotRun(db, schema, o.toRun);
  return {
    fromMembers: await readSnapshotMembers(from.snapshot),
    toMembers: await readSnapshotMembers(to.snapshot),
    fromYear: from.paymentYear,
    toYear: to.paymentYear,
    runs: [from, to],
  };
}

async function runDiff(o: DiffFlags): Promise<AttributionRollup & { fromYear: number; toYear: number }> {
  const chunk = o.chunk === undefined ? DEFAULT_CHUNK : Number(o.chunk);
  if (!Number.isInteger(chunk) || chunk < 1) throw new UsageError(`--chunk: '${o.chunk}' is not a positive whole number`);
  const opts = { mceEdits: o.mceEdits, rounding: parseRounding(o.rounding) };
  const byRun = o.fromRun !== undefined || o.toRun !== undefined;
  const sides = byRun ? await readRunSides(o) : await readFileSides(o);
  const writers: RowWriter[] = [];
  if (o.out) writers.push(new AttributionFileWriter(o.out, attributionFormatOf(o.out), "inputs" in sides ? sides.inputs : []));
  if ("runs" in sides)
    writers.push(new RunChangesWriter(o.db ?? "./warehouse.duckdb", o.schema ?? "sgv_reporting", ...sides.runs));
  try {
    const pairs = pairMembers(sides.fromMembers, sides.toMembers);
    const { fromYear, toYear } = sides;
    const yearA: AttributionYear = loadAttributionYear({ paymentYear: fromYear, ...opts });
    const yearB: AttributionYear = toYear === fromYear ? yearA : loadAttributionYear({ paymentYear: toYear, ...opts });
    const rollup = new RollupBuilder();
    const progress = new ProgressBar(pairs.length, o.quiet === true);
    const t0 = performance.now();
    for (let s = 0; s < pairs.length; s += chunk) {
      const rows = attributeChanges(pairs.slice(s, s + chunk), yearA, yearB);
      for (const w of writers) w.write(rows);
      rollup.add(rows);
      const done = Math.min(s + chunk, pairs.length);
      progress.update({ membersRead: done, membersScored: done, elapsedMs: performance.now() - t0 });
    }
    progress.done();
    for (const w of writers) await w.commit();
    return { ...rollup.finish(), fromYear, toYear };
  } catch (e) {
    for (const w of writers) w.abort();
    throw e;
  }
}

export function registerDiff(program: Command): void {
  program
    .command("diff")
    .description("attribute each member's payment score change to demographics, diagnoses, model and normalization")
    .option("--from <file>", "member records before (.ndjson or .csv; README 'Member input record')")
    .option("--to <file>", "member records after, matched by member_id")
    .option("--input <file>", "one member-record file scored in --from-year and --to-year")
    .option("--from-run <run_id>", "a warehouse run scored with --keep-inputs (score_runs.run_id): its members and payment year")
    .option("--to-run <run_id>", "the run to compare it with; rows also go to <schema>.risk_score_changes")
    .option("--db <file>", "with --from-run/--to-run: the warehouse", "./warehouse.duckdb")
    .option("--schema <name>", "with --from-run/--to-run: warehouse schema", "sgv_reporting")
    .option("--from-year <year>", "payment year of the 'from' scoring (default 2026)")
    .option("--to-year <year>", "payment year of the 'to' scoring (default: --from-year)")
    .option("--out <file>", "attribution rows (.ndjson or .csv)")
    .option("--format <fmt>", "input format when the extension does not say (ndjson | csv)")
    .option("--no-mce-edits", "turn off MCE plausibility edits")
    .option("--rounding <policy>", "round3 | none", "round3")
    .option("--chunk <n>", "members per attribution batch", String(DEFAULT_CHUNK))
    .option("--quiet", "no progress bar")
    .action(async (o: DiffFlags) => {
      const r = await runDiff(o);
      process.stdout.write(renderRollup(r, r.fromYear, r.toYear) + "\n");
    });
}
