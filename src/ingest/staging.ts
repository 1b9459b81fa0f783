// Streams ingest records to staging files (beside the warehouse, never in a shared temp
// directory) in large buffered writes. One row per claim (claims-<part>.csv), per 834 member
// (members-<part>.csv) and per failed transaction envelope (transactions-<part>.csv), which the
// warehouse step loads with DuckDB's CSV reader; one row per claim diagnosis in dx-<part>.parquet
// (dx-part.ts), which the published claims_diagnoses view reads as it is. One part per input file
// (or NDJSON range, or group of small files), so files can be parsed concurrently. Nothing is
// kept per claim in memory.
import { closeSync, openSync, writeSync } from "node:fs";
import { join } from "node:path";
import type { Claim, Decision, EnrollmentMember, Rejection, RejectCode, SourceLocation } from "./types.js";
import { formatDays } from "./dates.js";
import { DxPartWriter } from "./dx-part.js";

const q = (v: string | number | boolean | null | undefined): string => {
  if (v === null || v === undefined) return "";
  if (typeof v !== "string") return String(v);
  for (let i = 0; i < v.length; i++) {
    const c = v.charCodeAt(i);
    if (c === 34 || c === 44 || c === 10 || c === 13) return `"${v.replace(/"/g, '""')}"`;
  }
  return v === "" ? '""' : v;
};

const day = (d: number | null): string => (d === null ? "" : formatDays(d));

// YYYY-MM-DD bytes of the days 1900-01-01 .. 2199-12-31 (the dates the readers accept), made
// when first written: claims repeat a few thousand distinct dates
const DAY_TABLE_FROM = -25567;
const DAY_TABLE_SIZE = 109573;
const DAY_TEXT = new Uint8Array(10 * DAY_TABLE_SIZE);
const DAY_DONE = new Uint8Array(DAY_TABLE_SIZE);
function fillDay(k: number): void {
  const text = formatDays(k + DAY_TABLE_FROM);
  for (let i = 0; i < 10; i++) DAY_TEXT[10 * k + i] = text.charCodeAt(i);
  DAY_DONE[k] = 1;
}

/** Bytes buffered per file before a write. */
const FLUSH_AT = 1 << 18;

/**
 * One staging CSV file, written as bytes: cells go straight into a buffer (no string per row, no
 * join), one write per 256 KiB. `cell` writes what q() gives for a string, `int` a whole number,
 * `day` a date; the rare rows (rejections, 834 members, transactions) are written as text.
 */
