// `hcc score`: the full-cohort run (--source warehouse/file/dir → --output warehouse/file/dir,
// through the worker pool), or a member-record file (--input NDJSON/CSV → --output NDJSON/CSV).
import type { Command } from "commander";
import { engineOptions, positiveInt, type EngineFlags } from "./options.js";
import { formatOf, MemberRecordSource } from "../io/member-records.js";
import { RecordFileSink } from "../io/record-file-sink.js";
import { UsageError } from "../errors.js";
import { runSnapshotsRoot, type SnapshotOptions } from "../io/run-snapshots.js";
import { checkIdent } from "../io/sql-text.js";
import { runScoring, type ScoreRunSummary } from "../pipeline/score-run.js";
import { ProgressBar } from "./progress.js";
import type { Layout } from "../io/duckdb-warehouse.js";
import { isWarehouseSpec, warehousePath } from "../io/warehouse-spec.js";
import type { ResultStorage } from "../io/duckdb-sink.js";
import type { PartCompression } from "../io/parquet.js";
import { parseBigQueryConfig, type BigQueryFlags } from "../io/bigquery/config.js";
import type { MemberSource, ResultSink } from "../io/types.js";
import type { BatchGapOptions } from "../engine/engine.js";
import { parseGapList } from "../engine/gaps.js";

interface ScoreFlags extends EngineFlags, BigQueryFlags {
  warehouse?: string;
  input?: string;
  source?: string;
  output?: string;
  format?: string;
  resultsStorage?: string;
  partCompression?: string;
  schema?: string;
  layout?: string;
  workers?: string;
  batchSize?: string;
  factors: boolean;
  quiet?: boolean;
  maxErrorRate?: string;
  gaps?: string | boolean;
  gapsTable?: string;
  atRisk?: boolean;
  gapsTogether?: boolean;
  baseRate?: string;
  keepInputs?: string;
  inputsDir?: string;
}

/**
 * --gaps: opportunities (the warehouse's opportunities table; the default), all (every HCC the
 * member lacks that would count), or a list (HCC17,V28:HCC85) valued for every member.
 */
export async function gapOptions(o: ScoreFlags): Promise<BatchGapOptions | null> {
  if (o.gaps === undefined || o.gaps === false) {
    for (const [flag, given] of [
      ["--base-rate", o.baseRate !== undefined],
      ["--gaps-table", o.gapsTable !== undefined],
    ] as const)
      if (given) throw new UsageError(`${flag} needs --gaps`);
    return null;
  }
  const what = o.gaps === true ? "opportunities" : o.gaps.trim();
  let rate: number | null = null;
  if (o.baseRate !== undefined) {
    rate = Number(o.baseRate);
    if (o.baseRate.trim() === "" || !Number.isFinite(rate) || rate <= 0)
      throw new UsageError(`--base-rate: '${o.baseRate}' is not a positive dollar amount per member per month`);
  }
  const common = { add: true, remove: o.atRisk !== false, all: o.gapsTogether !== false, monthlyBaseRate: rate };
  if (what === "opportunities") return { ...common, source: { kind: "column" } };
  if (what === "all") return { ...common, all: false, source: { kind: "lacking" } };
  const { loadEngine } = await import("../load.js"); // an Engine (and Arrow) only for a named list
  const engine = loadEngine(engineOptions(o));
  return { ...common, source: { kind: "list", candidates: parseGapList(what, engine.meta, engine.scoredModels) } };
}

function parseRate(v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const x = Number(v);
  if (v.trim() === "" || !Number.isFinite(x) || x < 0 || x > 1)
    throw new UsageError(`--max-error-rate: '${v}' is not a fraction between 0 and 1`);
  return x;
}

/** Member-record file in, output-record file out: the same worker pipeline as every other input. */
export async function runFileScore(o: ScoreFlags): Promise<ScoreRunSummary> {
  if (!o.input) throw new UsageError("score needs --input <file> or --source <spec>");
  if (o.gaps !== undefined && o.gaps !== false)
    throw new UsageError("--gaps writes the risk_score_gap_values table: use --source with a warehouse or directory --output");
  if (!o.output) throw new UsageError("score --input needs --output <file.ndjson|file.csv>");
  const inFormat = formatOf(o.input, o.format);
  const outExt = (o.output.split(".").pop() ?? "").toLowerCase();
  const outFormat = outExt === "csv" ? "csv" : outExt === "ndjson" || outExt === "jsonl" ? "ndjson" : null;
  if (!outFormat)
    throw new UsageError(`--output ${o.output}: name an .ndjson or .csv file (the output format follows the extension)`);
  return runPipelineScore(o, {
    source: new MemberRecordSource(o.input, inFormat),
    sink: new RecordFileSink(o.output, outFormat, o.input),
    factors: false,
  });
}

