// Seeds once per data version (docs/dbt.md "Seeds once per data version"): `hcc nightly` records,
// after a successful `dbt build`, which seed files were loaded into this warehouse file — a hash of
// dbt/seeds/* and dbt/dbt_project.yml (the seeds' column types live there) — and a fingerprint of
// the seed tables as loaded (rows and a sum of row hashes). The next nightly leaves the seeds out of
// `dbt build` only when both still match: a new warehouse, changed seed files, a seed table that
// is missing or was reloaded or edited by anything else all give a full build. The record is a
// table in the seeds' own schema (<schema>_reference), so it travels with the warehouse file and
// disappears with the seeds; a file beside the warehouse would survive the warehouse being
// replaced and wrongly vouch for a file it never saw.
import type { DuckDBConnection } from "@duckdb/node-api";
import { createHash } from "node:crypto";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";

export const SEED_STATE_TABLE = "hcc_seed_state";

/** Runs `fn` on a connection to the warehouse file, closing it afterwards. */
export async function withWarehouse<T>(db: string, fn: (c: DuckDBConnection) => Promise<T>): Promise<T> {
  const { DuckDBInstance } = await import("@duckdb/node-api");
  const inst = await DuckDBInstance.create(db);
  const c = await inst.connect();
  try {
    return await fn(c);
  } finally {
    c.closeSync();
    inst.closeSync();
  }
}

/** The schema dbt writes the seeds to: `<target schema>_reference` (dbt's default naming, dbt_project.yml). */
export function seedSchema(env: NodeJS.ProcessEnv = process.env): string {
  return `${env["HCC_DBT_SCHEMA"] || "hcc"}_reference`;
}

/** The seed names (the CSV files in dbt/seeds). */
export function seedNames(dbtDir: string): string[] {
  return readdirSync(join(dbtDir, "seeds"))
    .filter((f) => f.endsWith(".csv"))
    .map((f) => f.slice(0, -4))
    .sort();
}

/** sha256 over files (name and bytes of each, in the given order), each `[base, path relative to base]`. */
function hashFiles(files: [string, string][]): string {
  const h = createHash("sha256");
  for (const [base, rel] of files) {
    h.update(`${rel}\0`);
    h.update(readFileSync(join(base, rel)));
    h.update("\0");
  }
  return h.digest("hex");
}

/** sha256 over every file in dbt/seeds (name and bytes, in name order) and dbt/dbt_project.yml. */
export function hashSeedFiles(dbtDir: string): string {
  const files = readdirSync(join(dbtDir, "seeds"))
    .sort()
    .map((f) => join("seeds", f));
  return hashFiles([...files, "dbt_project.yml"].map((rel): [string, string] => [dbtDir, rel]));
}

const q = (id: string): string => `"${id.replace(/"/g, '""')}"`;

async function tableNames(c: DuckDBConnection, schema: string): Promise<Set<string>> {
  const r = await c.runAndReadAll(
    `select table_name from information_schema.tables where table_catalog = current_database() and table_schema = '${schema.replace(/'/g, "''")}'`,
  );
  return new Set(r.getRows().map((row) => String(row[0])));
}

/** Rows and a sum of row hashes of each seed table; null when one is missing. */
async function fingerprintSeedTables(c: DuckDBConnection, schema: string, seeds: string[]): Promise<string | null> {
  const present = await tableNames(c, schema);
  if (!seeds.every((s) => present.has(s))) return null;
  const parts: string[] = [];
  for (const s of seeds) {
    const r = await c.runAndReadAll(`select count(*), coalesce(sum(hash(t)), 0) from ${q(schema)}.${q(s)} t`);
    const [n, sum] = r.getRows()[0] ?? [];
    parts.push(`${s}:${String(n)}:${String(sum)}`);
  }
  return parts.join(";");
}

/**
 * Whether the seeds loaded into `db` are the ones in `dbtDir` and untouched since they were
 * recorded by `recordSeedState`. False for a warehouse without a record.
 */
