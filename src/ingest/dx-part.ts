// The diagnosis rows of one staging part as a Parquet file (`dx-<part>.parquet`), written by the
// parse thread itself, one row group per ROW_GROUP rows (io/parquet-writer.ts FastParquetFile):
// the published claims_diagnoses is a view over these files (warehouse.ts), so no database step
// reads and rewrites the 7.8M rows of a 1 GB ingest (bench/README.md#ingest-dx-parquet). Columns
// are built as Arrow buffers; the texts that repeat (codes, qualifiers, procedure and revenue
// codes) are written as a dictionary per row group (found in Wasm when the row group is written),
// which keeps the file near the size of DuckDB's own dictionary-encoded Parquet. Memory: one row
// group, whatever the file's size.
import { Dictionary, Field, Int32, DateDay, RecordBatch, Schema, Struct, Utf8, makeData, type Data } from "apache-arrow";
import { FastParquetFile, utf8Dictionary } from "../io/parquet-writer.js";
import { InternalError } from "../errors.js";
import type { ClaimDiagnosis, ClaimLine } from "./types.js";
import type { DX_COLUMNS } from "./staging.js";

/** Rows per row group. */
const ROW_GROUP = 1 << 16;
const INT32_MAX = 0x7fffffff;

const enc = new TextEncoder();

/** UTF-8 text values appended in order (nullable), as Arrow Utf8 offsets + bytes + validity. */
class TextValues {
  readonly type = new Utf8();
  bytes = new Uint8Array(1 << 16);
  len = 0;
  offsets = new Int32Array(ROW_GROUP + 1);
  valid = new Uint8Array(ROW_GROUP >> 3);
  nulls = 0;
  n = 0;

  push(s: string | null): void {
    const i = this.n++;
    if (s === null) {
      this.nulls++;
      this.offsets[i + 1] = this.len;
      return;
    }
    this.valid[i >> 3]! |= 1 << (i & 7);
    this.text(s);
    this.offsets[i + 1] = this.len;
  }

  /** The string's UTF-8 bytes at the end (ASCII byte by byte; anything else through TextEncoder). */
  private text(s: string): void {
    const k = s.length;
    if (this.len + 3 * k > this.bytes.length) {
      const grown = new Uint8Array(Math.max(this.bytes.length * 2, this.len + 3 * k));
      grown.set(this.bytes.subarray(0, this.len));
      this.bytes = grown;
    }
    const b = this.bytes;
    let n = this.len;
    for (let j = 0; j < k; j++) {
      const c = s.charCodeAt(j);
      if (c >= 0x80) {
        this.len += enc.encodeInto(s, b.subarray(this.len)).written;
        return;
      }
      b[n++] = c;
    }
    this.len = n;
  }

  data(): Data<Utf8> {
    return makeData({
      type: this.type,
      length: this.n,
      nullCount: this.nulls,
      nullBitmap: this.nulls > 0 ? this.valid.subarray(0, (this.n + 7) >> 3) : null,
      valueOffsets: this.offsets.subarray(0, this.n + 1),
      data: this.bytes.subarray(0, this.len),
    });
  }

  reset(): void {
    this.len = 0;
    this.n = 0;
    this.nulls = 0;
    this.valid.fill(0);
  }
}

/** Whole numbers in int32 range (nullable), e.g. line numbers; days since 1970-01-01 for dates. */
class IntValues {
  values = new Int32Array(ROW_GROUP);
  valid = new Uint8Array(ROW_GROUP >> 3);
  nulls = 0;
  n = 0;
  constructor(
    private readonly column: string,
    readonly type: Int32 | DateDay,
  ) {}

  push(v: number | null): void {
    const i = this.n++;
    if (v === null) {
      this.nulls++;
      this.values[i] = 0;
      return;
    }
    // the readers give whole numbers in range (a FHIR sequence is a positiveInt, an X12 LX01 that
    // is not one counts the lines instead); anything else is a bug, never a silently wrapped value
    if (!Number.isInteger(v) || v < -INT32_MAX - 1 || v > INT32_MAX)
      throw new InternalError(`staging: ${this.column} value ${String(v)} is not a 32-bit whole number`);
    this.valid[i >> 3]! |= 1 << (i & 7);
    this.values[i] = v;
  }