function parseLayout(v: string | undefined): Layout | undefined {
  if (v === undefined) return undefined;
  if (v === "long" || v === "grouped" || v === "auto") return v;
  throw new UsageError(`--layout: '${v}' is not long, grouped or auto`);
}

function parsePartCompression(v: string | undefined): PartCompression | undefined {
  if (v === undefined) return undefined;
  if (v === "none" || v === "snappy" || v === "zstd" || v === "lz4_raw") return v;
  throw new UsageError(`--part-compression: '${v}' is not none, snappy, zstd or lz4_raw`);
}

function parseResultStorage(v: string | undefined): ResultStorage | undefined {
  if (v === undefined) return undefined;
  if (v === "parquet" || v === "table") return v;
  throw new UsageError(`--results-storage: '${v}' is not parquet or table`);
}

/** --keep-inputs N [--inputs-dir dir]: keep the last N runs' members beside the output warehouse (docs/attribution.md "Runs"). */
function snapshotOptions(o: ScoreFlags & { output?: string }): SnapshotOptions | null {
  if (o.keepInputs === undefined) {
    if (o.inputsDir !== undefined) throw new UsageError("--inputs-dir needs --keep-inputs");
    return null;
  }
  const keep = Number(o.keepInputs); // checked by the pipeline (checkSnapshotSource)
  const wh = o.output && o.warehouse !== "bigquery" ? warehousePath(o.output) : null;
  if (!wh) throw new UsageError("--keep-inputs records the snapshot in score_runs: the output must be a DuckDB warehouse");
  return { dir: o.inputsDir ?? runSnapshotsRoot(wh, checkIdent(o.schema ?? "sgv_reporting", "schema")), keep };
}

/** The pipeline run behind `hcc score` and `hcc nightly` (`given`: an already opened source and sink). */
export async function runPipelineScore(
  o: ScoreFlags & { source?: string; output?: string },
  given?: { source: MemberSource; sink: ResultSink; factors: boolean },
): Promise<ScoreRunSummary> {
  const eo = engineOptions(o);
  const layout = parseLayout(o.layout);
  const resultStorage = parseResultStorage(o.resultsStorage);
  const partCompression = parsePartCompression(o.partCompression);
  const gaps = await gapOptions(o);
  if (gaps && o.warehouse === "bigquery")
    throw new UsageError("--gaps is not available with --warehouse bigquery yet (docs/gap-values.md)");
  const openOpts = {
    ...(o.schema ? { schema: o.schema } : {}),
    ...(layout ? { layout } : {}),
    ...(resultStorage ? { resultStorage } : {}),
    ...(gaps?.source.kind === "column"
      ? { gaps: { table: o.gapsTable ?? "hcc_opportunities", paymentYear: eo.paymentYear } }
      : {}),
  };
  const snapshot = snapshotOptions(o);
  let source: MemberSource;
  let sink: ResultSink;
  if (given) {
    source = given.source;
    sink = given.sink;
  } else {
    // the warehouse and file openers (DuckDB, parquet-wasm) load only for a run that opens one:
    // a member-record file run does not pay for them at start-up
    const { openSink, openSource } = await import("../io/open.js");
    if (o.warehouse === "bigquery") {
      const cfg = parseBigQueryConfig(o, process.env);
      // the Google clients load only for a BigQuery run (they cost ~0.5 s of start-up)
      const { openBigQuerySource } = await import("../io/bigquery/source.js");
      const { openBigQuerySink } = await import("../io/bigquery/sink.js");
      source = o.source ? await openSource(o.source, openOpts) : openBigQuerySource(cfg);
      sink = o.output ? await openSink(o.output, openOpts) : openBigQuerySink(cfg);
    } else {
      if (!o.source) throw new UsageError("score needs --source (or --input, or --warehouse bigquery)");
      if (!o.output) throw new UsageError("score needs --output");
      source = await openSource(o.source, openOpts);
      sink = await openSink(o.output, openOpts);
    }
  }
  const bar = new ProgressBar(null, o.quiet === true);
  // Ctrl-C / SIGTERM: abort the run cleanly (staging removed, previous results intact); a second
  // signal finds no handler and ends the process at once
  const ac = new AbortController();
  const onSignal = (sig: NodeJS.Signals): void => {
    process.removeListener("SIGINT", onSignal);
    process.removeListener("SIGTERM", onSignal);
    ac.abort(sig);
  };
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);
  try {
    const workers = positiveInt(o.workers, "--workers");
    const batchSize = positiveInt(o.batchSize, "--batch-size");
    const maxErrorRate = parseRate(o.maxErrorRate);
    return await runScoring({
      source,
      sink,
      paymentYear: eo.paymentYear,
      models: eo.models,
      mceEdits: eo.mceEdits,
      rounding: eo.rounding,
      ...(eo.coefficientSet ? { coefficientSet: eo.coefficientSet } : {}),
      ...(eo.dataDir ? { dataDir: eo.dataDir } : {}),
      ...(workers ? { workers } : {}),
      ...(batchSize ? { batchSize } : {}),
      ...(partCompression ? { partCompression } : {}),
      factors: given ? given.factors : o.factors,
      gaps,
      snapshot,
      ...(maxErrorRate !== undefined ? { maxErrorRate } : {}),
      signal: ac.signal,
      onProgress: (p) => bar.update(p),
    });
  } finally {
    process.removeListener("SIGINT", onSignal);
    process.removeListener("SIGTERM", onSignal);
    bar.done();
    await source.close();
  }
}