class CsvFile {
  private buf = Buffer.allocUnsafe(FLUSH_AT + (1 << 16));
  private n = 0;
  private readonly fd: number;
  rows = 0;
  constructor(
    readonly path: string,
    header: readonly string[],
  ) {
    this.fd = openSync(path, "w");
    this.text(header.join(","));
    this.end();
    this.rows = 0;
  }
  /** Room for k more bytes: a write first when the buffer is full, a larger buffer for a huge value. */
  private room(k: number): void {
    if (this.n + k <= this.buf.length) return;
    this.flush();
    if (k > this.buf.length) this.buf = Buffer.allocUnsafe(k + (1 << 16));
  }
  /** Text as it is (UTF-8): a whole row, or a value already quoted. */
  text(s: string): void {
    this.room(3 * s.length);
    this.n += this.buf.write(s, this.n, "utf8");
  }
  /** ASCII without separators or quotes (formats, outcomes, reason codes, tags): as it is. */
  ascii(s: string): void {
    const k = s.length;
    this.room(k);
    const b = this.buf;
    let n = this.n;
    for (let i = 0; i < k; i++) b[n++] = s.charCodeAt(i);
    this.n = n;
  }
  /** A string cell as q() writes it; null is an empty cell. */
  cell(v: string | null | undefined): void {
    if (v === null || v === undefined) return;
    const k = v.length;
    this.room(3 * k + 2);
    const b = this.buf;
    if (k === 0) {
      b[this.n++] = 34;
      b[this.n++] = 34;
      return;
    }
    let n = this.n;
    for (let i = 0; i < k; i++) {
      const c = v.charCodeAt(i);
      // non-ASCII, or a character that needs quoting: the text path, from the cell's start
      if (c >= 0x80 || c === 34 || c === 44 || c === 10 || c === 13) return this.text(q(v));
      b[n++] = c;
    }
    this.n = n;
  }
  /** A number as String() prints it (the whole numbers here: digits); null is an empty cell. */
  int(v: number | null | undefined): void {
    if (v === null || v === undefined) return;
    if (!(v >= 0 && v <= 0x7fffffff && v === Math.floor(v))) return this.ascii(String(v));
    this.room(10);
    const b = this.buf;
    if (v < 10) {
      b[this.n++] = 48 + v;
      return;
    }
    let digits = 1;
    for (let p = 10; p <= v; p *= 10) digits++;
    let at = this.n + digits;
    this.n = at;
    let x: number = v;
    do {
      const r = x % 10;
      b[--at] = 48 + r;
      x = (x - r) / 10;
    } while (x > 0);
  }
  /** Days since 1970-01-01 as YYYY-MM-DD (formatDays); null is an empty cell. */
  day(days: number | null): void {
    if (days === null) return;
    const k = days - DAY_TABLE_FROM;
    if (!(k >= 0 && k < DAY_TABLE_SIZE)) return this.ascii(formatDays(days));
    if (DAY_DONE[k] === 0) fillDay(k);
    this.room(10);
    const b = this.buf;
    const n = this.n;
    const t = 10 * k;
    for (let i = 0; i < 10; i++) b[n + i] = DAY_TEXT[t + i]!;
    this.n = n + 10;
  }
  /** Bytes as they are (a cached quoted cell). */
  bytes(src: Uint8Array): void {
    this.room(src.length);
    this.buf.set(src, this.n);
    this.n += src.length;
  }
  comma(): void {
    this.room(1);
    this.buf[this.n++] = 44;
  }
  /** Commas for k empty cells. */
  commas(k: number): void {
    this.room(k);
    for (let i = 0; i < k; i++) this.buf[this.n++] = 44;
  }
  /** A whole row given as text. */
  row(s: string): void {
    this.text(s);
    this.end();
  }
  /** The row's line break. */
  end(): void {
    this.room(1);
    this.buf[this.n++] = 10;
    this.rows++;
    if (this.n >= FLUSH_AT) this.flush();
  }
  flush(): void {
    let off = 0;
    while (off < this.n) off += writeSync(this.fd, this.buf, off, this.n - off);
    this.n = 0;
  }
  close(): void {
    this.flush();
    closeSync(this.fd);
  }
}

export const CLAIM_COLUMNS = [
  "claim_seq",
  "claim_format",
  "claim_kind",
  "claim_id",
  "original_ref",
  "frequency",
  "participant_id",
  "bill_type",
  "place_of_service",
  "service_from",
  "service_to",
  "billing_npi",
  "rendering_npi",
  "transaction_id",
  "outcome",
  "reason",
  "message",
  "diagnosis_source",
  "source_file",
  "source_line",
  "source_offset",
  "segment",
  "segment_index",
  "element",
  "json_pointer",
  "dx_count",
  "line_count",
] as const;
export const DX_COLUMNS = [
  "claim_seq",
  "diagnosis_code",
  "diagnosis_code_raw",
  "dx_position",
  "dx_qualifier",
  "line_number",
  "procedure_code",
  "revenue_code",
  "line_rendering_npi",
  "service_date",
] as const;
export const MEMBER_COLUMNS = [
  "member_seq",
  "participant_id",
  "birth_date",
  "sex",
  "dual_elgbl_cd",
  "medicare",
  "medicaid",
  "coverage_start_date",
  "coverage_end_date",
  "maintenance_type",
  "field_sources",
  "source_file",
  "source_line",
  "source_offset",
  "problem",
] as const;
export const TX_COLUMNS = [
  "transaction_id",
  "code",
  "message",
  "source_file",
  "source_line",
  "source_offset",
  "segment",
  "segment_index",
] as const;

export type StagingTable = "claims" | "dx" | "members" | "transactions";

/** The staging file of one table and part (the diagnosis rows are Parquet: dx-part.ts). */
export function stagingFile(dir: string, table: StagingTable, part: number): string {
  return join(dir, `${table}-${part}.${table === "dx" ? "parquet" : "csv"}`);
}

export class StagingWriter {
  readonly claims: CsvFile;
  readonly dx: DxPartWriter;
  readonly members: CsvFile;
  readonly transactions: CsvFile;
  private seq = 0;
  private memberSeq = 0;
  constructor(
    readonly dir: string,
    readonly part: number,
  ) {
    this.claims = new CsvFile(stagingFile(dir, "claims", part), CLAIM_COLUMNS);
    this.dx = new DxPartWriter(stagingFile(dir, "dx", part));
    this.members = new CsvFile(stagingFile(dir, "members", part), MEMBER_COLUMNS);
    this.transactions = new CsvFile(stagingFile(dir, "transactions", part), TX_COLUMNS);
  }

