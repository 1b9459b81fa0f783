// `hcc generate`: a seeded synthetic cohort written as a DuckDB warehouse (schema sgv_reporting,
// docs/warehouse.md) or as Parquet files in a directory. Members come from src/cohort/generate.ts
// (deterministic per (seed, payment year, index)), staged as one CSV line per member that DuckDB
// reads in parallel; DuckDB derives service dates, claim sources and the dbt-facing
// hcc_participant / hcc_opportunities tables in SQL from seeded hashes. Progress prints counts only.
import { defaultDataDir } from "../data/load.js";
import { closeSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, statSync, writeSync } from "node:fs";
import { join, resolve } from "node:path";
import { tmpdir } from "node:os";
import type { Command } from "commander";
import { DuckDBInstance, type DuckDBConnection } from "@duckdb/node-api";
import { buildCodeWeights, generateCohort } from "../cohort/generate.js";
import { sqlString } from "../io/duckdb-warehouse.js";
import { UsageError } from "../errors.js";

export interface GenerateOptions {
  members: number;
  seed: number;
  out: string;
  paymentYear: number;
  layout: "long" | "grouped";
  dataDir?: string;
  onProgress?: (membersDone: number) => void;
}

const S = "sgv_reporting";
const PROGRESS_EVERY = 1_048_576;

const US = "\u001f"; // code separator inside the staged CSV's diagnosis_codes field

/** A CSV field: null → empty (read as NULL), text → quoted (read as text, even when empty). */
const csvField = (v: string | null): string => (v === null ? "" : `"${v.replace(/"/g, '""')}"`);

/** Stage the cohort as one CSV file (one line per member, codes joined by U+001F). */
function stageCohort(o: GenerateOptions, file: string): void {
  const dataDir = o.dataDir ?? defaultDataDir();
  const codes = buildCodeWeights(readFileSync(join(dataDir, `py${o.paymentYear}`, "V28", "crosswalk.tsv"), "utf8"));
  const fd = openSync(file, "w");
  try {
    let done = 0;
    for (const chunk of generateCohort({
      members: o.members,
      seed: o.seed,
      paymentYear: o.paymentYear,
      codes,
      chunkSize: 16_384,
    })) {
      const lines = chunk.map(
        (m) =>
          `${m.member_id},${m.birth_date},${m.sex},${m.orec},${m.dual_elgbl_cd ?? ""},${m.lti},${m.new_enrollee},${m.snp},` +
          `${m.diagnosis_codes.length === 0 ? "" : csvField(m.diagnosis_codes.join(US))}\n`,
      );
      writeSync(fd, lines.join(""));
      done += chunk.length;
      if (done % PROGRESS_EVERY < chunk.length) o.onProgress?.(done);
    }
  } finally {
    closeSync(fd);
  }
}

