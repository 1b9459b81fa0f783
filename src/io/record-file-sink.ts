// The member-record output file (README "Output record"): NDJSON or CSV, one record per input
// member in input order. Workers encode their batch's records as text parts (record-text.ts) in
// a private directory beside the output; commit concatenates them in batch order into a temporary
// file beside the output and renames it over the output, so a failed or interrupted run leaves
// the previous output (or none) and nothing else.
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
  private readonly parts: { index: number; file: string; rows: number }[] = [];
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
    return Promise.resolve();
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
    this.parts.push({ index: Number(m[1]), file: part.file, rows: part.rows });
  }

  write(table: ResultTable, batch: RecordBatch): Promise<void> {
    if (!this.dir) throw new InternalError("record sink used before begin()");
    if (table !== "risk_scores") return Promise.resolve();
    const file = join(this.dir, `risk_scores-m${this.seq}.txt`);
    writeFileSync(file, encodeText(batch, this.format, { ...OUTPUT_RECORD, header: true }));
    this.parts.push({ index: this.seq++, file, rows: batch.numRows });
    return Promise.resolve();
  }

  commit(_run: ScoreRunRow): Promise<void> {
    const dir = this.dir;
    if (!dir) throw new InternalError("record sink committed before begin()");
    const tmp = join(dirname(resolve(this.output)), workName(this.prefix, "tmp"));
    const fd = openSync(tmp, "w");
    try {
      let first = true;
      for (const p of [...this.parts].sort((a, b) => a.index - b.index)) {
        let text = readFileSync(p.file);
        // every CSV part starts with the header line; keep the first one only
        if (this.format === "csv" && !first) text = text.subarray(text.indexOf(10) + 1);
        writeSync(fd, text);
        first = false;
      }
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, this.output);
    rmSync(dir, { recursive: true, force: true });
    this.dir = null;
    return Promise.resolve();
  }

  abort(_err: unknown): Promise<void> {
    if (this.dir) rmSync(this.dir, { recursive: true, force: true });
    rmSync(join(dirname(resolve(this.output)), workName(this.prefix, "tmp")), { force: true });
    this.dir = null;
    return Promise.resolve();
  }
}