export function printRunSummary(s: ScoreRunSummary, out: NodeJS.WriteStream = process.stderr): void {
  const rate = Math.round(s.membersIn / Math.max(s.seconds, 1e-9));
  out.write(
    [
      `run ${s.runId}: ${s.membersIn.toLocaleString("en-US")} members read, ${s.rowsOut.toLocaleString("en-US")} scored rows ` +
        `(${s.errored.toLocaleString("en-US")} with errors), ${s.factorRows.toLocaleString("en-US")} factor rows` +
        (s.gapRows > 0 ? `, ${s.gapRows.toLocaleString("en-US")} gap value rows` : ""),
      `  orphan diagnosis rows (participant not found): ${s.orphanDxRows.toLocaleString("en-US")}; null diagnosis codes skipped: ${s.nullDxCodes.toLocaleString("en-US")}` +
        (s.duplicateParticipants > 0 ? `; duplicate participant ids: ${s.duplicateParticipants}` : ""),
      `  ${s.seconds.toFixed(2)} s, ${rate.toLocaleString("en-US")} members/s with ${s.workers} workers ` +
        `(read ${s.stageSeconds.read.toFixed(2)} s, kernel ${s.stageSeconds.kernel.toFixed(2)} s, encode ${s.stageSeconds.encode.toFixed(2)} s, write ${s.stageSeconds.write.toFixed(2)} s)`,
      `  source: ${s.source}`,
      `  results: ${s.sink}`,
    ].join("\n") + "\n",
  );
}

