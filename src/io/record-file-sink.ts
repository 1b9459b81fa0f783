// The member-record output file (README "Output record"): NDJSON or CSV, one record per input
// member in input order. Workers encode their batch's records as text parts (record-text.ts) in
// a private directory beside the output; the main thread appends each part to a temporary file
// beside the output as soon as every earlier batch's part is in (so the copying overlaps the
// scoring instead of following it), and commit renames that file over the output, so a failed or
// interrupted run leaves the previous output (or none) and nothing else.
import {
  accessSync,
  constants,
  existsSync,
  mkdirSync,
  readFileSync,
  realpathSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
  openSync,
  writeSync,
  closeSync,
} from "node:fs";
import { basename, dirname, join, resolve } from "node:path";
import type { RecordBatch } from "apache-arrow";
import { CantCreateError, InternalError } from "../errors.js";
import { sweepLeftovers, workName } from "./leftovers.js";
import { encodeText, OUTPUT_RECORD, type TextFormat } from "./record-text.js";
import type { PartFormat, PartStagingSink, ResultTable, ScoreRunRow, StagedPart } from "./types.js";

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

export class RecordFileSink implements PartStagingSink {
  private dir: string | null = null;
  private seq = 1 << 30; // main-thread parts sort after every worker batch
  /** Parts not yet appended to the temporary file, by batch index. */
  private readonly pending = new Map<number, string>();
  /** The batch index whose part is appended next. */
  private next = 0;
  private fd: number | null = null;
  private wroteAny = false;
  private readonly prefix: string;

  constructor(
    readonly output: string,
    readonly format: TextFormat,
    readonly input?: string,
  ) {
    this.prefix = `.hcc-${basename(output)}`;
  }

  describe(): string {
    return `${this.format}:${this.output} (output records)`;
  }

  partFormat(): PartFormat {
    return this.format === "csv" ? "records-csv" : "records-ndjson";
  }

  begin(): Promise<void> {
    checkOutputFile(this.output, this.input);
    const parent = dirname(resolve(this.output));
    sweepLeftovers(parent, this.prefix);
    this.dir = join(parent, workName(this.prefix, "parts"));
    mkdirSync(this.dir, { mode: 0o700 });
    this.fd = openSync(this.tmpFile(), "w");
    this.pending.clear();
    this.next = 0;
    this.wroteAny = false;
    return Promise.resolve();
  }

  private tmpFile(): string {
    return join(dirname(resolve(this.output)), workName(this.prefix, "tmp"));
  }

  /** Append a part's records to the temporary file (a CSV part's header line only the first time). */
  private append(file: string): void {
    if (this.fd === null) throw new InternalError("record sink used before begin()");
    let text = readFileSync(file);
    if (this.format === "csv" && this.wroteAny) text = text.subarray(text.indexOf(10) + 1);
    writeSync(this.fd, text);
    this.wroteAny = true;
    rmSync(file, { force: true });
  }

  /** Append every part that continues the batch order. */
  private drain(): void {
    for (let f = this.pending.get(this.next); f !== undefined; f = this.pending.get(this.next)) {
      this.append(f);
      this.pending.delete(this.next++);
    }
  }

  partDir(): string | null {
    return this.dir;
  }

  addPart(part: StagedPart): void {
    if (part.table !== "risk_scores") return; // member records carry no factors
    const m = /-b(\d+)\.[a-z]+$/.exec(part.file);
    if (!this.dir || resolve(dirname(part.file)) !== resolve(this.dir) || !m) {
      throw new InternalError(`a record part must be named <table>-b<batch> in ${String(this.dir)} (got ${part.file})`);
    }
    this.pending.set(Number(m[1]), part.file);
    this.drain();
  }

  write(table: ResultTable, batch: RecordBatch): Promise<void> {
    if (!this.dir) throw new InternalError("record sink used before begin()");
    if (table !== "risk_scores") return Promise.resolve();
    const file = join(this.dir, `risk_scores-m${this.seq}.txt`);
    writeFileSync(file, encodeText(batch, this.format, { ...OUTPUT_RECORD, header: true }));
    this.pending.set(this.seq++, file);
    return Promise.resolve();
  }

  commit(_run: ScoreRunRow): Promise<void> {
    const dir = this.dir;
    if (!dir) throw new InternalError("record sink committed before begin()");
    const fd = this.fd;
    if (fd === null) throw new InternalError("record sink committed before begin()");
    try {
      // the main-thread parts (numbered from 2^30) follow every worker batch
      for (const index of [...this.pending.keys()].sort((a, b) => a - b)) this.append(this.pending.get(index) ?? "");
      this.pending.clear();
    } finally {
      closeSync(fd);
      this.fd = null;
    }
    renameSync(this.tmpFile(), this.output);
    rmSync(dir, { recursive: true, force: true });
    this.dir = null;
    return Promise.resolve();
  }

  abort(_err: unknown): Promise<void> {
    if (this.fd !== null) closeSync(this.fd);
    this.fd = null;
    this.pending.clear();
    if (this.dir) rmSync(this.dir, { recursive: true, force: true });
    rmSync(this.tmpFile(), { force: true });
    this.dir = null;
    return Promise.resolve();
  }
}
