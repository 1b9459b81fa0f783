// The member-record output file (README "Output record"): NDJSON or CSV, one record per input
// member in input order. Workers encode their batch's records as text (record-text.ts) and return
// the bytes; the main thread writes each batch to a temporary file beside the output as soon as
// every earlier batch is in (so writing overlaps the scoring), and commit renames that file over
// the output, so a failed or interrupted run leaves the previous output (or none) and nothing else.
import {
  accessSync,
  constants,
  existsSync,
  realpathSync,
  renameSync,
  rmSync,
  statSync,
  openSync,
  writeSync,
  closeSync,
  fdatasync,
} from "node:fs";
import { basename, dirname, join, resolve } from "node:path";
import type { RecordBatch } from "apache-arrow";
import { CantCreateError, InternalError } from "../errors.js";
import { sweepLeftovers, workName } from "./leftovers.js";
import { OUTPUT_RECORD, type TextFormat } from "./record-format.js";
import type { ResultTable, ScoreRunRow, TextStreamingSink } from "./types.js";

/** Fails unless `output` can be written: its directory exists and is writable, and it is not the input. */
export function checkOutputFile(output: string, input?: string): void {
  const dir = dirname(resolve(output));
  if (!existsSync(dir) || !statSync(dir).isDirectory())
    throw new CantCreateError(`${output}: directory ${dir} does not exist`, { file: output });
  try {
    accessSync(dir, constants.W_OK);
  } catch (e) {
    throw new CantCreateError(`${output}: directory ${dir} is not writable`, { file: output }, e);
  }
  if (existsSync(output) && statSync(output).isDirectory())
    throw new CantCreateError(`${output}: is a directory; give a file name`, { file: output });
  if (input && existsSync(input) && existsSync(output) && realpathSync(input) === realpathSync(output)) {
    throw new CantCreateError(`${output}: the output would overwrite the input; choose another file`, { file: output });
  }
}

/**
 * Bytes written between background flushes of the temporary file. Renaming a file over an
 * existing one makes ext4 (auto_da_alloc) write out the new file's dirty pages inside rename():
 * ≈ 0.1 s for the 240 MB of a 300k-member NDJSON output, at the very end of the run. Flushing as
 * the file grows, on the thread pool while the workers score, leaves rename() little to do
 * (bench/README.md#session-15).
 */
const FLUSH_BYTES = 32 << 20;
/** Written batches' buffers kept for reuse: about one per batch in flight (two per worker). */
const SPARES = 8;

export class RecordFileSink implements TextStreamingSink {
  /** Batches' text not yet written, by batch index. */
  private readonly pending = new Map<number, Uint8Array>();
  /** The batch index written next. */
  private next = 0;
  private seq = 1 << 30; // main-thread batches follow every worker batch
  private fd: number | null = null;
  private wroteAny = false;
  private readonly prefix: string;
  private unflushed = 0;
  /** A background fdatasync in flight: the file is closed only after it returns. */
  private flushing: Promise<void> | null = null;
  /** Buffers of written batches, handed back for the workers to encode into (at most SPARES). */
  private readonly spares: ArrayBuffer[] = [];

  constructor(
    readonly output: string,
    readonly format: TextFormat,
    readonly input?: string,
    /** Bytes written between background flushes (tests set it low). */
    private readonly flushBytes = FLUSH_BYTES,
  ) {
    this.prefix = `.hcc-${basename(output)}`;
  }

  describe(): string {
    return `${this.format}:${this.output} (output records)`;
  }

  textFormat(): TextFormat {
    return this.format;
  }

  begin(): Promise<void> {
    checkOutputFile(this.output, this.input);
    sweepLeftovers(dirname(resolve(this.output)), this.prefix);
    this.fd = openSync(this.tmpFile(), "w", 0o600);
    this.pending.clear();
    this.next = 0;
    this.wroteAny = false;
    return Promise.resolve();
  }

  private tmpFile(): string {
    return join(dirname(resolve(this.output)), workName(this.prefix, "tmp"));
  }

  /** Write a batch's records to the temporary file (a CSV batch's header line only the first time). */
  private append(text: Uint8Array): void {
    if (this.fd === null) throw new InternalError("record sink used before begin()");
    const body = this.format === "csv" && this.wroteAny ? text.subarray(text.indexOf(10) + 1) : text;
    for (let off = 0; off < body.length; ) off += writeSync(this.fd, body, off);
    this.wroteAny = true;
    const b = text.buffer;
    // a worker's batch arrives moved (its own ArrayBuffer); written, it can be encoded into again
    if (b instanceof ArrayBuffer && b.byteLength > 0 && this.spares.length < SPARES) this.spares.push(b);
    this.unflushed += body.length;
    if (this.unflushed >= this.flushBytes && !this.flushing) {
      this.unflushed = 0;
      const fd = this.fd;
      // a hint, not a guarantee: an error here (a file system without fdatasync) changes nothing
      this.flushing = new Promise<void>((done) => fdatasync(fd, () => done())).then(() => {
        this.flushing = null;
      });
    }
  }

  /** Close the temporary file once no background flush is using its descriptor. */
  private async close(): Promise<void> {
    const fd = this.fd;
    this.fd = null;
    while (this.flushing) await this.flushing;
    if (fd !== null) closeSync(fd);
  }

  spareTextBuffer(): ArrayBuffer | undefined {
    return this.spares.pop();
  }

  addText(batchIndex: number, text: Uint8Array): void {
    if (this.fd === null) throw new InternalError("record sink used before begin()");
    if (batchIndex < this.next || this.pending.has(batchIndex))
      throw new InternalError(`record sink: batch ${batchIndex} given twice`);
    this.pending.set(batchIndex, text);
    // every batch that continues the order goes out now, so writing overlaps the scoring
    for (let t = this.pending.get(this.next); t !== undefined; t = this.pending.get(this.next)) {
      this.append(t);
      this.pending.delete(this.next++);
    }
  }

  async write(table: ResultTable, batch: RecordBatch): Promise<void> {
    if (this.fd === null) throw new InternalError("record sink used before begin()");
    if (table !== "risk_scores") return;
    const seq = this.seq++;
    // batches encoded here only when a run's results come back as Arrow (workers normally send
    // text): the encoder, and Arrow with it, loads then
    const { encodeText } = await import("./record-text.js");
    this.pending.set(seq, encodeText(batch, this.format, { ...OUTPUT_RECORD, header: true }));
  }

  async commit(_run: ScoreRunRow): Promise<void> {
    if (this.fd === null) throw new InternalError("record sink committed before begin()");
    try {
      for (const index of [...this.pending.keys()].sort((a, b) => a - b)) this.append(this.pending.get(index)!);
      this.pending.clear();
    } finally {
      await this.close();
    }
    renameSync(this.tmpFile(), this.output);
  }

  async abort(_err: unknown): Promise<void> {
    await this.close();
    this.pending.clear();
    rmSync(this.tmpFile(), { force: true });
  }
}