export function registerScore(program: Command): void {
  program
    .command("score")
    .description("score a cohort: --source (warehouse, file or directory) → --output, or --input member file → --output file")
    .option(
      "--source <spec>",
      "duckdb:<file> or *.duckdb (warehouse), a .parquet/.arrow/.csv/.ndjson member file, or a directory",
    )
    .option(
      "--input <file>",
      "member-record file (.ndjson or .csv; README 'Member input record'): same worker pool, output records in input order",
    )
    .option(
      "--output <spec>",
      "results: a warehouse (*.duckdb; default: the --source warehouse), a directory, or (with --input) an .ndjson/.csv file",
    )
    .option("--format <fmt>", "input format when the extension does not say (ndjson | csv)")
    .option("--schema <name>", "warehouse schema", "sgv_reporting")
    .option("--layout <layout>", "diagnosis layout in the warehouse: long | grouped | auto", "auto")
    .option("--year <year>", "payment year", "2026")
    .option("--models <list>", "comma list of models (default: what the payment year uses per member)")
    .option("--no-mce-edits", "turn off MCE plausibility edits")
    .option("--rounding <policy>", "round3 | none", "round3")
    .option("--coefficients <set>", "alternative coefficient set (proposed-2027)")
    .option("--workers <n>", "worker threads (default: available cores)")
    .option("--batch-size <n>", "members per batch (default 16384)")
    .option("--no-factors", "do not write risk_score_factors (it is replaced by an empty table)")
    .option(
      "--max-error-rate <fraction>",
      "fail the run when more than this fraction of members get an error row (default 0.01; 1 = off)",
    )
    .option(
      "--results-storage <kind>",
      "warehouse results: parquet (views over Parquet files in <warehouse>.results/, fast commit) | table (native tables)",
    )
    .option(
      "--part-compression <codec>",
      "Parquet results written by the workers: none (default: fastest to write and read) | snappy | zstd | lz4_raw (smaller files; bench/README.md)",
    )
    .option(
      "--gaps [what]",
      "write risk_score_gap_values: opportunities (the warehouse's hcc_opportunities; default), all (every HCC a member lacks that would count), or a list HCC17,V28:HCC85",
    )
    .option("--gaps-table <name>", "opportunities table in the warehouse schema (default hcc_opportunities)")
    .option("--no-at-risk", "with --gaps: leave out the value of each kept HCC (removed alone)")
    .option("--no-gaps-together", "with --gaps: leave out each model's candidates added together")
    .option("--base-rate <usd>", "with --gaps: monthly base rate in dollars; annual_value = Δ payment score × rate × 12")
    .option("--keep-inputs <n>", "keep the members of the last n runs (warehouse output) for hcc diff --from-run/--to-run")
    .option("--inputs-dir <dir>", "with --keep-inputs: where run snapshots go (default <warehouse>.runs/<schema>/)")
    .option("--quiet", "no progress bar or summary")
    .option(
      "--warehouse <kind>",
      "duckdb (files and *.duckdb specs) or bigquery (reads and writes --project/--dataset)",
      "duckdb",
    )
    .option("--project <id>", "BigQuery project (or BIGQUERY_PROJECT)")
    .option("--dataset <name>", "BigQuery dataset (or BIGQUERY_DATASET)")
    .option("--location <loc>", "BigQuery location")
    .option("--where <restriction>", "BigQuery Storage Read row restriction on participants")
    .option("--participants-table <t>", "BigQuery participants table", undefined)
    .option("--diagnosis-table <t>", "BigQuery diagnosis table")
    .option("--members-table <t>", "BigQuery pre-grouped member table (skips the grouping query)")
    .option("--risk-scores-table <t>", "BigQuery results table")
    .option("--factors-table <t>", "BigQuery factors table")
    .option("--runs-table <t>", "BigQuery score_runs table")
    .option("--max-streams <n>", "BigQuery read streams")
    .option("--tmp-dir <dir>", "where Parquet parts are staged before load jobs")
    .option("--dry-run", "BigQuery: print what would be read and written, then stop")
    .action(async (o: ScoreFlags) => {
      if (o.warehouse !== "duckdb" && o.warehouse !== "bigquery")
        throw new UsageError(`--warehouse: '${o.warehouse}' is not duckdb or bigquery`);
      if (o.source && o.input) throw new UsageError("give --source or --input, not both");
      if (o.warehouse === "bigquery" && o.dryRun) {
        const { describeBigQueryRun } = await import("../io/bigquery/dry-run.js");
        process.stdout.write((await describeBigQueryRun(parseBigQueryConfig(o, process.env))) + "\n");
        return;
      }
      if (!o.source && !o.input && o.warehouse !== "bigquery") {
        throw new UsageError(
          "score needs members: --source <warehouse.duckdb | members file | directory> [--output …] " +
            "(a warehouse source is written back to unless --output names another), or --input <members.ndjson|.csv> --output <scores.ndjson|.csv>; see 'hcc score --help'",
        );
      }
      if (o.source && !o.output && o.warehouse !== "bigquery") {
        if (!isWarehouseSpec(o.source))
          throw new UsageError(`--source ${o.source}: give --output (a warehouse, or a directory for the result files)`);
        o.output = o.source; // write back to the source warehouse
      }
      const s = o.input ? await runFileScore(o) : await runPipelineScore(o);
      if (!o.quiet) printRunSummary(s);
    });
}
