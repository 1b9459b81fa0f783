// CSV and NDJSON member files (README "Member input record": member_id, CSV diagnosis_codes
// `;`-separated) as Arrow member batches, and CSV/NDJSON encoding of result batches. Text formats
// make a JS string per value by nature; use the warehouse or Parquet for large cohorts.
import {
  Bool,
  DateDay,
  Field,
  Int32,
  List,
  RecordBatch,
  Schema,
  Struct,
  Utf8,
  makeData,
  vectorFromArray,
  type Data,
  type DataType,
} from "apache-arrow";
import { DataError } from "../errors.js";
import type { MemberInput } from "../engine/member.js";
import { readMemberFile, type MemberFormat } from "./member-files.js";
import type { MemberSource, ReadOptions, SourceStats } from "./types.js";

const UTF8_FIELDS = ["sex", "orec", "crec", "dual_elgbl_cd", "esrd_status", "rx_plan"] as const;
const BOOL_FIELDS = ["medicaid", "lti", "new_enrollee", "snp", "low_income", "pace"] as const;
const TRUE = new Set(["true", "t", "1", "y", "yes"]);
const FALSE = new Set(["false", "f", "0", "n", "no"]);

/** "YYYY-MM-DD" → days since 1970-01-01, or null when not a real date. */
export function parseIsoDays(s: string): number | null {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(s.trim());
  if (!m) return null;
  const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const ms = Date.UTC(y, mo - 1, d);
  const back = new Date(ms);
  return back.getUTCFullYear() === y && back.getUTCMonth() === mo - 1 && back.getUTCDate() === d ? ms / 86_400_000 : null;
}

const data = <T extends DataType>(values: unknown[], type: T): Data => vectorFromArray(values, type).data[0] as Data;

export class TextMemberSource implements MemberSource {
  private readonly counts: SourceStats = { membersRead: 0, dxRowsRead: 0, orphanDxRows: 0, duplicateParticipants: 0 };
  private readonly seen = new Set<string>();

  constructor(
    private readonly path: string,
    private readonly format: MemberFormat,
  ) {}

  describe(): string {
    return `${this.format}:${this.path}`;
  }

  stats(): SourceStats {
    return { ...this.counts };
  }

  /** The problem with record `r` (1-based among records) in `column`. */
  private fail(r: number, column: string, what: string): never {
    throw new DataError(`${this.path}: record ${r}: column ${column}: ${what}`, { file: this.path, row: r, column });
  }

  private toBatch(members: readonly MemberInput[]): RecordBatch {
    const base = this.counts.membersRead;
    const n = members.length;
    const cols: [string, Data][] = [];
    const ids = members.map((m, i) => {
      if (this.seen.has(m.member_id)) this.fail(base + i + 1, "member_id", "duplicate member id");
      this.seen.add(m.member_id);
      return m.member_id;
    });
    cols.push(["participant_id", data(ids, new Utf8())]);
    const days = new Int32Array(n);
    const valid = new Uint8Array(Math.ceil(n / 8));
    let nulls = 0;
    members.forEach((m, i) => {
      const s = m.birth_date;
      if (s === undefined || s === null || s === "") return void nulls++;
      const d = parseIsoDays(String(s));
      if (d === null) this.fail(base + i + 1, "birth_date", "not a date (YYYY-MM-DD)");
      days[i] = d;
      valid[i >> 3]! |= 1 << (i & 7);
    });
    cols.push([
      "birth_date",
      makeData({ type: new DateDay(), length: n, nullCount: nulls, ...(nulls ? { nullBitmap: valid } : {}), data: days }),
    ]);
    const ints = (f: "age" | "graft_months"): Data =>
      data(
        members.map((m, i) => {
          const v = m[f];
          if (v === undefined || v === null || v === "") return null;
          const x = Number(v);
          return Number.isInteger(x) ? x : this.fail(base + i + 1, f, `'${String(v)}' is not a whole number`);
        }),
        new Int32(),
      );
    cols.push(["age", ints("age")], ["graft_months", ints("graft_months")]);
    for (const f of UTF8_FIELDS)
      cols.push([
        f,
        data(
          members.map((m) => (m[f] === undefined || m[f] === null || m[f] === "" ? null : String(m[f]))),
          new Utf8(),
        ),
      ]);
    for (const f of BOOL_FIELDS) {
      const vals = members.map((m, i) => {
        const v = m[f];
        if (v === undefined || v === null || v === "") return null;
        if (typeof v === "boolean") return v;
        const t = String(v).trim().toLowerCase();
        return TRUE.has(t) ? true : FALSE.has(t) ? false : this.fail(base + i + 1, f, `'${String(v)}' is not a boolean`);
      });
      cols.push([f, data(vals, new Bool())]);
    }
    const codes = members.flatMap((m) => (m.diagnosis_codes ?? []).filter((c): c is string => c !== null));
    const offsets = new Int32Array(n + 1);
    members.forEach((m, i) => (offsets[i + 1] = (offsets[i] ?? 0) + (m.diagnosis_codes ?? []).filter((c) => c !== null).length));
    const child = data(codes, new Utf8()) as Data<Utf8>;
    cols.push([
      "diagnosis_codes",
      makeData({ type: new List(new Field("item", new Utf8(), true)), length: n, nullCount: 0, valueOffsets: offsets, child }),
    ]);
    this.counts.dxRowsRead += codes.length;
    this.counts.membersRead += n;
    const fields = cols.map(([name, d]) => new Field(name, d.type, name !== "participant_id"));
    return new RecordBatch(
      new Schema(fields),
      makeData({ type: new Struct(fields), length: n, nullCount: 0, children: cols.map(([, d]) => d) }),
    );
  }

  async *read(opts: ReadOptions): AsyncGenerator<RecordBatch> {
    for await (const members of readMemberFile(this.path, this.format, opts.batchSize)) {
      if (opts.signal?.aborted) throw new DataError(`${this.path}: read aborted`);
      yield this.toBatch(members);
    }
  }

  close(): Promise<void> {
    this.seen.clear();
    return Promise.resolve();
  }
}

function cell(v: unknown): unknown {
  if (v === null || v === undefined) return null;
  if (typeof v === "bigint") return Number(v);
  if (v instanceof Date) return v.toISOString().slice(0, 10);
  if (typeof v === "object" && Symbol.iterator in v) return Array.from(v as Iterable<unknown>, cell);
  return v;
}

/** Result batches as NDJSON text (lists as JSON arrays). */
export function encodeNdjson(batches: readonly RecordBatch[]): string {
  let out = "";
  for (const b of batches) {
    const names = b.schema.fields.map((f) => f.name);
    for (const row of b) {
      const o: Record<string, unknown> = {};
      for (const n of names) o[n] = cell((row as Record<string, unknown> | null)?.[n]);
      out += JSON.stringify(o) + "\n";
    }
  }
  return out;
}

/** Result batches as CSV text with a header (lists `;`-joined). */
export function encodeCsv(batches: readonly RecordBatch[], header = true): string {
  const first = batches[0];
  if (!first) return "";
  const names = first.schema.fields.map((f) => f.name);
  const esc = (v: unknown): string => {
    const c = cell(v);
    if (c === null) return "";
    const s = Array.isArray(c) ? c.join(";") : String(c as string | number | boolean);
    return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
  };
  let out = header ? names.join(",") + "\n" : "";
  for (const b of batches)
    for (const row of b) out += names.map((n) => esc((row as Record<string, unknown> | null)?.[n])).join(",") + "\n";
  return out;
}
