// Member-record files (README "Member input record"): NDJSON, one JSON object per line, and CSV
// (RFC 4180, parsed by csv-parse; diagnosis_codes `;`-separated). Both become Arrow member
// batches through membersToBatch, so every value is validated once, by the encoder, whatever
// the path. Structural problems fail the file with file, line and field, and never quote the
// data (no member id, code or value in a message): invalid JSON or UTF-8, a missing or empty
// member_id, a field of the wrong JSON type, a duplicate member id, ragged CSV rows, duplicate
// CSV header columns, a header no member can be scored from, a line over the size cap.
import { closeSync, createReadStream, fstatSync, openSync, readSync } from "node:fs";
import type { Writable } from "node:stream";
import { parse as parseCsvStream } from "csv-parse";
import type { RecordBatch } from "apache-arrow";
import { DataError } from "../errors.js";
import { MEMBER_TEXT_FIELDS, type MemberInput } from "../engine/member-fields.js";
import { IdSet, type IdBytes } from "./id-set.js";
import { missingMemberColumns, type RangeSplittingSource, type ReadOptions, type SourceStats } from "./types.js";

export type MemberFormat = "ndjson" | "csv";

type MembersToBatch = typeof import("../engine/member.js").membersToBatch;

/** A line (NDJSON) or record (CSV) longer than this fails the file instead of exhausting memory. */
export const MAX_RECORD_BYTES = 16 * 2 ** 20;

export function formatOf(path: string, explicit?: string): MemberFormat {
  const f = (explicit ?? path.split(".").pop() ?? "").toLowerCase();
  if (f === "ndjson" || f === "jsonl" || f === "json") return "ndjson";
  if (f === "csv") return "csv";
  throw new DataError(`${path}: cannot tell the format from the extension; use .ndjson or .csv (or --format ndjson|csv)`, {
    file: path,
  });
}

const STRING_FIELDS = ["member_id", "birth_date", "sex", "orec", "crec", "dual_elgbl_cd", "esrd_status", "rx_plan"];

function checkRecord(o: unknown, file: string, line: number): MemberInput {
  const fail = (what: string, column?: string): never => {
    throw new DataError(`${file}: line ${line}: ${column ? `field ${column}: ` : ""}${what}`, {
      file,
      row: line,
      ...(column ? { column } : {}),
    });
  };
  if (typeof o !== "object" || o === null || Array.isArray(o)) return fail("expected a JSON object");
  const r = o as Record<string, unknown>;
  const id = r["member_id"];
  if (typeof id !== "string" && typeof id !== "number") return fail("required (string)", "member_id");
  if (String(id).trim() === "") return fail("empty", "member_id");
  const dx = r["diagnosis_codes"];
  if (dx !== undefined && dx !== null && (!Array.isArray(dx) || dx.some((c) => c !== null && typeof c !== "string"))) {
    fail("expected an array of strings", "diagnosis_codes");
  }
  for (const f of STRING_FIELDS) {
    const v = r[f];
    if (v !== undefined && v !== null && typeof v !== "string" && typeof v !== "number") fail("expected a string", f);
  }
  for (const [f, v] of Object.entries(r)) {
    if (f !== "diagnosis_codes" && v !== null && typeof v === "object") fail("expected a value, not an object or array", f);
  }
  // one shape for every record (the same keys in the same order): records that kept the key sets
  // they came with made the batch builder, inlined into a worker's parseRange, meet a new map with
  // each new set and throw that function's optimized code away (5–8 times in a 300k run)
  const m: Record<string, unknown> = { member_id: String(id), diagnosis_codes: dx };
  for (const f of MEMBER_TEXT_FIELDS) m[f] = r[f];
  return m as unknown as MemberInput;
}

/** A CSV row as a member record (header names → values; diagnosis_codes `;`-separated). */
export function csvRecord(header: readonly string[], fields: readonly string[], file: string, line: number): MemberInput {
  const o: Record<string, unknown> = {};
  header.forEach((h, i) => {
    const v = fields[i] ?? "";
    o[h] =
      h === "diagnosis_codes"
        ? v
            .split(";")
            .map((c) => c.trim())
            .filter((c) => c !== "")
        : v === ""
          ? null
          : v;
  });
  return checkRecord(o, file, line);
}

