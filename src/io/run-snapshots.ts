// Run input snapshots (docs/attribution.md "Runs"): a warehouse run can keep the members it scored
// as `<root>/<run_id>/members.parquet` (grouped, zstd), recorded in score_runs.input_snapshot, with
// the last N kept. `hcc diff --from-run/--to-run` reads two of them back. Member data stays beside
// the warehouse, in directories only this user can read.
import { existsSync, mkdirSync, readdirSync, rmSync, statSync } from "node:fs";
import { basename, dirname, join, resolve as resolvePath } from "node:path";
import { MEMBER_TEXT_FIELDS, type MemberInput } from "../engine/member-fields.js";
import { DataError, InternalError, UsageError } from "../errors.js";
import { checkIdent, sqlString } from "./sql-text.js";
import { snapshotsMembers, type MemberSource } from "./types.js";

/** Run ids as newRunId() makes them: UTC timestamp, then 8 hex digits (sortable by time). */
const RUN_ID = /^\d{14}-[0-9a-f]{8}$/;

/** The default snapshot directory of a warehouse schema: `<warehouse>.runs/<schema>/`. */
export function runSnapshotsRoot(warehouse: string, schema: string): string {
  const abs = resolvePath(warehouse);
  return join(dirname(abs), `${basename(abs)}.runs`, schema.toLowerCase());
}

export interface SnapshotOptions {
  /** The directory holding one sub-directory per run. */
  dir: string;
  /** How many runs' snapshots to keep (this one included); older ones are removed after commit. */
  keep: number;
}

/** Refuses a snapshot the source cannot write, before anything is scored. */
export function checkSnapshotSource(source: MemberSource, o: SnapshotOptions): void {
  if (!snapshotsMembers(source))
    throw new UsageError(
      `--keep-inputs: ${source.describe()} cannot keep a run's members (a DuckDB warehouse or Parquet source can)`,
    );
  if (!Number.isInteger(o.keep) || o.keep < 1) throw new UsageError(`--keep-inputs: '${o.keep}' is not a positive whole number`);
}

/** Writes the run's snapshot; returns its file. The member count must equal the run's. */
export async function writeRunSnapshot(
  source: MemberSource,
  o: SnapshotOptions,
  runId: string,
  members: number,
): Promise<string> {
  if (!snapshotsMembers(source)) throw new InternalError("a run snapshot asked of a source that cannot write one");
  const dir = join(o.dir, runId);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const file = join(dir, "members.parquet");
  const n = await source.snapshotMembers(file);
  if (n !== members) throw new InternalError(`run snapshot: ${n} members written ≠ ${members} scored; nothing committed`);
  return file;
}

/** Removes a run's snapshot (the run was not committed). */
export function removeRunSnapshot(o: SnapshotOptions, runId: string): void {
  rmSync(join(o.dir, runId), { recursive: true, force: true });
}

/**
 * Keeps the run just committed and the newest `keep` - 1 other run directories; returns the run ids
 * removed. Newest by the run id's timestamp (seconds), then by the directory's modification time:
 * two runs in the same second differ only in their ids' random suffix, which says nothing of order.
 */
export function pruneRunSnapshots(o: SnapshotOptions, current: string): string[] {
  if (!existsSync(o.dir)) return [];
  const runs = readdirSync(o.dir)
    .filter((d) => RUN_ID.test(d) && d !== current)
    .map((d) => ({ d, at: d.slice(0, 14), mtime: statSync(join(o.dir, d)).mtimeMs }))
    .sort((a, b) => (a.at < b.at ? -1 : a.at > b.at ? 1 : a.mtime - b.mtime || (a.d < b.d ? -1 : 1)))
    .map((r) => r.d);
  const old = runs.slice(0, Math.max(0, runs.length - (o.keep - 1)));
  for (const d of old) rmSync(join(o.dir, d), { recursive: true, force: true });
  return old;
}