  data(): Data {
    const props = {
      length: this.n,
      nullCount: this.nulls,
      nullBitmap: this.nulls > 0 ? this.valid.subarray(0, (this.n + 7) >> 3) : null,
      data: this.values.subarray(0, this.n),
    };
    return this.type instanceof DateDay ? makeData({ type: this.type, ...props }) : makeData({ type: this.type, ...props });
  }

  reset(): void {
    this.n = 0;
    this.nulls = 0;
    this.valid.fill(0);
  }
}

const dictType = (): Dictionary<Utf8, Int32> => new Dictionary(new Utf8(), new Int32());

/** A column of the part: its values, whether it may be null, whether its texts go as a dictionary. */
interface Column {
  name: (typeof DX_COLUMNS)[number];
  values: IntValues | TextValues;
  nullable: boolean;
  dictionary: boolean;
}

/** The dx staging file of one part (Parquet, DX_COLUMNS in order, claim_seq numbered within the part). */
export class DxPartWriter {
  private readonly file: FastParquetFile;
  private readonly claimSeq = new IntValues("claim_seq", new Int32());
  private readonly code = new TextValues();
  private readonly raw = new TextValues();
  private readonly position = new IntValues("dx_position", new Int32());
  private readonly qualifier = new TextValues();
  private readonly line = new IntValues("line_number", new Int32());
  private readonly procedure = new TextValues();
  private readonly revenue = new TextValues();
  private readonly npi = new TextValues();
  private readonly date = new IntValues("service_date", new DateDay());
  /** DX_COLUMNS in order; the texts that repeat go as a dictionary per row group (found in Wasm: utf8Dictionary). */
  private readonly columns: readonly Column[] = [
    { name: "claim_seq", values: this.claimSeq, nullable: false, dictionary: false },
    { name: "diagnosis_code", values: this.code, nullable: false, dictionary: true },
    { name: "diagnosis_code_raw", values: this.raw, nullable: false, dictionary: true },
    { name: "dx_position", values: this.position, nullable: false, dictionary: false },
    { name: "dx_qualifier", values: this.qualifier, nullable: false, dictionary: true },
    { name: "line_number", values: this.line, nullable: true, dictionary: false },
    { name: "procedure_code", values: this.procedure, nullable: true, dictionary: true },
    { name: "revenue_code", values: this.revenue, nullable: true, dictionary: true },
    { name: "line_rendering_npi", values: this.npi, nullable: true, dictionary: false },
    { name: "service_date", values: this.date, nullable: true, dictionary: false },
  ];
  private readonly schema = new Schema(
    this.columns.map((c) => new Field(c.name, c.dictionary ? dictType() : c.values.type, c.nullable)),
  );
  private n = 0;

  constructor(readonly path: string) {
    this.file = new FastParquetFile(path);
  }

  /** Rows written so far. */
  rows = 0;

  /**
   * The row of diagnosis `dx` of claim `claimSeq`, with the line it leans on (`l`, null: none);
   * service_date is the line's end date, else the claim's (`claimTo`). No object per row.
   */
  add(claimSeq: number, dx: ClaimDiagnosis, l: ClaimLine | null, claimTo: number | null): void {
    this.claimSeq.push(claimSeq);
    this.code.push(dx.code);
    this.raw.push(dx.raw);
    this.position.push(dx.position);
    this.qualifier.push(dx.qualifier);
    if (l) {
      this.line.push(l.number);
      this.procedure.push(l.procedure);
      this.revenue.push(l.revenueCode);
      this.npi.push(l.renderingNpi);
      this.date.push(l.to !== null ? l.to : claimTo);
    } else {
      this.line.push(null);
      this.procedure.push(null);
      this.revenue.push(null);
      this.npi.push(null);
      this.date.push(claimTo);
    }
    this.rows++;
    if (++this.n === ROW_GROUP) this.flush();
  }

  private flush(): void {
    if (this.n === 0) return;
    const children = this.columns.map((c) =>
      c.dictionary && c.values instanceof TextValues ? utf8Dictionary(c.values.data(), dictType()) : c.values.data(),
    );
    const fields = this.columns.map((c, i) => new Field(c.name, children[i]!.type, c.nullable));
    const batch = new RecordBatch(
      new Schema(fields),
      makeData({ type: new Struct(fields), length: this.n, nullCount: 0, children }),
    );
    this.file.add(batch);
    for (const c of this.columns) c.values.reset();
    this.n = 0;
  }

  close(): void {
    try {
      this.flush();
    } finally {
      this.file.close(this.schema);
    }
  }
}
