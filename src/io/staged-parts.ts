// Parquet parts of one run, staged in a private directory until the sink commits: batches written
// on the main thread are buffered and encoded here; parts encoded by pipeline workers are only
// registered. Either way every table keeps one schema per run (checked per part, because the
// parts are loaded in one read_parquet at commit).
import { writeFileSync } from "node:fs";
import { basename, dirname, join, resolve } from "node:path";
import type { RecordBatch } from "apache-arrow";
import { DataError, InternalError } from "../errors.js";
import { encodePart, schemaSignature } from "./parquet.js";
import type { ResultTable, StagedPart } from "./types.js";

export class StagedParts {
  private readonly files = new Map<ResultTable, string[]>();
  private readonly schemas = new Map<ResultTable, string>();
  private readonly pending = new Map<ResultTable, RecordBatch[]>();
  private readonly pendingRows = new Map<ResultTable, number>();
  private seq = 0;

  /**
   * @param dir the run's private staging directory
   * @param where what to name in errors (the sink's file or warehouse)
   */
  constructor(
    readonly dir: string,
    private readonly where: string,
    private readonly flushRows = 262_144,
  ) {}

  private checkSchema(table: ResultTable, sig: string): void {
    const first = this.schemas.get(table);
    if (first === undefined) this.schemas.set(table, sig);
    else if (first !== sig) {
      throw new DataError(`${table}: a result batch's schema differs from the run's first batch (${sig} vs ${first})`, {
        file: this.where,
      });
    }
  }

  /** Buffers a batch; encodes a part once flushRows rows are waiting. */
  write(table: ResultTable, batch: RecordBatch): void {
    this.checkSchema(table, schemaSignature(batch.schema));
    const list = this.pending.get(table) ?? [];
    list.push(batch);
    this.pending.set(table, list);
    const rows = (this.pendingRows.get(table) ?? 0) + batch.numRows;
    this.pendingRows.set(table, rows);
    if (rows >= this.flushRows) this.flush(table);
  }

  /** Registers a part a worker wrote into dir. */
  add(part: StagedPart): void {
    if (resolve(dirname(part.file)) !== resolve(this.dir) || !basename(part.file).endsWith(".parquet")) {
      throw new InternalError(`a staged part must be a .parquet file in ${this.dir} (got ${part.file})`);
    }
    this.checkSchema(part.table, part.schema);
    if (part.rows > 0) this.push(part.table, part.file);
  }

  private push(table: ResultTable, file: string): void {
    const list = this.files.get(table) ?? [];
    list.push(file);
    this.files.set(table, list);
  }

  private flush(table: ResultTable): void {
    const batches = this.pending.get(table) ?? [];
    this.pending.set(table, []);
    this.pendingRows.set(table, 0);
    if (batches.length === 0) return;
    const file = join(this.dir, `${table}-m${this.seq++}.parquet`);
    writeFileSync(file, encodePart(batches));
    this.push(table, file);
  }

  /** Encodes what is still buffered; then every part is on disk. */
  flushAll(): void {
    for (const t of this.pending.keys()) this.flush(t);
  }

  /** Tables with at least one part, and their files. */
  tables(): [ResultTable, string[]][] {
    return [...this.files].filter(([, f]) => f.length > 0);
  }
}