/** Build sgv_reporting in `c` from the staged member file. */
async function buildWarehouse(c: DuckDBConnection, file: string, o: GenerateOptions, crosswalk: string): Promise<void> {
  const seed = o.seed >>> 0;
  const py = o.paymentYear;
  const full = `dual_elgbl_cd IN ('02', '04', '08')`;
  const participantCols = `participant_id, birth_date, sex, orec, orec AS crec, dual_elgbl_cd,
    ${full} AS medicaid, lti, new_enrollee, snp, (dual_elgbl_cd IS NOT NULL AND dual_elgbl_cd <> '00') AS low_income,
    CASE WHEN orec IN ('2', '3') THEN 'dialysis' ELSE 'none' END AS esrd_status, NULL::INTEGER AS graft_months,
    CASE WHEN hash(participant_id, ${seed}, 'rx') % 10 = 0 THEN 'pdp' ELSE 'mapd' END AS rx_plan`;
  const codesList = `CASE WHEN codes IS NULL THEN []::VARCHAR[] ELSE string_split(codes, chr(31)) END`;
  const staged = `read_csv(${sqlString(file)}, header = false, quote = '"', escape = '"', allow_quoted_nulls = false,
      columns = {'participant_id': 'VARCHAR', 'birth_date': 'DATE', 'sex': 'VARCHAR', 'orec': 'VARCHAR', 'dual_elgbl_cd': 'VARCHAR',
                 'lti': 'BOOLEAN', 'new_enrollee': 'BOOLEAN', 'snp': 'BOOLEAN', 'codes': 'VARCHAR'})`;
  await c.run(`DROP SCHEMA IF EXISTS ${S} CASCADE; CREATE SCHEMA ${S};`);
  if (o.layout === "grouped") {
    await c.run(`CREATE TABLE ${S}.participants AS SELECT ${participantCols}, ${codesList} AS diagnosis_codes FROM ${staged};
      CREATE TEMP VIEW dx AS SELECT participant_id, UNNEST(diagnosis_codes) AS diagnosis_code FROM ${S}.participants;`);
  } else {
    // claims-like extras from seeded hashes: a service date in the collection year and a claim source
    await c.run(`CREATE TABLE ${S}.participants AS SELECT ${participantCols} FROM ${staged};
      CREATE TABLE ${S}.participant_diagnosis_codes AS SELECT participant_id, code AS diagnosis_code,
        DATE '${py - 1}-01-01' + CAST(hash(participant_id, k, ${seed}) % 365 AS INTEGER) AS service_date,
        CASE WHEN hash(participant_id, k, ${seed}, 's') % 10 < 6 THEN 'professional' WHEN hash(participant_id, k, ${seed}, 's') % 10 < 9 THEN 'outpatient' ELSE 'inpatient' END AS "source"
        FROM ${staged}, UNNEST(${codesList}) WITH ORDINALITY AS u(code, k);
      CREATE TEMP VIEW dx AS SELECT participant_id, diagnosis_code FROM ${S}.participant_diagnosis_codes;`);
  }
  // dbt-facing: the HCCs CMS reported (≈85% of the member's V28 HCCs, plus 2% of members with a
  // noise HCC) and opportunities (the unreported 15% as suspects; 6% of members a prior-year HCC)
  const pick = (
    salt: string,
  ): string => `(SELECT hcc, row_number() OVER (ORDER BY hcc) - 1 AS i, count(*) OVER () AS n FROM (SELECT DISTINCT hcc FROM xw)) h
        ON h.i = hash(p.participant_id, ${seed}, '${salt}-hcc') % h.n WHERE hash(p.participant_id, ${seed}, '${salt}') % 100`;
  await c.run(`CREATE TEMP TABLE xw AS SELECT upper(replace(code, '.', '')) AS code, CAST(cc AS INTEGER) AS hcc
      FROM read_csv(${sqlString(crosswalk)}, delim = '\t', header = true, columns = {'code': 'VARCHAR', 'cc': 'VARCHAR'});
    CREATE TEMP TABLE member_hcc AS SELECT d.participant_id, x.hcc, min(d.diagnosis_code) AS code,
        hash(d.participant_id, x.hcc, ${seed}, 'rep') % 100 < 85 AS reported
      FROM dx d JOIN xw x ON x.code = upper(replace(trim(d.diagnosis_code), '.', '')) GROUP BY 1, 2;
    CREATE TABLE ${S}.hcc_participant AS
      SELECT participant_id, ${py} AS payment_year, hcc, 'V28' AS model FROM member_hcc WHERE reported
      UNION
      SELECT p.participant_id, ${py}, h.hcc, 'V28' FROM ${S}.participants p JOIN ${pick("noise")} < 2;
    CREATE TABLE ${S}.hcc_opportunities AS
      SELECT participant_id, ${py} AS payment_year, hcc, 'V28' AS model, 'suspect' AS "source", 'diagnosis ' || code || ' in ${py - 1} claims' AS evidence
        FROM member_hcc WHERE NOT reported
      UNION ALL
      SELECT p.participant_id, ${py}, h.hcc, 'V28', 'prior_year', 'reported for PY${py - 1}; no supporting ${py - 1} claim' FROM ${S}.participants p JOIN ${pick("prior")} < 6;
    DROP TABLE member_hcc; DROP TABLE xw; DROP VIEW dx;`);
}

