// `hcc ingest`: claim and enrollment files (or directories of them) → the warehouse. Each file,
// or group of small files, is parsed into its own staging part (parse-file.ts: format detection,
// parsing, every claim decided by filter.ts) — inline, or on worker threads one part per task
// when there are several parts and cores — then warehouse.ts loads the parts in file order,
// resolves voids/replacements and publishes
// atomically. Progress and errors name files, lines and counts, never member ids or codes.
import { createHash, randomBytes } from "node:crypto";
import { createReadStream, mkdirSync, readdirSync, rmSync, statSync } from "node:fs";
import { availableParallelism } from "node:os";
import { basename, dirname, join, resolve } from "node:path";
import { Piscina } from "piscina";
import { loadsSettled, newLoadGate } from "../workers/load-gate.js";
import { InternalError, UsageError, rebuildWorkerError } from "../errors.js";
import { workerScriptUrl, type WorkerErrorShape } from "../workers/protocol.js";
import { parseIsoDate } from "./dates.js";
import { splitNdjsonFile } from "./fhir-files.js";
import { splitX12File } from "./x12-segments.js";
import {
  detectFormat,
  parseIngestFile,
  readProcedureLists,
  type FileFormat,
  type FileRange,
  type IngestFileReport,
  type IngestWarning,
  type ParseFileResult,
  type ParseFileTask,
  type ParseFilterSettings,
} from "./parse-file.js";
import { checkIngestStorage, publishIngest, type IngestCounts, type IngestStorage, type StagedIngestPart } from "./warehouse.js";

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
  /** Parts (files, NDJSON ranges or groups of small files) parsed at once on worker threads (default: available cores, at most one per task; 1 = inline). */
  workers?: number;
  /**
   * With several threads, an NDJSON or X12 file at least this large is parsed in byte ranges of
   * about 64 MiB, at least one per thread (default 64 MiB): NDJSON at line starts, X12 at ISAs.
   */
  splitBytes?: number;
  /**
   * Consecutive files smaller than this share one staging part, up to this many bytes (default: the
   * input's bytes over 4 parts per thread, within 1–64 MiB; 1 = a part per file).
   */
  groupBytes?: number;
  /** Where the large relations live (warehouse.ts IngestStorage; default "parquet"). */
  storage?: IngestStorage;
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
    const t = tasks[r.part]!;
    const range = t.range ? ` bytes ${t.range.start}-${t.range.end}` : "";
    const names = [t.file, ...(t.more ?? [])];
    r.reports.forEach((f, i) =>
      say(
        `ingest: ${names[i] ?? f.path}${range}: ${f.format}, ${f.claims} claims, ${f.members} members, ${(f.bytes / 1e6).toFixed(1)} MB in ${f.seconds.toFixed(2)} s`,
      ),
    );
    return r;
  };
  // the expected time: bytes, X12 weighted by X12_COST (an X12 range takes longer than an NDJSON
  // range of its size, so it goes first and the short NDJSON ranges fill the end)
  const x12 = (t: ParseFileTask): boolean => {
    if (t.range) return t.range.format === "x12";
    if (t.format !== "auto") return t.format === "x12";
    try {
      return detectFormat(t.file) === "x12";
    } catch {
      return false;
    }
  };
  const size = (t: ParseFileTask): number =>
    (t.range ? t.range.end - t.range.start : [t.file, ...(t.more ?? [])].reduce((n, f) => n + statSync(f).size, 0)) *
    (x12(t) ? X12_COST : 1);
  if (workers <= 1) return tasks.map((t) => done(parseIngestFile(t)));
  const loadGate = newLoadGate();
  // atomics "async": a worker's event loop keeps turning between tasks, so it can report its start (load-gate.ts)
  const pool = new Piscina({
    filename: workerUrl,
    minThreads: workers,
    maxThreads: workers,
    workerData: { loadGate },
    atomics: "async",
  });
  try {
    // each task's cost once (stat and format detection per file), not per comparison of the sort
    const cost = tasks.map(size);
    const bySize = [...tasks].sort((a, b) => cost[b.part]! - cost[a.part]! || a.part - b.part);
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
    const failed = settled.findIndex((r) => r.status === "rejected");
    if (failed >= 0) throw new PartFailed(failed, (settled[failed] as PromiseRejectedResult).reason);
    return settled.map((r) => (r as PromiseFulfilledResult<ParseFileResult>).value);
  } finally {
    await loadsSettled(loadGate, workers); // no worker is terminated mid-load (workers/load-gate.ts)
    await pool.destroy();
  }
}

