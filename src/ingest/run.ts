// `hcc ingest`: claim and enrollment files → the warehouse. Each file's format is detected (or
// given), parsed as a stream, every claim decided (filter.ts) and streamed to the staging files;
// then warehouse.ts resolves voids/replacements and publishes atomically. Progress and errors
// name files, lines and counts, never member ids or codes.
import { createHash, randomBytes } from "node:crypto";
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, readSync, readdirSync, rmSync, statSync } from "node:fs";
import { basename, dirname, extname, join, resolve } from "node:path";
import { DataError, UsageError } from "../errors.js";
import { parseIsoDate } from "./dates.js";
import { buildProcedureLists, decideClaim, type FilterOptions } from "./filter.js";
import { readBundleFile, readNdjsonFile } from "./fhir-files.js";
import { readEob } from "./fhir-eob.js";
import { StagingWriter } from "./staging.js";
import type { Claim, Rejection, RejectCode, SourceLocation, EnrollmentMember } from "./types.js";
import { publishIngest, type IngestCounts } from "./warehouse.js";
import { readX12File, type X12Sink } from "./x12-interchange.js";

export type FileFormat = "x12" | "ndjson" | "json";

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
  onProgress?: (msg: string) => void;
}

export interface IngestFileReport {
  path: string;
  format: string;
  bytes: number;
  sha256: string;
  claims: number;
  members: number;
  seconds: number;
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

export function readProcedureLists(dataDir: string, onlyYear?: number): FilterOptions["procedures"] {
  const dir = join(dataDir, "procedures");
  if (!existsSync(dir)) throw new DataError(`${dir}: not found; run 'hcc data import' (the CPT/HCPCS lists)`, { file: dir });
  const byYear = new Map<number, Set<string>>();
  for (const f of readdirSync(dir)) {
    const m = /^ra-eligible-cpt-hcpcs-(\d{4})\.tsv$/.exec(f);
    if (!m) continue;
    const codes = readFileSync(join(dir, f), "utf8")
      .split("\n")
      .slice(1)
      .filter((c) => c !== "");
    byYear.set(Number(m[1]), new Set(codes));
  }
  try {
    return buildProcedureLists(byYear, onlyYear);
  } catch (e) {
    throw new UsageError(`--cpt-list-year: ${(e as Error).message}`, e);
  }
}

/** x12 when the file starts with ISA; JSON files by extension or by their first line. */
export function detectFormat(file: string): FileFormat {
  const fd = openSync(file, "r");
  const head = Buffer.alloc(65536);
  const n = readSync(fd, head, 0, head.length, 0);
  closeSync(fd);
  const text = head
    .subarray(0, n)
    .toString("latin1")
    .replace(/^\ufeff|^\xef\xbb\xbf/, "")
    .trimStart();
  if (text.startsWith("ISA")) return "x12";
  const ext = extname(file).toLowerCase();
  if (ext === ".ndjson" || ext === ".jsonl") return "ndjson";
  if (text.startsWith("{")) {
    const first = text.split("\n", 1)[0] ?? "";
    if (ext !== ".json" && text.includes("\n") && first.trimEnd().endsWith("}")) return "ndjson";
    return "json";
  }
  throw new DataError(`${file}: unknown format (not X12 starting with ISA, not FHIR JSON/NDJSON); use --format`, { file });
}

const JSON_WHOLE_LIMIT = 32 << 20;

function readJsonFile(file: string, sink: X12Sink, onBytes: (b: Buffer) => void): number {
  if (statSync(file).size > JSON_WHOLE_LIMIT) return readBundleFile(file, sink, onBytes).records;
  const buf = readFileSync(file);
  onBytes(buf);
  let v: unknown;
  try {
    v = JSON.parse(buf.toString("utf8"));
  } catch {
    throw new DataError(`${file}: not valid JSON`, { file });
  }
  const o = v as Record<string, unknown> | null;
  if (o?.["resourceType"] === "Bundle") return readBundleFile(file, sink, () => undefined).records;
  const location = { file, line: 1, offset: 0 };
  const r = readEob(v, location);
  if ("message" in r) sink.reject(r);
  else sink.claim(r);
  return 1;
}

function defaultPeriod(paymentYear: number): { from: string; to: string } {
  return { from: `${paymentYear - 1}-01-01`, to: `${paymentYear - 1}-12-31` };
}

export function newRunId(): string {
  const t = new Date().toISOString().replace(/[-:T]/g, "").slice(0, 14);
  return `${t}_${randomBytes(4).toString("hex")}`;
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
  const filter: FilterOptions = {
    period: period ? { from: days(period.from, "start"), to: days(period.to, "end") } : null,
    procedures: readProcedureLists(o.dataDir, o.cptListYear),
    tob87x: o.tob87x ?? true,
  };
  if (filter.period && filter.period.from > filter.period.to) throw new UsageError("--collection-period: start after end");
  const runId = newRunId();
  const db = resolve(o.db);
  mkdirSync(dirname(db), { recursive: true });
  const stageDir = `${db}.ingest-${runId}`;
  // a killed run's staging directories (the warehouse lock keeps two runs from overlapping)
  for (const f of readdirSync(dirname(db)))
    if (f.startsWith(`${basename(db)}.ingest-`)) rmSync(join(dirname(db), f), { recursive: true, force: true });
  mkdirSync(stageDir, { recursive: true });
  const stage = new StagingWriter(stageDir);
  const warnings: string[] = [];
  let warningCount = 0;
  let tx = 0;
  let hasMembers = false;
  const reports: IngestFileReport[] = [];
  const where = (l: SourceLocation): string => `${l.file}: line ${l.line}${l.segment ? ` (${l.segment})` : ""}`;
  try {
    for (const file of o.files) {
      const t1 = performance.now();
      const format = o.format && o.format !== "auto" ? o.format : detectFormat(file);
      const hash = createHash("sha256");
      let claims = 0;
      let members = 0;
      let bytes = 0;
      const sink: X12Sink = {
        claim(c: Claim): void {
          claims++;
          stage.writeClaim(c, decideClaim(c, filter));
        },
        reject(r: Rejection): void {
          claims++;
          stage.writeRejection(r);
        },
        member(m: EnrollmentMember): void {
          members++;
          hasMembers = true;
          stage.writeMember(m, null, m.location);
        },
        memberProblem(message: string, at: SourceLocation): void {
          members++;
          hasMembers = true;
          stage.writeMember(null, message, at);
        },
        nextTransaction: () => ++tx,
        badTransaction(id: number, code: RejectCode, message: string, at: SourceLocation): void {
          stage.writeBadTransaction(id, code, message, at);
        },
        warn(message: string, at: SourceLocation): void {
          warningCount++;
          if (warnings.length < 1000) warnings.push(`${where(at)}: ${message}`);
        },
      };
      const onBytes = (b: Buffer): void => {
        bytes += b.length;
        hash.update(b);
      };
      let kinds: string = format;
      if (format === "x12") {
        const st = readX12File(file, sink, onBytes);
        kinds = [...st.kinds].join("+") || "x12";
        if (st.clmSegments !== claims)
          throw new DataError(`${file}: ${st.clmSegments} CLM segments but ${claims} claim outcomes (internal count mismatch)`, {
            file,
          });
      } else if (format === "ndjson") {
        const st = readNdjsonFile(file, sink, onBytes);
        if (st.records !== claims) throw new DataError(`${file}: ${st.records} records but ${claims} claim outcomes`, { file });
      } else readJsonFile(file, sink, onBytes);
      const seconds = (performance.now() - t1) / 1000;
      reports.push({ path: resolve(file), format: kinds, bytes, sha256: hash.digest("hex"), claims, members, seconds });
      say(
        `ingest: ${file}: ${kinds}, ${claims} claims, ${members} members, ${(bytes / 1e6).toFixed(1)} MB in ${seconds.toFixed(2)} s`,
      );
    }
    stage.close();
    const parseSeconds = (performance.now() - t0) / 1000;
    const parsePeakRssMb = process.resourceUsage().maxRSS / 1024;
    const counts = await publishIngest(
      db,
      stageDir,
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
      hasMembers,
    );
    for (const w of warnings.slice(0, 20)) say(`ingest: warning: ${w}`);
    if (warningCount > 20) say(`ingest: … ${warningCount - 20} more warnings (sgv_reporting.ingest_runs.warnings)`);
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
    stage.close();
    rmSync(stageDir, { recursive: true, force: true });
  }
}