export async function seedsAreCurrent(
  db: string,
  dbtDir: string,
  schema: string,
  filesHash: string = hashSeedFiles(dbtDir),
): Promise<boolean> {
  return withWarehouse(db, async (c) => {
    if (!(await tableNames(c, schema)).has(SEED_STATE_TABLE)) return false;
    const r = await c.runAndReadAll(`select seed_files_sha256, seed_tables_fingerprint from ${q(schema)}.${q(SEED_STATE_TABLE)}`);
    const rows = r.getRows();
    if (rows.length !== 1 || String(rows[0]?.[0]) !== filesHash) return false;
    return String(rows[0]?.[1]) === (await fingerprintSeedTables(c, schema, seedNames(dbtDir)));
  });
}

/**
 * Records the seed files just loaded by a successful `dbt build` (call only after one). Pass the
 * `filesHash` taken before the build, so the record names the files the build read even if one
 * was edited while it ran.
 */
export async function recordSeedState(
  db: string,
  dbtDir: string,
  schema: string,
  filesHash: string = hashSeedFiles(dbtDir),
): Promise<void> {
  await withWarehouse(db, async (c) => {
    const fingerprint = await fingerprintSeedTables(c, schema, seedNames(dbtDir));
    if (fingerprint === null) return; // the build did not leave every seed table: record nothing
    const t = `${q(schema)}.${q(SEED_STATE_TABLE)}`;
    await c.run(
      `create or replace table ${t} as select '${filesHash}' as seed_files_sha256, '${fingerprint.replace(/'/g, "''")}' as seed_tables_fingerprint, now() as recorded_at`,
    );
  });
}

// Unit tests once per code version (docs/dbt.md "Unit tests once per code version"): dbt's unit
// tests check the SQL of the models against fixed fixture rows; they read no warehouse data, so
// their outcome can change only with the project's code (models, macros, tests, seeds,
// dbt_project.yml) or the pinned dbt and adapter versions (scripts/requirements.txt). After a
// successful `dbt build` that ran them, `hcc nightly` records a hash of those files; the next
// nightly leaves unit tests out when the hash still matches. Data tests always run.

export const UNIT_TEST_STATE_TABLE = "hcc_unit_test_state";

/** Every file under `dir` (recursively), as paths relative to `base`, sorted; none when absent. */
function filesUnder(base: string, dir: string): string[] {
  if (!existsSync(join(base, dir))) return [];
  return readdirSync(join(base, dir), { recursive: true, encoding: "utf8" })
    .map((f) => join(dir, f))
    .filter((f) => statSync(join(base, f)).isFile())
    .sort();
}

/**
 * sha256 over the dbt project's code (models, macros, tests, seeds, dbt_project.yml) and the
 * Python pins beside it (`<dbtDir>/../scripts/requirements.txt`), names and bytes in order.
 */
export function hashDbtProject(dbtDir: string): string {
  const files: [string, string][] = ["models", "macros", "tests", "seeds"]
    .flatMap((dir) => filesUnder(dbtDir, dir))
    .map((rel) => [dbtDir, rel]);
  files.push([dbtDir, "dbt_project.yml"]);
  const pins = join("scripts", "requirements.txt");
  if (existsSync(join(dbtDir, "..", pins))) files.push([join(dbtDir, ".."), pins]);
  return hashFiles(files);
}

/** Whether a successful build of exactly this project code already ran the unit tests on `db`. */
export async function unitTestsAreCurrent(
  db: string,
  dbtDir: string,
  schema: string,
  projectHash: string = hashDbtProject(dbtDir),
): Promise<boolean> {
  return withWarehouse(db, async (c) => {
    if (!(await tableNames(c, schema)).has(UNIT_TEST_STATE_TABLE)) return false;
    const r = await c.runAndReadAll(`select dbt_project_sha256 from ${q(schema)}.${q(UNIT_TEST_STATE_TABLE)}`);
    const rows = r.getRows();
    return rows.length === 1 && String(rows[0]?.[0]) === projectHash;
  });
}

/**
 * Records that the unit tests of this project code passed (call only after a build that ran
 * them), with the `projectHash` taken before that build (as for recordSeedState).
 */
export async function recordUnitTestState(
  db: string,
  dbtDir: string,
  schema: string,
  projectHash: string = hashDbtProject(dbtDir),
): Promise<void> {
  await withWarehouse(db, async (c) => {
    await c.run(`create schema if not exists ${q(schema)}`);
    await c.run(
      `create or replace table ${q(schema)}.${q(UNIT_TEST_STATE_TABLE)} as select '${projectHash}' as dbt_project_sha256, now() as recorded_at`,
    );
  });
}
