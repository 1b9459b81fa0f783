// `hcc nightly`: the one-command nightly run. On the embedded default: create the warehouse
// with a generated cohort if there is none, score it through the worker pool, `dbt build` (seeds
// included only when the seed files changed since the last seed into this file: seed-state.ts),
// validate the marts against the engine, say where to look and how long each stage took
// (stage-times.ts; `--timings` writes them as JSON). With `--warehouse bigquery` the same steps run
// against BigQuery (the production entry point).
import type { Command } from "commander";
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { spawnSync } from "node:child_process";
import { totalmem } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { generateWarehouse } from "./generate.js";
import { runPipelineScore, printRunSummary } from "./score.js";
import { validateWarehouse } from "./validate.js";
import { DataError, UnavailableError, UsageError } from "../errors.js";
import type { BigQueryFlags } from "../io/bigquery/config.js";
import { defaultDataDir } from "../data/load.js";
import { ingestFiles, printIngestSummary } from "./ingest.js";
import { formatStageTable, readDbtRunResults, timeStage, type DbtBuildTimes, type StageTime } from "./stage-times.js";
import {
  hashDbtProject,
  hashSeedFiles,
  recordSeedState,
  recordUnitTestState,
  seedSchema,
  seedsAreCurrent,
  unitTestsAreCurrent,
  withWarehouse,
} from "./seed-state.js";

interface NightlyFlags extends BigQueryFlags {
  warehouse: string;
  db: string;
  members: string;
  seed: string;
  year: string;
  models?: string;
  workers?: string;
  dbt: boolean;
  factors: boolean;
  quiet?: boolean;
  resultsStorage?: string;
  claims?: string[];
  tob87x: string;
  gaps: boolean;
  baseRate?: string;
  keepInputs?: string;
  timings?: string;
}

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");

/**
 * HCC_DBT_COMPRESSION, DuckDB's force_compression for the tables dbt builds (dbt/profiles.yml):
 * auto (DuckDB's default) or uncompressed (docs/dbt.md: faster builds, a much larger file).
 * Checked before anything runs, so a typo does not fail the nightly after scoring.
 */
export function checkDbtCompression(value: string | undefined): void {
  if (value !== undefined && value !== "auto" && value !== "uncompressed")
    throw new UsageError(`HCC_DBT_COMPRESSION: '${value}' is not auto or uncompressed`);
}

/**
 * HCC_DBT_STORAGE, where dbt's table models live on the embedded warehouse (dbt/dbt_project.yml):
 * parquet (the default: a Parquet file per model in <warehouse>.dbt/parquet/ and a view over it,
 * docs/adr/0004-dbt-models-as-parquet.md) or table (DuckDB tables in the warehouse file). dbt
 * itself would take any other value as "table"; checked before anything runs.
 */
export function checkDbtStorage(value: string | undefined): "parquet" | "table" {
  if (value === undefined || value === "parquet") return "parquet";
  if (value === "table") return "table";
  throw new UsageError(`HCC_DBT_STORAGE: '${value}' is not parquet or table`);
}

/**
 * dbt threads for a nightly on the embedded warehouse (HCC_DBT_THREADS overrides): as many
 * concurrent models as DuckDB's memory holds, at most 4. Every dbt thread runs its query in the
 * one DuckDB of the build, and the largest need ≈ 0.8 GB per 1M members (patient_risk_scores
 * alone: 7.9 GB at 10M). Measured on 2 cores, 24 GB (bench/README.md, "The nightly job", session
 * 9): at 1M, 4 threads 54 s against 67 s with 1; at 10M, 4 threads 12.4 min (four such queries
 * spilled and took turns: 20 GB peak) against 9.2 min with 1.
 */
export function duckdbDbtThreads(members: number, memoryBytes: number): number {
  const perQuery = 0.8e9 * Math.max(1, members / 1e6);
  const usable = 0.6 * memoryBytes; // DuckDB's limit is 80% of RAM; leave room for the rest
  return Math.max(1, Math.min(4, Math.floor(usable / perQuery)));
}