/** One NDJSON line as a member record, or null for a blank line. */
export function jsonRecord(text: string, file: string, line: number): MemberInput | null {
  if (text.trim() === "") return null;
  let o: unknown;
  try {
    o = JSON.parse(text);
  } catch (e) {
    throw new DataError(`${file}: line ${line}: ${jsonProblem(e)}`, { file, row: line });
  }
  return checkRecord(o, file, line);
}

/** JSON.parse's message without the text it quotes: only where (column) it failed. */
function jsonProblem(e: unknown): string {
  const m = /position (\d+)/.exec((e as Error).message);
  return m ? `not valid JSON (at column ${Number(m[1]) + 1})` : "not valid JSON";
}

export const fatalUtf8 = new TextDecoder("utf-8", { fatal: true });

function fileError(path: string, e: unknown): never {
  const code = (e as NodeJS.ErrnoException).code;
  if (code === "ENOENT") throw new DataError(`${path}: file not found`, { file: path }, e);
  if (code === "EISDIR") throw new DataError(`${path}: is a directory, not a member file`, { file: path }, e);
  if (code === "EACCES") throw new DataError(`${path}: permission denied`, { file: path }, e);
  throw e;
}

/** A member record and the file line it starts on. */
export type LocatedRecord = [MemberInput, number];

/** NDJSON lines from raw bytes: UTF-8 checked per line, lines capped at MAX_RECORD_BYTES. */
async function* ndjsonRecords(path: string): AsyncGenerator<LocatedRecord> {
  let line = 0;
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  const tooLong = (): never => {
    throw new DataError(`${path}: line ${line + 1}: longer than ${MAX_RECORD_BYTES / 2 ** 20} MiB`, {
      file: path,
      row: line + 1,
    });
  };
  const emit = (raw: Buffer): LocatedRecord | null => {
    line++;
    const bytes = raw.length > 0 && raw[raw.length - 1] === 13 ? raw.subarray(0, -1) : raw;
    let text: string;
    try {
      text = fatalUtf8.decode(bytes);
    } catch {
      throw new DataError(`${path}: line ${line}: not valid UTF-8`, { file: path, row: line });
    }
    const r = jsonRecord(text, path, line);
    return r ? [r, line] : null;
  };
  try {
    for await (const chunk of createReadStream(path) as AsyncIterable<Buffer>) {
      let start = 0;
      for (let nl = chunk.indexOf(10); nl >= 0; nl = chunk.indexOf(10, start)) {
        const part = chunk.subarray(start, nl);
        if (pendingBytes + part.length > MAX_RECORD_BYTES) tooLong();
        const r = emit(pending.length > 0 ? Buffer.concat([...pending, part]) : part);
        pending = [];
        pendingBytes = 0;
        if (r) yield r;
        start = nl + 1;
      }
      if (start < chunk.length) {
        pending.push(chunk.subarray(start));
        pendingBytes += chunk.length - start;
        if (pendingBytes > MAX_RECORD_BYTES) tooLong();
      }
    }
  } catch (e) {
    if (e instanceof DataError) throw e;
    fileError(path, e);
  }
  if (pendingBytes > 0) {
    const r = emit(Buffer.concat(pending));
    if (r) yield r;
  }
}

