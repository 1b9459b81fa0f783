// `hcc ingest`: claim and enrollment files → the warehouse. Each file is parsed into its own
// staging part (parse-file.ts: format detection, parsing, every claim decided by filter.ts) —
// inline, or on worker threads one file per task when there are several files and cores —
// then warehouse.ts loads the parts in file order, resolves voids/replacements and publishes
// atomically. Progress and errors name files, lines and counts, never member ids or codes.
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, rmSync, statSync } from "node:fs";
import { availableParallelism } from "node:os";
import { basename, dirname, join, resolve } from "node:path";
import { Piscina } from "piscina";
import { UsageError, rebuildWorkerError } from "../errors.js";
import { workerScriptUrl, type WorkerErrorShape } from "../workers/protocol.js";
import { parseIsoDate } from "./dates.js";
import {
  parseIngestFile,
  readProcedureLists,
  type FileFormat,
  type IngestFileReport,
  type ParseFileResult,
  type ParseFileTask,
  type ParseFilterSettings,
} from "./parse-file.js";
import { publishIngest, type IngestCounts, type StagedIngestPart } from "./warehouse.js";

export { detectFormat, readProcedureLists, type FileFormat, type IngestFileReport } from "./parse-file.js";

export interface IngestOptions {
  files: string[];
  db: string;
  paymentYear: number;
  /** Inclusive ISO dates; default the calendar year before the payment year; null = no date filter. */
  period?: { from: string; to: string } | null;
  format?: FileFormat | "auto";
  tob87x?: boolean;
  /** Use this year's CPT/HCPCS list for every line (default: the list of each line's year of service). */
  cptListYear?: number;
  dataDir: string;
  engineVersion?: string;
  /** Files parsed at once on worker threads (default: available cores, at most one per file; 1 = inline). */
  workers?: number;
  onProgress?: (msg: string) => void;
}

export interface IngestResult {
  runId: string;
  counts: IngestCounts;
  files: IngestFileReport[];
  warnings: number;
  seconds: number;
  parseSeconds: number;
  /** Peak RSS of the process when parsing ended (before DuckDB loads the staged rows), MiB. */
  parsePeakRssMb: number;
}

function defaultPeriod(paymentYear: number): { from: string; to: string } {
  return { from: `${paymentYear - 1}-01-01`, to: `${paymentYear - 1}-12-31` };
}

export function newRunId(): string {
  const t = new Date().toISOString().replace(/[-:T]/g, "").slice(0, 14);
  return `${t}_${randomBytes(4).toString("hex")}`;
}

const workerUrl = workerScriptUrl("ingest-worker");

/**
 * Parse every file into its staging part; results in file order. Several threads take the
 * largest files first (the run ends with the slowest file, so it should start first); a file
 * that cannot be read fails the ingest, the first such file in input order being reported.
 */
async function parseFiles(tasks: ParseFileTask[], workers: number, say: (m: string) => void): Promise<ParseFileResult[]> {
  const done = (r: ParseFileResult): ParseFileResult => {
    const f = r.report;
    say(
      `ingest: ${tasks[r.part]!.file}: ${f.format}, ${f.claims} claims, ${f.members} members, ${(f.bytes / 1e6).toFixed(1)} MB in ${f.seconds.toFixed(2)} s`,
    );
    return r;
  };
  if (workers <= 1) return tasks.map((t) => done(parseIngestFile(t)));
  const pool = new Piscina({ filename: workerUrl, minThreads: workers, maxThreads: workers });
  try {
    const bySize = [...tasks].sort((a, b) => statSync(b.file).size - statSync(a.file).size || a.part - b.part);
    const runs = new Map<number, Promise<ParseFileResult>>();
    for (const t of bySize)
      runs.set(
        t.part,
        (pool.run(t) as Promise<ParseFileResult | WorkerErrorShape>).then((r) => {
          if ("code" in r) throw rebuildWorkerError(r);
          return done(r);
        }),
      );
    const settled = await Promise.allSettled(tasks.map((t) => runs.get(t.part)!));
    const failed = settled.find((r) => r.status === "rejected");
    if (failed) throw failed.reason;
    return settled.map((r) => (r as PromiseFulfilledResult<ParseFileResult>).value);
  } finally {
    await pool.destroy();
  }
}