/** A score_runs row as `hcc diff --from-run/--to-run` needs it. */
export interface SnapshotRun {
  runId: string;
  paymentYear: number;
  snapshot: string;
}

/** The run's payment year and snapshot file; a usage error when it has none (left out, or pruned). */
export async function readSnapshotRun(warehouse: string, schema: string, runId: string): Promise<SnapshotRun> {
  checkIdent(schema, "schema");
  if (!existsSync(warehouse)) throw new UsageError(`${warehouse}: no such warehouse`);
  const { DuckDBInstance } = await import("@duckdb/node-api");
  const db = await DuckDBInstance.create(warehouse, { access_mode: "READ_ONLY" });
  const c = await db.connect();
  try {
    const has = await c.runAndReadAll(
      `SELECT count(*) FROM information_schema.columns WHERE lower(table_schema) = lower(${sqlString(schema)})
         AND table_name = 'score_runs' AND column_name = 'input_snapshot'`,
    );
    if (Number(has.getRows()[0]?.[0] ?? 0) === 0)
      throw new UsageError(`${warehouse}: ${schema}.score_runs records no input snapshots (score with --keep-inputs N)`);
    const r = await c.runAndReadAll(
      `SELECT payment_year, status, input_snapshot FROM ${schema}.score_runs WHERE run_id = ${sqlString(runId)}`,
    );
    const row = r.getRows()[0] as [number, string, string | null] | undefined;
    if (!row) throw new UsageError(`${warehouse}: run '${runId}' is not in ${schema}.score_runs`);
    const [year, status, snapshot] = row;
    if (status !== "succeeded") throw new UsageError(`run '${runId}' did not succeed (status ${status}): nothing to compare`);
    if (!snapshot) throw new UsageError(`run '${runId}' kept no input snapshot (score with --keep-inputs N)`);
    if (!existsSync(snapshot))
      throw new UsageError(`run '${runId}': its input snapshot ${snapshot} is gone (removed by --keep-inputs retention?)`);
    return { runId, paymentYear: Number(year), snapshot };
  } finally {
    c.closeSync();
    db.closeSync();
  }
}

/** A snapshot's members by id, in file order; every value as text, as a member-record file gives it. */
export async function readSnapshotMembers(file: string): Promise<Map<string, MemberInput>> {
  const { DuckDBInstance } = await import("@duckdb/node-api");
  const db = await DuckDBInstance.create(":memory:");
  const c = await db.connect();
  try {
    const src = `read_parquet(${sqlString(file)})`;
    const present = new Set(
      ((await c.runAndReadAll(`SELECT column_name FROM (DESCRIBE SELECT * FROM ${src})`)).getRows() as [string][]).map(
        ([n]) => n,
      ),
    );
    if (!present.has("participant_id") || !present.has("diagnosis_codes"))
      throw new DataError(`${file}: not a run snapshot (participant_id and diagnosis_codes needed)`, { file });
    const cols = MEMBER_TEXT_FIELDS.filter((n) => present.has(n));
    const r = await c.runAndReadAll(
      `SELECT CAST(participant_id AS VARCHAR), ${cols.map((n) => `CAST("${n}" AS VARCHAR)`).join(", ")}${cols.length > 0 ? "," : ""} diagnosis_codes FROM ${src}`,
    );
    const out = new Map<string, MemberInput>();
    for (const row of r.getRowsJS()) {
      const id = String(row[0] as string);
      const m: MemberInput = { member_id: id };
      cols.forEach((n, i) => {
        const v = row[i + 1];
        if (v !== null && v !== undefined) m[n] = String(v as string);
      });
      const codes = row[cols.length + 1];
      m.diagnosis_codes = Array.isArray(codes) ? codes.map((x) => (x === null ? null : String(x as string))) : [];
      out.set(id, m);
    }
    return out;
  } finally {
    c.closeSync();
    db.closeSync();
  }
}