function runDbt(args: string[], env: Record<string, string>, quiet: boolean): void {
  const r = spawnSync("bash", [join(root, "scripts", "dbt.sh"), ...args], {
    env: { ...process.env, ...env },
    stdio: quiet ? ["ignore", "pipe", "pipe"] : "inherit",
    encoding: "utf8",
  });
  if (r.error) throw new UnavailableError(`dbt could not start: ${r.error.message}`, r.error);
  if (r.status === 69) throw new UnavailableError("dbt is not installed: run 'bash scripts/setup-python.sh'");
  if (r.status !== 0) {
    const tail = quiet
      ? `\n${String(r.stdout ?? "")
          .split("\n")
          .slice(-30)
          .join("\n")}`
      : "";
    throw new DataError(`dbt ${args[0] ?? ""} failed (exit ${r.status ?? "signal"})${tail}`);
  }
}

async function hasParticipants(db: string): Promise<boolean> {
  return hasTable(db, "participants");
}

/** Whether sgv_reporting.<table> exists in the warehouse file (a table or a view). */
async function hasTable(db: string, table: "participants" | "hcc_opportunities"): Promise<boolean> {
  return withWarehouse(db, async (c) => {
    const r = await c.runAndReadAll(
      `SELECT count(*) FROM information_schema.tables WHERE lower(table_schema) = 'sgv_reporting' AND table_name = '${table}'`,
    );
    return Number(r.getRows()[0]?.[0] ?? 0) > 0;
  });
}