/**
 * Parse time per byte of X12 against NDJSON, for the order of the tasks only: one thread parses an
 * 837P or 837I at 39–41 MB/s and EOB NDJSON at about 61 MB/s (bench/README.md#ingest-x12-split).
 */
const X12_COST = 1.5;

/** A task that failed: parseFiles' first in task order, with its part number (unwrapped by runIngest). */
class PartFailed extends Error {
  constructor(
    readonly part: number,
    readonly error: unknown,
  ) {
    super(`ingest: part ${part} failed`);
  }
}

/** Target size of one range of a split file (a split file gets up to 4 ranges per thread). */
const RANGE_BYTES = 64 << 20;

/**
 * One task per file, in input order, except that
 * - with several threads an NDJSON or X12 file of at least `splitBytes` becomes one task per byte
 *   range of about RANGE_BYTES (splitNdjsonFile at line starts, splitX12File at interchanges; X12
 *   only when `splitX12`), its ranges in file order;
 * - consecutive files smaller than a group's target size (`groupAt`; default the input's bytes
 *   over 4 tasks per thread, within 1–64 MiB) share one task, until the group reaches that size.
 *   Each task is a staging part, and every part is one read in each publish statement and in the
 *   claims_diagnoses view: 1,100 parts made each query of that view take 0.5 s
 *   (bench/README.md#ingest-many-files).
 * Part numbers follow the tasks. A file whose format cannot be detected here stays whole (its
 * task reports the error).
 */
export function planTasks(
  files: string[],
  workers: number,
  splitBytes: number,
  format: FileFormat | "auto",
  task: (file: string, part: number, range?: FileRange, more?: string[]) => ParseFileTask,
  groupAt?: number,
  splitX12 = true,
): ParseFileTask[] {
  const sizes = files.map((f) => statSync(f).size);
  const total = sizes.reduce((a, b) => a + b, 0);
  const groupBytes = groupAt ?? Math.min(RANGE_BYTES, Math.max(1 << 20, Math.ceil(total / (4 * workers))));
  const tasks: ParseFileTask[] = [];
  let group: { files: string[]; bytes: number } | null = null;
  const close = (): void => {
    if (group) tasks.push(task(group.files[0]!, tasks.length, undefined, group.files.slice(1)));
    group = null;
  };
  files.forEach((file, i) => {
    const size = sizes[i]!;
    const ranges = (): FileRange[] => {
      let f: FileFormat | null;
      try {
        f = format === "auto" ? detectFormat(file) : format;
      } catch {
        f = null;
      }
      // ranges of about RANGE_BYTES, at least one per thread: the threads that finish their other
      // files first take the remaining ranges, so the parse ends nearly together on every thread
      const n = Math.max(workers, Math.min(4 * workers, Math.ceil(size / RANGE_BYTES)));
      if (f === "ndjson") {
        const r = splitNdjsonFile(file, size, n);
        return r.map((b, i) => ({ ...b, format: "ndjson", last: i === r.length - 1 }));
      }
      if (f === "x12" && splitX12) return splitX12File(file, size, n).map((b) => ({ ...b, format: "x12" }));
      return [];
    };
    const split = workers > 1 && size >= splitBytes ? ranges() : [];
    if (split.length > 1) {
      close();
      for (const r of split) tasks.push(task(file, tasks.length, r));
    } else if (size >= groupBytes) {
      close();
      tasks.push(task(file, tasks.length));
    } else {
      group ??= { files: [], bytes: 0 };
      group.files.push(file);
      group.bytes += size;
      if (group.bytes >= groupBytes) close();
    }
  });
  close();
  return tasks;
}

