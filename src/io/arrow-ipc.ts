// Arrow IPC member files (file or stream format; grouped layout: diagnosis_codes List<Utf8>) and
// Arrow IPC encoding for result sinks. Batches pass through as they are, after a schema check.
import { createReadStream } from "node:fs";
import { DataType, RecordBatchReader, Table, tableToIPC, type Data, type RecordBatch, type Schema } from "apache-arrow";
import { DataError } from "../errors.js";
import type { MemberSource, ReadOptions, SourceStats } from "./types.js";

/** Arrow IPC file bytes of the given batches (one schema). */
export function encodeArrowIpc(batches: readonly RecordBatch[]): Uint8Array {
  return tableToIPC(new Table(batches as RecordBatch[]), "file");
}

/** Check a member batch schema (docs/pipeline.md): participant_id Utf8, diagnosis_codes List<Utf8>. */
export function checkMemberSchema(schema: Schema, file: string): void {
  const id = schema.fields.find((f) => f.name === "participant_id");
  if (!id) throw new DataError(`${file}: column participant_id missing`, { file, column: "participant_id" });
  if (!DataType.isUtf8(id.type))
    throw new DataError(`${file}: column participant_id has type ${String(id.type)}; expected Utf8`, {
      file,
      column: "participant_id",
    });
  const dx = schema.fields.find((f) => f.name === "diagnosis_codes");
  if (dx && !(DataType.isList(dx.type) && DataType.isUtf8(dx.type.children[0]?.type))) {
    throw new DataError(`${file}: column diagnosis_codes has type ${String(dx.type)}; expected List<Utf8>`, {
      file,
      column: "diagnosis_codes",
    });
  }
}

/** Count nulls in participant_id of one batch; throws naming the first such row (1-based in the file). */
export function checkMemberBatch(b: RecordBatch, file: string, rowBase: number): number {
  const id = b.getChild("participant_id");
  if (id && id.nullCount > 0) {
    for (let i = 0; i < b.numRows; i++) {
      if (!id.isValid(i))
        throw new DataError(`${file}: row ${rowBase + i + 1}: column participant_id: null`, {
          file,
          row: rowBase + i + 1,
          column: "participant_id",
        });
    }
  }
  const dx = b.getChild("diagnosis_codes");
  let items = 0;
  for (const d of (dx?.data ?? []) as Data[]) {
    const offs = d.valueOffsets as Int32Array;
    items += (offs[d.offset + d.length] ?? 0) - (offs[d.offset] ?? 0);
  }
  return items;
}

export class ArrowIpcSource implements MemberSource {
  private readonly counts: SourceStats = { membersRead: 0, dxRowsRead: 0, orphanDxRows: 0, duplicateParticipants: 0 };
  constructor(private readonly path: string) {}
  describe(): string {
    return `arrow:${this.path}`;
  }
  stats(): SourceStats {
    return { ...this.counts };
  }
  async *read(opts: ReadOptions): AsyncGenerator<RecordBatch> {
    let reader: RecordBatchReader;
    try {
      reader = await RecordBatchReader.from(createReadStream(this.path));
      await reader.open();
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === "ENOENT")
        throw new DataError(`${this.path}: file not found`, { file: this.path }, e);
      throw new DataError(`${this.path}: not an Arrow IPC file (${(e as Error).message})`, { file: this.path }, e);
    }
    checkMemberSchema(reader.schema, this.path);
    for await (const b of reader) {
      if (opts.signal?.aborted) throw new DataError(`${this.path}: read aborted`);
      // whole batches as written (a slice would carry a non-zero offset into the encoder)
      this.counts.dxRowsRead += checkMemberBatch(b, this.path, this.counts.membersRead);
      this.counts.membersRead += b.numRows;
      yield b;
    }
  }
  close(): Promise<void> {
    return Promise.resolve();
  }
}