export function registerNightly(program: Command): void {
  program
    .command("nightly")
    .description("nightly run: (generate if missing) → score → dbt build → validate, on the embedded warehouse or BigQuery")
    .option("--warehouse <kind>", "duckdb (embedded, default) or bigquery", "duckdb")
    .option("--db <file>", "embedded warehouse file", "./warehouse.duckdb")
    .option("--members <n>", "members to generate when the warehouse does not exist", "10000")
    .option("--seed <n>", "seed for the generated cohort", "1")
    .option("--year <year>", "payment year", "2026")
    .option("--models <list>", "comma list of models (default: what the payment year uses per member)")
    .option("--workers <n>", "worker threads (default: available cores)")
    .option("--no-dbt", "skip dbt build and validation")
    .option("--no-factors", "do not write risk_score_factors")
    .option("--results-storage <kind>", "embedded warehouse results: parquet (views over Parquet files, default) | table")
    .option("--project <id>", "BigQuery project (or BIGQUERY_PROJECT)")
    .option("--dataset <name>", "BigQuery dataset (or BIGQUERY_DATASET)")
    .option("--location <loc>", "BigQuery location")
    .option(
      "--claims <paths...>",
      "ingest these claim/enrollment files or directories first (hcc ingest; 834 files replace participants)",
    )
    .option("--tob-87x <include|exclude>", "with --claims: type of bill 87x as an outpatient source", "include")
    .option("--no-gaps", "do not value the open gaps of hcc_opportunities (risk_score_gap_values)")
    .option("--base-rate <usd>", "monthly base rate in dollars for the gaps' annual_value")
    .option("--keep-inputs <n>", "keep the members of the last n runs for hcc diff --from-run/--to-run (embedded warehouse)")
    .option("--timings <file>", "write the stage times and every dbt node's execution time to this JSON file")
    .option("--quiet", "less output (the stage times as one line)")
    .action(async (o: NightlyFlags) => {
      const quiet = o.quiet === true;
      const t0 = performance.now();
      const stages: StageTime[] = [];
      const say = (s: string): void => {
        if (!quiet) process.stderr.write(s + "\n");
      };
      const common = {
        year: o.year,
        mceEdits: true,
        rounding: "round3",
        factors: o.factors,
        quiet,
        ...(o.models ? { models: o.models } : {}),
        ...(o.workers ? { workers: o.workers } : {}),
      };
      /** The stage table (one line with --quiet) on stderr, and the --timings file. */
      const report = (dbt: DbtBuildTimes | null, seedsSkipped: boolean | null, unitTestsSkipped: boolean | null = null): void => {
        stages.push({ stage: "total", seconds: (performance.now() - t0) / 1000 });
        if (quiet) process.stderr.write(`nightly: ${stages.map((st) => `${st.stage} ${st.seconds.toFixed(1)} s`).join(", ")}\n`);
        else process.stderr.write(formatStageTable(stages, dbt));
        if (o.timings) {
          const file = resolve(o.timings);
          mkdirSync(dirname(file), { recursive: true });
          writeFileSync(
            file,
            JSON.stringify(
              { warehouse: o.warehouse, stages, seeds_skipped: seedsSkipped, unit_tests_skipped: unitTestsSkipped, dbt },
              null,
              1,
            ) + "\n",
          );
        }
      };
      if (o.warehouse === "bigquery") {
        // gap values are not written to BigQuery yet (docs/gap-values.md)
        const s = await timeStage(stages, "score", () =>
          runPipelineScore({ ...o, ...common, warehouse: "bigquery", gaps: false }),
        );
        printRunSummary(s);
        if (o.dbt) {
          const project = o.project ?? process.env["BIGQUERY_PROJECT"] ?? "";
          await timeStage(stages, "dbt build", () =>
            runDbt(
              ["build", "--target", "bigquery"],
              {
                HCC_DBT_TARGET: "bigquery",
                HCC_BQ_PROJECT: project,
                HCC_BQ_DATASET: o.dataset ?? process.env["BIGQUERY_DATASET"] ?? "hcc",
              },
              quiet,
            ),
          );
        }
        report(null, null);
        return;
      }
      if (o.warehouse !== "duckdb") throw new UsageError(`--warehouse: '${o.warehouse}' is not duckdb or bigquery`);
      checkDbtCompression(process.env["HCC_DBT_COMPRESSION"]);
      const dbtStorage = checkDbtStorage(process.env["HCC_DBT_STORAGE"]);
      const db = resolve(o.db);
      if (o.claims && o.claims.length > 0) {
        say(`nightly: ingesting claim/enrollment files from ${o.claims.length} path(s) into ${db}`);
        const claims = o.claims;
        const r = await timeStage(stages, "ingest", () =>
          ingestFiles(claims, {
            paymentYear: o.year,
            out: db,
            format: "auto",
            tob87x: o.tob87x,
            quiet,
            ...(o.workers ? { workers: o.workers } : {}),
          }),
        );
        if (!quiet) printIngestSummary(r);
        if (r.counts.participants === null && !(await hasParticipants(db)))
          throw new DataError(
            "nightly --claims: the warehouse has no participants table; include 834 enrollment files or ingest into a warehouse that has one",
          );
      }
      if (!existsSync(db)) {
        const members = Number(o.members);
        if (!Number.isInteger(members) || members < 1)
          throw new UsageError(`--members: '${o.members}' is not a positive whole number`);
        say(`nightly: no warehouse at ${db}; generating ${members} synthetic members (seed ${o.seed})`);
        await timeStage(stages, "generate", () =>
          generateWarehouse({
            members,
            seed: Number(o.seed),
            out: db,
            paymentYear: Number(o.year),
            layout: "long",
            dataDir: defaultDataDir(),
          }),
        );
      }
      // gap values whenever the warehouse keeps opportunities (docs/gap-values.md)
      const gaps = o.gaps && (await hasTable(db, "hcc_opportunities"));
      say(`nightly: scoring ${db}${gaps ? " and valuing the open gaps in hcc_opportunities" : ""}`);
      const s = await timeStage(stages, "score", () =>
        runPipelineScore({
          ...common,
          source: db,
          output: db,
          ...(o.resultsStorage ? { resultsStorage: o.resultsStorage } : {}),
          ...(gaps ? { gaps: true } : {}),
          ...(gaps && o.baseRate !== undefined ? { baseRate: o.baseRate } : {}),
          ...(o.keepInputs !== undefined ? { keepInputs: o.keepInputs } : {}),
        }),
      );
      printRunSummary(s);
      if (!o.dbt) {
        report(null, null);
        return;
      }
      // `dbt build` runs the seeds itself (no separate `dbt seed`); they are left out when this
      // warehouse already holds exactly these seed files, untouched (seed-state.ts)
      const dbtDir = join(root, "dbt");
      const schema = seedSchema();
      // hashed once, before the build: the records below vouch for the files this build read
      const seedFilesHash = hashSeedFiles(dbtDir);
      const projectHash = hashDbtProject(dbtDir);
      const [seedsSkipped, unitTestsSkipped] = await timeStage(stages, "state check", async () => [
        await seedsAreCurrent(db, dbtDir, schema, seedFilesHash),
        await unitTestsAreCurrent(db, dbtDir, schema, projectHash),
      ]);
      say(
        `nightly: dbt build (DuckDB target)${seedsSkipped ? "; seeds unchanged since the last seed into this warehouse, not reloaded" : ""}` +
          (unitTestsSkipped ? "; dbt project unchanged since its unit tests last passed here, not rerun" : ""),
      );
      // dbt's target/ and logs/ go beside the warehouse, not into the installed package
      const threads = process.env["HCC_DBT_THREADS"] ?? String(duckdbDbtThreads(s.membersIn, totalmem()));
      const env = {
        HCC_WAREHOUSE: db,
        HCC_DBT_TARGET: "duckdb",
        HCC_DBT_THREADS: threads,
        DBT_TARGET_PATH: `${db}.dbt/target`,
        DBT_LOG_PATH: `${db}.dbt/logs`,
      };
      const dbtStart = Date.now();
      const excluded = [...(seedsSkipped ? ["seed"] : []), ...(unitTestsSkipped ? ["unit_test"] : [])];
      const buildArgs = ["build", "--quiet", ...(excluded.length > 0 ? ["--exclude-resource-type", ...excluded] : [])];
      const t = performance.now();
      const dbtStage = (note?: string): DbtBuildTimes | null => {
        const seconds = (performance.now() - t) / 1000;
        stages.push({ stage: "dbt build", seconds, ...(note ? { note } : {}) });
        return readDbtRunResults(`${db}.dbt/target/run_results.json`, seconds, dbtStart);
      };
      try {
        runDbt(buildArgs, env, quiet);
      } catch (e) {
        // the times up to the failure, then the error (no seed state is recorded)
        report(dbtStage("failed"), seedsSkipped, unitTestsSkipped);
        throw e;
      }
      const skippedNote = [
        ...(seedsSkipped ? ["seeds not reloaded (unchanged)"] : []),
        ...(unitTestsSkipped ? ["unit tests not rerun (project unchanged)"] : []),
      ].join("; ");
      const dbtTimes = dbtStage(skippedNote || undefined);
      // only a successful build vouches for the seeds it loaded and the unit tests it ran
      if (!seedsSkipped || !unitTestsSkipped)
        await timeStage(stages, "state record", async () => {
          if (!seedsSkipped) await recordSeedState(db, dbtDir, schema, seedFilesHash);
          if (!unitTestsSkipped) await recordUnitTestState(db, dbtDir, schema, projectHash);
        });
      const v = await timeStage(stages, "validate", () => validateWarehouse(db));
      const ok = v.missingFromMart + v.scoreMismatches + v.hccMismatches === 0;
      process.stderr.write(
        `validate: ${v.participants} participants; missing from marts ${v.missingFromMart}; score mismatches ${v.scoreMismatches}; HCC set differences ${v.hccMismatches}\n`,
      );
      if (!ok) {
        report(dbtTimes, seedsSkipped, unitTestsSkipped);
        throw new DataError("nightly: the marts disagree with the engine's results");
      }
      process.stderr.write(
        [
          "",
          `Done. Where to look (DuckDB file ${db}):`,
          "  engine results:  sgv_reporting.risk_scores, sgv_reporting.risk_score_factors, sgv_reporting.score_runs" +
            (gaps ? ",\n                   sgv_reporting.risk_score_gap_values (the value of each open gap and kept HCC)" : ""),
          o.resultsStorage === "table"
            ? "                   (native tables)"
            : `                   (results are views over Parquet in ${db}.results/; keep it with the file)`,
          "  marts:           hcc_marts.fact_patient_risk_scores, hcc_marts.fact_member_hccs, hcc_marts.fact_hcc_reconciliation,",
          "                   hcc_marts.fact_hcc_opportunities, hcc_marts.dim_hcc, hcc_marts.dim_hcc_hierarchies",
          "  Tuva-compatible: hcc_cms_hcc.patient_risk_scores, hcc_cms_hcc.patient_risk_factors",
          dbtStorage === "parquet"
            ? `                   (dbt's tables are views over Parquet in ${db}.dbt/parquet/; keep it with the file)`
            : "                   (native tables)",
          `  dbt docs:        HCC_WAREHOUSE=${db} bash scripts/dbt.sh docs generate && HCC_WAREHOUSE=${db} bash scripts/dbt.sh docs serve`,
          "  spot check:      npx hcc explain --year 2026 --age 76 --sex F E11.22 I50.9",
          "",
        ].join("\n"),
      );
      report(dbtTimes, seedsSkipped, unitTestsSkipped);
    });
}