/** A warning as the run reports it: file, line (shifted by the earlier ranges of a split file), segment, message. */
function warningText(w: IngestWarning, lineOffset: number): string {
  return `${w.file}: line ${w.line + lineOffset}${w.segment ? ` (${w.segment})` : ""}: ${w.message}`;
}

function sha256File(file: string): Promise<string> {
  return new Promise((ok, fail) => {
    const h = createHash("sha256");
    createReadStream(file, { highWaterMark: 4 << 20 })
      .on("data", (b) => h.update(b))
      .on("error", fail)
      .on("end", () => ok(h.digest("hex")));
  });
}

/** One report per input file: the ranges of a split file summed, with the whole file's hash. */
async function fileReports(
  tasks: ParseFileTask[],
  results: ParseFileResult[],
  hashes: Map<string, Promise<string>>,
): Promise<IngestFileReport[]> {
  const reports: IngestFileReport[] = [];
  for (const r of results) {
    const t = tasks[r.part]!;
    if (!t.range) {
      reports.push(...r.reports);
      continue;
    }
    const [one] = r.reports;
    if (!one || r.reports.length !== 1)
      throw new InternalError(`ingest: part ${r.part}: a byte range gave ${r.reports.length} reports`);
    if (t.range.start === 0) {
      reports.push({ ...one, sha256: await hashes.get(t.file)! });
      continue;
    }
    const f = reports[reports.length - 1]!;
    // the kinds of transactions in the file, in the order a whole read meets them
    f.format = [...new Set([...f.format.split("+"), ...one.format.split("+")])].filter((k) => k !== "x12").join("+") || f.format;
    f.bytes += one.bytes;
    f.claims += one.claims;
    f.members += one.members;
    f.seconds = Math.max(f.seconds, one.seconds);
  }
  return reports;
}

/**
 * The input paths as files, in order: a file as it is; a directory as every file under it, its
 * subdirectories included, depth first with each directory's entries in the byte order of their
 * names (dated names thus in date order), leaving out names that start with "." — a Bulk Data
 * export or a clearinghouse drop folder, without the shell's limit on arguments. Anything else is
 * a usage error naming it.
 */
export function inputFiles(paths: readonly string[]): string[] {
  const out: string[] = [];
  const walk = (dir: string): string[] => {
    const found: string[] = [];
    const entries = readdirSync(dir, { withFileTypes: true }).sort((a, b) =>
      Buffer.compare(Buffer.from(a.name), Buffer.from(b.name)),
    );
    for (const e of entries) {
      if (e.name.startsWith(".")) continue;
      const p = join(dir, e.name);
      if (e.isDirectory()) found.push(...walk(p));
      else if (e.isFile() || (e.isSymbolicLink() && statSync(p, { throwIfNoEntry: false })?.isFile())) found.push(p);
    }
    return found;
  };
  for (const p of paths) {
    const st = statSync(p, { throwIfNoEntry: false });
    if (!st) throw new UsageError(`ingest: ${p}: no such file`);
    if (st.isFile()) out.push(p);
    else if (st.isDirectory()) {
      const inside = walk(p);
      if (inside.length === 0) throw new UsageError(`ingest: ${p}: a directory with no files in it`);
      out.push(...inside);
    } else throw new UsageError(`ingest: ${p}: not a file or a directory`);
  }
  return out;
}

