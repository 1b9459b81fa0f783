// `hcc ingest`: FHIR ExplanationOfBenefit (NDJSON, Bundles), X12 837P/837I and 834 files → the
// embedded warehouse, with CMS risk-adjustment filtering and provenance (docs/ingest.md).
import type { Command } from "commander";
import { resolve } from "node:path";
import type { FileFormat, IngestResult } from "../ingest/run.js";
import { defaultDataDir } from "../data/load.js";
import { UsageError } from "../errors.js";
import { positiveInt } from "./options.js";

export interface IngestFlags {
  paymentYear: string;
  out: string;
  format: string;
  collectionPeriod?: string;
  tob87x: string;
  cptListYear?: string;
  data?: string;
  workers?: string;
  /** parquet | table (default parquet) */
  storage?: string;
  quiet?: boolean;
}

export function parsePeriod(v: string | undefined): { from: string; to: string } | null | undefined {
  if (v === undefined) return undefined;
  if (v === "any") return null;
  const m = /^(\d{4}-\d{2}-\d{2})\.\.(\d{4}-\d{2}-\d{2})$/.exec(v);
  if (!m) throw new UsageError(`--collection-period: expected YYYY-MM-DD..YYYY-MM-DD or 'any', got '${v}'`);
  return { from: m[1]!, to: m[2]! };
}

export async function ingestFiles(files: string[], o: IngestFlags): Promise<IngestResult> {
  const year = Number(o.paymentYear);
  if (!Number.isInteger(year) || year < 2000 || year > 2100)
    throw new UsageError(`--payment-year: '${o.paymentYear}' is not a year`);
  if (!["auto", "x12", "ndjson", "json"].includes(o.format))
    throw new UsageError(`--format: expected auto, x12, ndjson or json, got '${o.format}'`);
  if (o.tob87x !== "include" && o.tob87x !== "exclude")
    throw new UsageError(`--tob-87x: expected include or exclude, got '${o.tob87x}'`);
  const storage = o.storage ?? "parquet";
  if (storage !== "parquet" && storage !== "table")
    throw new UsageError(`--storage: expected parquet or table, got '${storage}'`);
  // loaded on use: the ingest readers are not needed by other commands' start-up
  const { runIngest } = await import("../ingest/run.js");
  return runIngest({
    files,
    db: resolve(o.out),
    paymentYear: year,
    ...(o.collectionPeriod !== undefined ? { period: parsePeriod(o.collectionPeriod) ?? null } : {}),
    format: o.format as FileFormat | "auto",
    tob87x: o.tob87x === "include",
    ...(o.cptListYear ? { cptListYear: Number(o.cptListYear) } : {}),
    dataDir: o.data ? resolve(o.data) : defaultDataDir(),
    ...(o.workers !== undefined ? { workers: positiveInt(o.workers, "--workers")! } : {}),
    storage,
    ...(o.quiet ? {} : { onProgress: (m: string): void => void process.stderr.write(m + "\n") }),
  });
}

export function printIngestSummary(r: IngestResult): void {
  const c = r.counts;
  const mb = r.files.reduce((s, f) => s + f.bytes, 0) / 1e6;
  const lines = [
    `ingest ${r.runId}: ${r.files.length} files, ${mb.toFixed(1)} MB in ${r.seconds.toFixed(1)} s (parse ${r.parseSeconds.toFixed(1)} s)`,
    `  claims in ${c.claimsIn} = accepted ${c.accepted} + filtered ${c.filtered} + rejected ${c.rejected}`,
    ...Object.entries(c.byReason)
      .filter(([k]) => !k.startsWith("accepted"))
      .map(([k, n]) => `    ${k.replace(":", " ")}: ${n}`),
    `  diagnosis rows: ${c.dxRows} with provenance, ${c.participantDxRows} in participant_diagnosis_codes`,
    c.participants === null
      ? "  participants: unchanged (no 834 input)"
      : `  participants: ${c.participants} from ${c.membersIn} 834 member loops (${c.membersRejected} rejected)`,
    r.warnings ? `  warnings: ${r.warnings} (sgv_reporting.ingest_runs)` : "",
  ];
  process.stderr.write(lines.filter((l) => l !== "").join("\n") + "\n");
}

export function registerIngest(program: Command): void {
  program
    .command("ingest")
    .description(
      "claims (FHIR EOB NDJSON/Bundles, X12 837P/837I) and enrollment (X12 834) → the warehouse, with CMS risk-adjustment filtering",
    )
    .argument(
      "<files...>",
      "claim and enrollment files (format detected per file), or directories: every file under one, in name order",
    )
    .requiredOption("--out <warehouse>", "DuckDB warehouse file (created if missing)")
    .option("--payment-year <year>", "payment year; the collection period defaults to the calendar year before it", "2026")
    .option("--collection-period <from..to>", "dates of service to keep, YYYY-MM-DD..YYYY-MM-DD, or 'any' (no date filter)")
    .option("--tob-87x <include|exclude>", "type of bill 87x as an outpatient source (docs/ingest.md#tob-87x)", "include")
    .option(
      "--cpt-list-year <year>",
      "use one year's eligible CPT/HCPCS list for every line (default: each line's year of service)",
    )
    .option("--format <auto|x12|ndjson|json>", "override format detection for every file", "auto")
    .option("--data <dir>", "reference data directory (default: the package's data/)")
    .option(
      "--workers <n>",
      "files (or parts of files) parsed at once on worker threads (default: available cores; 1 = no threads)",
    )
    .option(
      "--storage <kind>",
      "claims tables: parquet (views over Parquet files in <warehouse>.results/, faster) | table (native tables)",
      "parquet",
    )
    .option("--quiet", "no progress output")
    .action(async (files: string[], o: IngestFlags) => {
      printIngestSummary(await ingestFiles(files, o));
    });
}