  /** Claims (and rejections) written: their claim_seq runs 1..claimRows within the part. */
  get claimRows(): number {
    return this.seq;
  }

  get memberRows(): number {
    return this.memberSeq;
  }

  // the file of the previous location, as its quoted cell: every claim of a part names the same file
  private lastFile = "";
  private lastFileCell: Uint8Array = Buffer.from('""');

  /** A claim row's location cells: source_file … json_pointer. */
  private writeWhere(f: CsvFile, l: SourceLocation): void {
    if (l.file !== this.lastFile) {
      this.lastFile = l.file;
      this.lastFileCell = Buffer.from(q(l.file), "utf8");
    }
    f.bytes(this.lastFileCell);
    f.comma();
    if (l.line) f.int(l.line);
    f.comma();
    f.int(l.offset);
    f.comma();
    f.cell(l.segment);
    f.comma();
    f.int(l.segmentIndex);
    f.comma();
    f.cell(l.element);
    f.comma();
    f.cell(l.pointer);
  }

  writeClaim(c: Claim, d: Decision): void {
    const seq = ++this.seq;
    // cell by cell into the file's buffer, CLAIM_COLUMNS in order; the diagnoses as DX_COLUMNS rows
    const f = this.claims;
    f.int(seq);
    f.comma();
    f.ascii(c.format);
    f.comma();
    f.ascii(c.kind);
    f.comma();
    f.cell(c.claimId);
    f.comma();
    f.cell(c.originalRef);
    f.comma();
    f.cell(c.frequency);
    f.comma();
    f.cell(c.memberId);
    f.comma();
    f.cell(c.billType);
    f.comma();
    f.cell(c.placeOfService);
    f.comma();
    f.day(c.from);
    f.comma();
    f.day(c.to);
    f.comma();
    f.cell(c.billingNpi);
    f.comma();
    f.cell(c.renderingNpi);
    f.comma();
    f.int(c.transaction);
    f.comma();
    f.ascii(d.outcome);
    f.comma();
    if (d.reason) f.ascii(d.reason);
    f.commas(2); // message: empty
    if (d.source) f.ascii(d.source);
    f.comma();
    this.writeWhere(f, c.location);
    f.comma();
    f.int(c.diagnoses.length);
    f.comma();
    f.int(c.lines.length);
    f.end();
    const x = this.dx;
    for (const dx of c.diagnoses) {
      const li = d.lineFor(dx);
      x.add(seq, dx, li >= 0 ? c.lines[li]! : null, c.to);
    }
  }

  writeRejection(r: Rejection): void {
    const seq = ++this.seq;
    // CLAIM_COLUMNS in order, the claim fields a rejection does not have left empty
    const f = this.claims;
    f.int(seq);
    f.comma();
    f.ascii(r.format);
    f.commas(2); // claim_kind
    f.cell(r.claimId);
    f.commas(3); // original_ref, frequency
    f.cell(r.memberId);
    f.commas(7); // bill_type … rendering_npi
    f.int(r.transaction);
    f.comma();
    f.ascii("rejected");
    f.comma();
    f.ascii(r.code);
    f.comma();
    f.cell(r.message);
    f.commas(2); // diagnosis_source
    this.writeWhere(f, r.location);
    f.commas(2); // dx_count, line_count
    f.end();
  }

  writeMember(m: EnrollmentMember | null, problem: string | null, at: SourceLocation): void {
    const seq = ++this.memberSeq;
    this.members.row(
      [
        seq,
        q(m?.memberId),
        day(m?.birthDate ?? null),
        q(m?.sex),
        q(m?.dualCode),
        m ? m.medicare : "",
        m ? m.medicaid : "",
        day(m?.coverageStart ?? null),
        day(m?.coverageEnd ?? null),
        q(m?.maintenanceType),
        q(m ? JSON.stringify(m.fieldSources) : null),
        q(at.file),
        at.line,
        at.offset,
        q(problem),
      ].join(","),
    );
  }

  writeBadTransaction(tx: number, code: RejectCode, message: string, at: SourceLocation): void {
    this.transactions.row([tx, code, q(message), q(at.file), at.line, at.offset, q(at.segment), at.segmentIndex ?? ""].join(","));
  }

  private closed = false;
  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const f of [this.claims, this.dx, this.members, this.transactions]) f.close();
  }
}