/** CSV records (csv-parse, RFC 4180: quoted fields may hold commas, quotes and newlines). */
async function* csvRecords(path: string): AsyncGenerator<LocatedRecord> {
  const input = createReadStream(path);
  // UTF-8 is checked on the raw bytes (csv-parse would replace invalid sequences silently)
  const decoder = new TextDecoder("utf-8", { fatal: true });
  let lines = 1;
  async function* text(): AsyncGenerator<string> {
    try {
      for await (const chunk of input as AsyncIterable<Buffer>) {
        let s: string;
        try {
          s = decoder.decode(chunk, { stream: true });
        } catch {
          const ok = chunk.subarray(0, firstInvalidUtf8(chunk));
          throw new DataError(`${path}: line ${lines + countNewlines(ok)}: not valid UTF-8`, {
            file: path,
            row: lines + countNewlines(ok),
          });
        }
        lines += countNewlines(chunk);
        yield s;
      }
    } catch (e) {
      if (e instanceof DataError) throw e;
      fileError(path, e);
    }
  }
  const parser = parseCsvStream({
    bom: true,
    skip_empty_lines: true,
    info: true,
    max_record_size: MAX_RECORD_BYTES,
    relax_column_count: false,
  });
  const feed = (async () => {
    try {
      for await (const s of text()) {
        if (!parser.write(s)) await drainedOrClosed(parser);
        if (parser.destroyed) return; // a CSV error: the loop below reports it
      }
      parser.end();
    } catch (e) {
      parser.destroy(e as Error);
    }
  })();
  let header: string[] | null = null;
  // csv-parse counts a CRLF inside a quoted field as two lines (CR and LF each end one); the
  // fields hold those CRLFs as they were, so the count is corrected by the ones read so far
  let quotedCrlf = 0;
  try {
    for await (const rec of parser as AsyncIterable<{ record: string[]; info: { lines: number } }>) {
      const fields = rec.record;
      for (const f of fields) for (let i = f.indexOf("\r\n"); i >= 0; i = f.indexOf("\r\n", i + 2)) quotedCrlf++;
      const line = rec.info.lines - quotedCrlf;
      if (header === null) {
        header = checkHeader(
          fields.map((h) => h.trim()),
          path,
          line,
        );
        continue;
      }
      yield [csvRecord(header, fields, path, line), line];
    }
  } catch (e) {
    if (e instanceof DataError) throw e;
    const err = e as { code?: string; lines?: number; message?: string };
    if (typeof err.code === "string" && err.code.startsWith("CSV_")) {
      const where = err.lines ? `line ${err.lines - quotedCrlf}: ` : "";
      const what =
        err.code === "CSV_RECORD_INCONSISTENT_FIELDS_LENGTH"
          ? "number of fields differs from the header"
          : err.code === "CSV_QUOTE_NOT_CLOSED"
            ? "a quoted field is not closed"
            : err.code === "CSV_MAX_RECORD_SIZE"
              ? `record longer than ${MAX_RECORD_BYTES / 2 ** 20} MiB`
              : `malformed CSV (${err.code})`;
      throw new DataError(`${path}: ${where}${what}`, { file: path, ...(err.lines ? { row: err.lines - quotedCrlf } : {}) }, e);
    }
    throw e;
  } finally {
    await feed;
    input.destroy();
  }
  if (header === null) throw new DataError(`${path}: empty CSV (no header)`, { file: path });
}

/** Resolves when the stream wants more input, or is closed (after an error it never drains). */
function drainedOrClosed(stream: Writable): Promise<void> {
  return new Promise((resolve) => {
    if (stream.destroyed) return resolve();
    const done = (): void => {
      stream.off("drain", done);
      stream.off("close", done);
      resolve();
    };
    stream.on("drain", done);
    stream.on("close", done);
  });
}

function countNewlines(b: Uint8Array): number {
  let n = 0;
  for (let i = b.indexOf(10); i >= 0; i = b.indexOf(10, i + 1)) n++;
  return n;
}

/** Offset of the first byte that does not continue a valid UTF-8 sequence (b.length when none). */
function firstInvalidUtf8(b: Uint8Array): number {
  let i = 0;
  while (i < b.length) {
    const c = b[i] ?? 0;
    const n = c < 0x80 ? 0 : c >= 0xc2 && c <= 0xdf ? 1 : c >= 0xe0 && c <= 0xef ? 2 : c >= 0xf0 && c <= 0xf4 ? 3 : -1;
    if (n < 0) return i;
    for (let k = 1; k <= n; k++) {
      if (i + k >= b.length) return b.length; // cut by the chunk: judged with the next one
      if (((b[i + k] ?? 0) & 0xc0) !== 0x80) return i;
    }
    i += n + 1;
  }
  return b.length;
}