export async function generateWarehouse(o: GenerateOptions): Promise<{ seconds: number; dxRows: number }> {
  const t0 = performance.now();
  const toDir = !o.out.endsWith(".duckdb");
  const stage = join(tmpdir(), `hcc-generate-${process.pid}-${Date.now()}`);
  mkdirSync(stage, { recursive: true });
  const dataDir = o.dataDir ?? defaultDataDir();
  const crosswalk = join(dataDir, `py${o.paymentYear}`, "V28", "crosswalk.tsv");
  const target = toDir ? ":memory:" : `${o.out}.tmp-${process.pid}`;
  try {
    const staged = join(stage, "members.csv");
    stageCohort(o, staged);
    const db = await DuckDBInstance.create(target, { temp_directory: stage, memory_limit: "3GB" });
    const c = await db.connect();
    try {
      await buildWarehouse(c, staged, o, crosswalk);
      const count =
        o.layout === "long"
          ? `SELECT count(*) FROM ${S}.participant_diagnosis_codes`
          : `SELECT sum(len(diagnosis_codes)) FROM ${S}.participants`;
      const dxRows = Number((await c.runAndReadAll(count)).getRows()[0]?.[0] ?? 0);
      if (toDir) {
        mkdirSync(o.out, { recursive: true });
        for (const t of ["participants", "participant_diagnosis_codes", "hcc_participant", "hcc_opportunities"]) {
          if (t === "participant_diagnosis_codes" && o.layout === "grouped") continue;
          await c.run(`COPY ${S}.${t} TO ${sqlString(join(o.out, `${t}.parquet`))} (FORMAT parquet)`);
        }
      } else await c.run("CHECKPOINT");
      return { seconds: (performance.now() - t0) / 1000, dxRows };
    } finally {
      c.closeSync();
      db.closeSync();
      if (!toDir) {
        rmSync(o.out, { force: true });
        rmSync(`${o.out}.wal`, { force: true });
        // rename only after a clean close: a killed generate never leaves a half-built warehouse
        if (statSync(target, { throwIfNoEntry: false })) renameSync(target, o.out);
      }
    }
  } finally {
    rmSync(stage, { recursive: true, force: true });
    rmSync(`${target}.wal`, { force: true });
  }
}

const int =
  (name: string) =>
  (v: string): number => {
    if (!/^\d+$/.test(v)) throw new UsageError(`--${name}: expected a whole number, got '${v}'`);
    return Number(v);
  };

export function registerGenerate(program: Command): void {
  program
    .command("generate")
    .description("write a seeded synthetic cohort to a DuckDB warehouse (sgv_reporting) or a directory of Parquet files")
    .requiredOption("--members <n>", "number of members", int("members"))
    .option("--seed <s>", "seed", int("seed"), 1)
    .requiredOption("--out <path>", "warehouse file (*.duckdb) or output directory")
    .option("--payment-year <y>", "payment year", int("payment-year"), 2026)
    .option("--layout <layout>", "long (participant_diagnosis_codes table) or grouped (diagnosis_codes list column)", "long")
    .option("--data <dir>", "reference data directory (default: the installed package's data/)")
    .action(async (opts: { members: number; seed: number; out: string; paymentYear: number; layout: string; data?: string }) => {
      if (opts.layout !== "long" && opts.layout !== "grouped")
        throw new UsageError(`--layout: expected long or grouped, got '${opts.layout}'`);
      const r = await generateWarehouse({
        members: opts.members,
        seed: opts.seed,
        out: opts.out,
        paymentYear: opts.paymentYear,
        layout: opts.layout,
        dataDir: opts.data ? resolve(opts.data) : defaultDataDir(),
        onProgress: (n) => process.stderr.write(`generate: ${n} members\n`),
      });
      process.stderr.write(
        `generate: ${opts.members} members, ${r.dxRows} diagnosis rows, ${r.seconds.toFixed(1)} s → ${opts.out}\n`,
      );
    });
}
