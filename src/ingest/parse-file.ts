// One input file of `hcc ingest` (or a group of small ones, in order) → its own staging part
// (staging.ts, files `*-<part>.csv` and `dx-<part>.parquet`): format detection, parsing, the
// filter decision of every claim, each file's sha256. The same function runs inline (`--workers
// 1`) and on the ingest worker threads (src/workers/ingest-worker.ts), so both paths write the
// same rows. Sequence numbers (claims, transactions, 834 members) count from 1 within the part;
// the warehouse step adds each part's offset, so the published numbers are the ones a serial run
// over the files in order gives.
import { createHash } from "node:crypto";
import { closeSync, existsSync, openSync, readFileSync, readSync, readdirSync, statSync } from "node:fs";
import { extname, join, resolve } from "node:path";
import { DataError, UsageError } from "../errors.js";
import { buildProcedureLists, decideClaim, type FilterOptions } from "./filter.js";
import { readBundleFile, readNdjsonFile, type ByteRange } from "./fhir-files.js";
import { readEob } from "./fhir-eob.js";
import { StagingWriter } from "./staging.js";
import type { Claim, Rejection, RejectCode, SourceLocation, EnrollmentMember } from "./types.js";
import { readX12File, type X12Sink } from "./x12-interchange.js";

/** A byte range of a large file parsed as its own task (run.ts): NDJSON at a line start, X12 at an ISA. */
export interface FileRange extends ByteRange {
  format: "ndjson" | "x12";
  /** The range ends at the end of the file. */
  last: boolean;
}

/** A warning with its location; run.ts renders it once the lines of a split file's earlier ranges are known. */
export interface IngestWarning {
  file: string;
  line: number;
  segment?: string;
  message: string;
}

export type FileFormat = "x12" | "ndjson" | "json";

export interface IngestFileReport {
  path: string;
  format: string;
  bytes: number;
  sha256: string;
  claims: number;
  members: number;
  seconds: number;
}

/** Structured-cloneable filter settings (the CPT/HCPCS lists are read from dataDir once per thread). */
export interface ParseFilterSettings {
  period: { from: number; to: number } | null;
  tob87x: boolean;
  dataDir: string;
  cptListYear: number | null;
}

/**
 * Files to parse into staging part `part` of `stageDir`, in order (the worker protocol: plain data
 * only): `file`, then the small files of `more` that follow it in the input (run.ts groups them so
 * a thousand small files do not make a thousand parts).
 */
export interface ParseFileTask {
  file: string;
  /** Further files parsed after `file` into the same part, in input order (never with `range`). */
  more?: string[];
  part: number;
  stageDir: string;
  format: FileFormat | "auto";
  filter: ParseFilterSettings;
  /**
   * Parse this byte range of the file (splitNdjsonFile, splitX12File). The report's sha256 is then
   * empty (the caller hashes the whole file), and lines and X12 segments are numbered from 1 in the
   * range: the warehouse step shifts them by the earlier ranges' `lines` and `segments`.
   */
  range?: FileRange;
}

export interface ParseFileResult {
  part: number;
  /** One report per file of the task, in its order. */
  reports: IngestFileReport[];
  /** Rows in the part's staging files: claims (claim_seq 1..n), 834 member loops, transactions numbered. */
  claimRows: number;
  memberRows: number;
  transactions: number;
  /** Lines read (blank ones too) of the task's range: what the lines of a later range of the file are shifted by. */
  lines: number;
  /** X12 segments read of the task's range: what the segment numbers of a later range are shifted by. */
  segments: number;
  /** An X12 range did not end where a segment ends (X12SegmentReader.splitMismatch): read the file whole. */
  splitMismatch: boolean;
  /** The first 1000 warnings (file, line, segment; never member data) and how many there were. */
  warnings: IngestWarning[];
  warningCount: number;
}

const WARNINGS_KEPT = 1000;
const JSON_WHOLE_LIMIT = 32 << 20;
const procedureLists = new Map<string, FilterOptions["procedures"]>();

export function readProcedureLists(dataDir: string, onlyYear?: number): FilterOptions["procedures"] {
  const key = `${dataDir}\0${onlyYear ?? ""}`;
  const cached = procedureLists.get(key);
  if (cached) return cached;
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
    const lists = buildProcedureLists(byYear, onlyYear);
    procedureLists.set(key, lists);
    return lists;
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

/** Parse a task's files into their staging part. Throws DataError when a file as a whole cannot be read. */
export function parseIngestFile(task: ParseFileTask): ParseFileResult {
  const filter: FilterOptions = {
    period: task.filter.period,
    procedures: readProcedureLists(task.filter.dataDir, task.filter.cptListYear ?? undefined),
    tob87x: task.filter.tob87x,
  };
  const stage = new StagingWriter(task.stageDir, task.part);
  const warnings: IngestWarning[] = [];
  let warningCount = 0;
  let tx = 0;
  // the counts of the file being read
  let claims = 0;
  let members = 0;
  let bytes = 0;
  let hash = createHash("sha256");
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
      stage.writeMember(m, null, m.location);
    },
    memberProblem(message: string, at: SourceLocation): void {
      members++;
      stage.writeMember(null, message, at);
    },
    nextTransaction: () => ++tx,
    badTransaction(id: number, code: RejectCode, message: string, at: SourceLocation): void {
      stage.writeBadTransaction(id, code, message, at);
    },
    warn(message: string, at: SourceLocation): void {
      warningCount++;
      if (warnings.length < WARNINGS_KEPT)
        warnings.push({ file: at.file, line: at.line, ...(at.segment ? { segment: at.segment } : {}), message });
    },
  };
  const onBytes = (b: Buffer): void => {
    bytes += b.length;
    hash.update(b);
  };
  const reports: IngestFileReport[] = [];
  let lines = 0;
  let segments = 0;
  let splitMismatch = false;
  const one = (file: string, range: FileRange | undefined): void => {
    const t1 = performance.now();
    claims = 0;
    members = 0;
    bytes = 0;
    hash = createHash("sha256");
    const format = range ? range.format : task.format !== "auto" ? task.format : detectFormat(file);
    const counted = range ? (b: Buffer): void => void (bytes += b.length) : onBytes;
    let kinds: string = format;
    if (format === "x12") {
      const st = readX12File(file, sink, counted, range);
      kinds = [...st.kinds].join("+") || "x12";
      lines = st.lineBreaks;
      segments = st.segments;
      splitMismatch = st.splitMismatch;
      if (st.clmSegments !== claims)
        throw new DataError(`${file}: ${st.clmSegments} CLM segments but ${claims} claim outcomes (internal count mismatch)`, {
          file,
        });
    } else if (format === "ndjson") {
      const st = readNdjsonFile(file, sink, counted, range);
      lines = st.lines;
      if (st.records !== claims) throw new DataError(`${file}: ${st.records} records but ${claims} claim outcomes`, { file });
    } else readJsonFile(file, sink, onBytes);
    reports.push({
      path: resolve(file),
      format: kinds,
      bytes,
      sha256: range ? "" : hash.digest("hex"),
      claims,
      members,
      seconds: (performance.now() - t1) / 1000,
    });
  };
  try {
    one(task.file, task.range);
    for (const file of task.more ?? []) one(file, undefined);
    return {
      part: task.part,
      reports,
      claimRows: stage.claimRows,
      memberRows: stage.memberRows,
      transactions: tx,
      lines,
      segments,
      splitMismatch,
      warnings,
      warningCount,
    };
  } finally {
    stage.close();
  }
}
