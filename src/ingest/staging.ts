// Streams ingest records to CSV staging files (beside the warehouse, never in a shared temp
// directory) in large buffered writes; the warehouse step loads them with DuckDB's CSV reader.
// One row per claim (claims-<part>.csv), per claim diagnosis (dx-<part>.csv), per 834 member
// (members-<part>.csv) and per failed transaction envelope (transactions-<part>.csv); one part per
// input file, so files can be parsed concurrently. Nothing is kept per claim in memory.
import { closeSync, openSync, writeSync } from "node:fs";
import { join } from "node:path";
import type { Claim, Decision, EnrollmentMember, Rejection, RejectCode, SourceLocation } from "./types.js";
import { formatDays } from "./dates.js";

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

class CsvFile {
  private parts: string[] = [];
  private size = 0;
  private readonly fd: number;
  rows = 0;
  constructor(
    readonly path: string,
    header: readonly string[],
  ) {
    this.fd = openSync(path, "w");
    this.push(header.join(","));
    this.rows = 0;
  }
  push(row: string): void {
    this.parts.push(row);
    this.size += row.length + 1;
    this.rows++;
    if (this.size > 1 << 15) this.flush();
  }
  flush(): void {
    if (this.parts.length) writeSync(this.fd, this.parts.join("\n") + "\n");
    this.parts = [];
    this.size = 0;
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

/** The staging file of one table and part. */
export function stagingFile(dir: string, table: StagingTable, part: number): string {
  return join(dir, `${table}-${part}.csv`);
}

export class StagingWriter {
  readonly claims: CsvFile;
  readonly dx: CsvFile;
  readonly members: CsvFile;
  readonly transactions: CsvFile;
  private seq = 0;
  private memberSeq = 0;
  constructor(
    readonly dir: string,
    readonly part: number,
  ) {
    this.claims = new CsvFile(stagingFile(dir, "claims", part), CLAIM_COLUMNS);
    this.dx = new CsvFile(stagingFile(dir, "dx", part), DX_COLUMNS);
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

  // the file of the previous location, quoted: every claim of a part names the same file
  private lastFile = "";
  private lastFileQuoted = '""';

  private where(l: SourceLocation): string {
    if (l.file !== this.lastFile) {
      this.lastFile = l.file;
      this.lastFileQuoted = q(l.file);
    }
    return `${this.lastFileQuoted},${l.line || ""},${l.offset},${q(l.segment)},${l.segmentIndex ?? ""},${q(l.element)},${q(l.pointer)}`;
  }

  writeClaim(c: Claim, d: Decision): void {
    const seq = ++this.seq;
    // one template per row (an array and join per row was the largest cost of the writer);
    // the columns are CLAIM_COLUMNS' and DX_COLUMNS' in order
    this.claims.push(
      `${seq},${c.format},${c.kind},${q(c.claimId)},${q(c.originalRef)},${q(c.frequency)},${q(c.memberId)},${q(c.billType)},` +
        `${q(c.placeOfService)},${day(c.from)},${day(c.to)},${q(c.billingNpi)},${q(c.renderingNpi)},${c.transaction ?? ""},` +
        `${d.outcome},${d.reason ?? ""},,${d.source ?? ""},${this.where(c.location)},${c.diagnoses.length},${c.lines.length}`,
    );
    const claimTo = day(c.to);
    for (const dx of c.diagnoses) {
      const li = d.lineFor(dx);
      const l = li >= 0 ? c.lines[li]! : null;
      const head = `${seq},${q(dx.code)},${q(dx.raw)},${dx.position},${q(dx.qualifier)},`;
      this.dx.push(
        l
          ? `${head}${l.number},${q(l.procedure)},${q(l.revenueCode)},${q(l.renderingNpi)},${l.to === null ? claimTo : day(l.to)}`
          : `${head},,,,${claimTo}`,
      );
    }
  }

  writeRejection(r: Rejection): void {
    const seq = ++this.seq;
    this.claims.push(
      [
        seq,
        r.format,
        "",
        q(r.claimId),
        "",
        "",
        q(r.memberId),
        "",
        "",
        "",
        "",
        "",
        "",
        r.transaction ?? "",
        "rejected",
        r.code,
        q(r.message),
        "",
        this.where(r.location),
        "",
        "",
      ].join(","),
    );
  }

  writeMember(m: EnrollmentMember | null, problem: string | null, at: SourceLocation): void {
    const seq = ++this.memberSeq;
    this.members.push(
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
    this.transactions.push(
      [tx, code, q(message), q(at.file), at.line, at.offset, q(at.segment), at.segmentIndex ?? ""].join(","),
    );
  }

  private closed = false;
  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const f of [this.claims, this.dx, this.members, this.transactions]) f.close();
  }
}