export async function runIngest(o: IngestOptions): Promise<IngestResult> {
  const t0 = performance.now();
  const say = o.onProgress ?? ((): void => undefined);
  if (o.files.length === 0) throw new UsageError("ingest: no input files");
  for (const f of o.files) if (!existsSync(f)) throw new UsageError(`ingest: ${f}: no such file`);
  const period = o.period === undefined ? defaultPeriod(o.paymentYear) : o.period;
  const days = (s: string, what: string): number => {
    const d = parseIsoDate(s);
    if (d === null) throw new UsageError(`--collection-period: ${what} '${s}' is not YYYY-MM-DD`);
    return d;
  };
  const filter: ParseFilterSettings = {
    period: period ? { from: days(period.from, "start"), to: days(period.to, "end") } : null,
    tob87x: o.tob87x ?? true,
    dataDir: o.dataDir,
    cptListYear: o.cptListYear ?? null,
  };
  if (filter.period && filter.period.from > filter.period.to) throw new UsageError("--collection-period: start after end");
  readProcedureLists(o.dataDir, o.cptListYear); // a bad --cpt-list-year fails here, before any thread starts
  const workers = Math.min(o.files.length, Math.max(1, o.workers ?? availableParallelism()));
  const runId = newRunId();
  const db = resolve(o.db);
  mkdirSync(dirname(db), { recursive: true });
  const stageDir = `${db}.ingest-${runId}`;
  // a killed run's staging directories (the warehouse lock keeps two runs from overlapping)
  for (const f of readdirSync(dirname(db)))
    if (f.startsWith(`${basename(db)}.ingest-`)) rmSync(join(dirname(db), f), { recursive: true, force: true });
  mkdirSync(stageDir, { recursive: true });
  try {
    const format = o.format ?? "auto";
    const tasks = o.files.map((file, part): ParseFileTask => ({ file, part, stageDir, format, filter }));
    const results = await parseFiles(tasks, workers, say);
    const parseSeconds = (performance.now() - t0) / 1000;
    const parsePeakRssMb = process.resourceUsage().maxRSS / 1024;
    // each part's sequence numbers continue the previous parts', as if the files were read in one pass
    const parts: StagedIngestPart[] = [];
    const next = { claimOffset: 0, transactionOffset: 0, memberOffset: 0 };
    for (const r of results) {
      parts.push({ part: r.part, ...next });
      next.claimOffset += r.claimRows;
      next.transactionOffset += r.transactions;
      next.memberOffset += r.memberRows;
    }
    const warnings = results.flatMap((r) => r.warnings);
    const warningCount = results.reduce((n, r) => n + r.warningCount, 0);
    const counts = await publishIngest(
      db,
      stageDir,
      parts,
      {
        runId,
        startedAt: new Date(Date.now() - (performance.now() - t0)).toISOString(),
        paymentYear: o.paymentYear,
        collectionFrom: period?.from ?? null,
        collectionTo: period?.to ?? null,
        tob87x: filter.tob87x,
        files: results.map((r) => r.report),
        warnings: { count: warningCount, first: warnings.slice(0, 100) },
        engineVersion: o.engineVersion ?? "0.1.0",
      },
      next.memberOffset > 0,
    );
    for (const w of warnings.slice(0, 20)) say(`ingest: warning: ${w}`);
    if (warningCount > 20) say(`ingest: … ${warningCount - 20} more warnings (sgv_reporting.ingest_runs)`);
    return {
      runId,
      counts,
      files: results.map((r) => r.report),
      warnings: warningCount,
      seconds: (performance.now() - t0) / 1000,
      parseSeconds,
      parsePeakRssMb,
    };
  } finally {
    rmSync(stageDir, { recursive: true, force: true });
  }
}