/** Member records of a file, in order. */
export function readMemberRecords(path: string, format: MemberFormat): AsyncGenerator<LocatedRecord> {
  return format === "ndjson" ? ndjsonRecords(path) : csvRecords(path);
}

/** A member-record file as a MemberSource (member_id → participant_id); duplicate ids fail the file. */
export class MemberRecordSource implements RangeSplittingSource {
  private readonly counts: SourceStats = {
    membersRead: 0,
    dxRowsRead: 0,
    orphanDxRows: 0,
    duplicateParticipants: 0,
    nullDxCodes: 0,
  };
  private readonly seen = new IdSet();

  constructor(
    readonly path: string,
    readonly format: MemberFormat,
  ) {}

  describe(): string {
    return `${this.format}:${this.path}`;
  }

  stats(): SourceStats {
    return { ...this.counts };
  }

  private batch(members: MemberInput[], firstLine: number[], toBatch: MembersToBatch): RecordBatch {
    const { batch, nullCodes } = toBatch(members);
    const idCol = batch.getChildAt(0)!.data[0]!;
    this.checkIds(idCol.values as Uint8Array, idCol.valueOffsets as Int32Array, Int32Array.from(firstLine));
    this.counts.membersRead += members.length;
    this.counts.nullDxCodes = (this.counts.nullDxCodes ?? 0) + nullCodes;
    const dx = batch.getChild("diagnosis_codes")?.data[0]?.valueOffsets as Int32Array | undefined;
    this.counts.dxRowsRead += dx ? (dx[members.length] ?? 0) : 0;
    return batch;
  }

  ranges(): RecordRange[] | null {
    return splitRanges(this.path, this.format);
  }

  /** Adds a batch's ids (UTF-8, id k at offsets[k]..offsets[k+1]) to the ids seen; a repeat fails the file. */
  private checkIds(bytes: Uint8Array, offsets: Int32Array, lines: Int32Array): void {
    for (let i = 0; i < lines.length; i++) {
      if (!this.seen.add(bytes, offsets[i]!, offsets[i + 1]!)) {
        this.counts.duplicateParticipants++;
        const line = lines[i] ?? 0;
        throw new DataError(`${this.path}: line ${line}: field member_id: duplicate of an earlier record`, {
          file: this.path,
          row: line,
          column: "member_id",
        });
      }
    }
  }

  accept(ids: IdBytes, lines: Int32Array, counts: { dxItems: number; nullCodes: number }): void {
    if (ids.offsets.length !== lines.length + 1) throw new Error("accept: one id per line expected");
    this.checkIds(ids.bytes, ids.offsets, lines);
    this.counts.membersRead += lines.length;
    this.counts.dxRowsRead += counts.dxItems;
    this.counts.nullDxCodes = (this.counts.nullDxCodes ?? 0) + counts.nullCodes;
  }

  async *read(opts: ReadOptions): AsyncGenerator<RecordBatch> {
    // the Arrow batch builder loads here: a run whose workers parse ranges never reads this way
    const { membersToBatch } = await import("../engine/member.js");
    let members: MemberInput[] = [];
    let lines: number[] = [];
    for await (const [m, line] of readMemberRecords(this.path, this.format)) {
      members.push(m);
      lines.push(line);
      if (members.length >= opts.batchSize) {
        if (opts.signal?.aborted) throw new DataError(`${this.path}: read aborted`);
        yield this.batch(members, lines, membersToBatch);
        members = [];
        lines = [];
      }
    }
    yield this.batch(members, lines, membersToBatch);
  }

  close(): Promise<void> {
    this.seen.clear();
    return Promise.resolve();
  }
}

// ---- byte ranges parsed in the workers ------------------------------------------------------------

/** A run of whole lines of a member-record file that a worker parses itself. */
export interface RecordRange {
  file: string;
  format: MemberFormat;
  start: number;
  end: number;
  /** 1-based line number of the range's first line. */
  firstLine: number;
  /** CSV: the header's column names. */
  header: string[] | null;
}