export async function runIngest(o: IngestOptions): Promise<IngestResult> {
  const t0 = performance.now();
  const say = o.onProgress ?? ((): void => undefined);
  if (o.files.length === 0) throw new UsageError("ingest: no input files");
  const files = inputFiles(o.files);
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
  checkIngestStorage(resolve(o.db), o.storage ?? "parquet"); // and a results directory views cannot use
  const threads = Math.max(1, o.workers ?? availableParallelism());
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
    const plan = (splitX12: boolean): ParseFileTask[] =>
      planTasks(
        files,
        threads,
        o.splitBytes ?? 64 << 20,
        format,
        (file, part, range, more) => ({
          file,
          ...(more && more.length > 0 ? { more } : {}),
          part,
          stageDir,
          format,
          filter,
          ...(range ? { range } : {}),
        }),
        o.groupBytes,
        splitX12,
      );
    // a split file is hashed here while the threads parse its ranges
    const hashes = new Map<string, Promise<string>>();
    const parse = async (tasks: ParseFileTask[]): Promise<ParseFileResult[]> => {
      for (const t of tasks)
        if (t.range && !hashes.has(t.file)) {
          const h = sha256File(t.file);
          h.catch(() => undefined); // a failed parse may leave it unread
          hashes.set(t.file, h);
        }
      try {
        return await parseFiles(tasks, Math.min(tasks.length, threads), say);
      } catch (e) {
        if (e instanceof PartFailed && tasks[e.part]?.range?.format !== "x12") throw e.error;
        throw e;
      }
    };
    let tasks = plan(true);
    let results: ParseFileResult[] = [];
    let whole = false;
    try {
      results = await parse(tasks);
      whole = results.some((r) => r.splitMismatch);
    } catch (e) {
      if (!(e instanceof PartFailed)) throw e;
      whole = true; // an X12 range failed: the file is read whole below, where its error (if any) is its own
    }
    // an X12 file split where its interchanges change delimiters may have been cut inside a
    // segment (splitX12File): then every X12 file is read whole, from a clean staging directory
    if (whole) {
      const split = [...new Set(tasks.filter((t) => t.range?.format === "x12").map((t) => t.file))];
      say(`ingest: ${split.join(", ")}: not split at its interchanges after all; read whole`);
      rmSync(stageDir, { recursive: true, force: true });
      mkdirSync(stageDir, { recursive: true });
      tasks = plan(false);
      results = await parse(tasks); // no X12 ranges now: parse() throws the failed part's own error
    }
    const parseSeconds = (performance.now() - t0) / 1000;
    const parsePeakRssMb = process.resourceUsage().maxRSS / 1024;
    // each part's sequence numbers continue the previous parts', as if the files were read in one
    // pass; the ranges of a split file continue its line numbers too
    const parts: StagedIngestPart[] = [];
    const next = { claimOffset: 0, transactionOffset: 0, memberOffset: 0 };
    let lineOffset = 0;
    let segmentOffset = 0;
    const warnings: string[] = [];
    for (const r of results) {
      const t = tasks[r.part]!;
      const cont = t.range !== undefined && t.range.start > 0;
      lineOffset = cont ? lineOffset : 0;
      segmentOffset = cont ? segmentOffset : 0;
      parts.push({ part: r.part, ...next, lineOffset, segmentOffset });
      for (const w of r.warnings) warnings.push(warningText(w, lineOffset));
      next.claimOffset += r.claimRows;
      next.transactionOffset += r.transactions;
      next.memberOffset += r.memberRows;
      lineOffset += r.lines;
      segmentOffset += r.segments;
    }
    const reports = await fileReports(tasks, results, hashes);
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
        files: reports,
        warnings: { count: warningCount, first: warnings.slice(0, 100) },
        engineVersion: o.engineVersion ?? "0.1.0",
      },
      next.memberOffset > 0,
      o.storage ?? "parquet",
    );
    for (const w of warnings.slice(0, 20)) say(`ingest: warning: ${w}`);
    if (warningCount > 20) say(`ingest: … ${warningCount - 20} more warnings (sgv_reporting.ingest_runs)`);
    return {
      runId,
      counts,
      files: reports,
      warnings: warningCount,
      seconds: (performance.now() - t0) / 1000,
      parseSeconds,
      parsePeakRssMb,
    };
  } finally {
    rmSync(stageDir, { recursive: true, force: true });
  }
}