/** Bytes per range handed to a worker. */
export const RANGE_BYTES = 2 * 2 ** 20;
/**
 * The first range's bytes; each next one is twice the last, up to RANGE_BYTES. A worker's first
 * batches then run its parse, score and encode code end to end on a few hundred members before V8
 * optimizes those loops in the middle of a full range: optimized mid-loop on its first range, the
 * code after each loop had never run, and that code was thrown away and recompiled (61 → 25
 * deoptimizations in one 300k run; bench/README.md#session-15).
 */
const FIRST_RANGE_BYTES = 128 * 2 ** 10;

/**
 * Cut a member-record file into ranges of whole lines for the workers, counting lines on the way
 * (memchr speed). CSV is split only when the file holds no quote character at all (a quoted
 * field may span lines); otherwise null, and the file is parsed here with csv-parse.
 */
export function splitRanges(file: string, format: MemberFormat, rangeBytes = RANGE_BYTES): RecordRange[] | null {
  let fd: number;
  try {
    fd = openSync(file, "r");
  } catch (e) {
    return fileError(file, e);
  }
  const ranges: RecordRange[] = [];
  try {
    const size = fstatSync(fd).size;
    const chunk = Buffer.allocUnsafe(1 << 20);
    let header: string[] | null = null;
    let pos = 0;
    let line = 1;
    let rangeStart = 0;
    let rangeLine = 1;
    let limit = Math.min(rangeBytes, FIRST_RANGE_BYTES); // bytes of the range being cut
    while (pos < size) {
      const n = readSync(fd, chunk, 0, chunk.length, pos);
      if (n === 0) break;
      const view = chunk.subarray(0, n);
      if (format === "csv" && view.indexOf(0x22) >= 0) return null;
      if (format === "csv" && header === null) {
        const nl = view.indexOf(10);
        if (nl < 0 && n === chunk.length) return null; // a header over 1 MiB: let csv-parse judge
        const text = view
          .subarray(0, nl < 0 ? n : nl)
          .toString("utf8")
          .replace(/\r$/, "")
          .replace(/^\ufeff/, "");
        header = checkHeader(
          text.split(",").map((h) => h.trim()),
          file,
          1,
        );
        rangeStart = nl < 0 ? n : nl + 1;
        rangeLine = 2;
      }
      for (let i = view.indexOf(10); i >= 0; i = view.indexOf(10, i + 1)) {
        line++;
        const at = pos + i + 1;
        if (at - rangeStart >= limit) {
          if (at > rangeStart) ranges.push({ file, format, start: rangeStart, end: at, firstLine: rangeLine, header });
          rangeStart = at;
          rangeLine = line;
          limit = Math.min(rangeBytes, limit * 2);
        }
      }
      pos += n;
    }
    if (format === "csv" && header === null) throw new DataError(`${file}: empty CSV (no header)`, { file });
    if (size > rangeStart) ranges.push({ file, format, start: rangeStart, end: size, firstLine: rangeLine, header });
    return ranges;
  } finally {
    closeSync(fd);
  }
}

/** A CSV header: no duplicate names, a member_id, and the columns a member needs. */
function checkHeader(header: string[], file: string, line: number): string[] {
  const seen = new Set<string>();
  for (const h of header) {
    if (seen.has(h))
      throw new DataError(`${file}: line ${line}: header column ${h} appears twice`, { file, row: line, column: h });
    seen.add(h);
  }
  if (!seen.has("member_id"))
    throw new DataError(`${file}: line ${line}: header has no member_id column`, { file, row: line, column: "member_id" });
  const missing = missingMemberColumns((n) => seen.has(n === "participant_id" ? "member_id" : n));
  if (missing.length > 0) {
    throw new DataError(`${file}: line ${line}: header has no ${missing.join(", ")} column: no member can be scored`, {
      file,
      row: line,
      column: missing[0] ?? "",
    });
  }
  return header;
}
