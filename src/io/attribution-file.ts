// The `hcc diff` output file: one attribution row per member (src/attribution/attribute.ts), NDJSON
// or CSV by extension, through the one text encoder (record-text.ts). Rows go to a working file
// beside the output (named with the process id) that is renamed over the output on commit, so a
// failed or killed run leaves the previous output (or none).
import { closeSync, openSync, renameSync, rmSync, writeSync } from "node:fs";
import { basename, dirname, join, resolve } from "node:path";
import { Float64, Table, Utf8, vectorFromArray, type Vector } from "apache-arrow";
import { GROUPS, type AttributionRow } from "../attribution/attribute.js";
import { UsageError } from "../errors.js";
import { checkOutputFile } from "./record-file-sink.js";
import { encodeText, type TextFormat } from "./record-text.js";
import { sweepLeftovers, workName } from "./leftovers.js";

/** Output columns, in order. */
export const ATTRIBUTION_COLUMNS = [
  "participant_id",
  "from_payment_score",
  "to_payment_score",
  "total_change",
  ...GROUPS,
  "dominant_cause",
  "status",
  "error",
] as const;

const TEXT_COLUMNS = new Set(["participant_id", "dominant_cause", "status", "error"]);

/**
 * Scores and parts are written to 10 decimals: payment scores have 3, Shapley parts are their
 * differences over at most 5! coalition orders, so this only drops float noise (the parts still
 * sum to the change within 1e-9).
 */
const written = (x: unknown): number | null => (typeof x === "number" ? Math.round(x * 1e10) / 1e10 : null);

export function attributionFormatOf(path: string): TextFormat {
  const ext = (path.split(".").pop() ?? "").toLowerCase();
  if (ext === "csv") return "csv";
  if (ext === "ndjson" || ext === "jsonl") return "ndjson";
  throw new UsageError(`--out ${path}: name an .ndjson or .csv file (the output format follows the extension)`);
}

export class AttributionFileWriter {
  private readonly tmp: string;
  private fd: number | null = null;
  private rows = 0;

  /** Checks the output can be created (and is none of `inputs`) and opens the working file. */
  constructor(
    readonly output: string,
    readonly format: TextFormat,
    inputs: readonly string[],
  ) {
    for (const input of inputs) checkOutputFile(output, input);
    const dir = dirname(resolve(output));
    const prefix = `.hcc-${basename(output)}`;
    sweepLeftovers(dir, prefix);
    this.tmp = join(dir, workName(prefix, "tmp"));
    this.fd = openSync(this.tmp, "w");
  }

  write(rows: readonly AttributionRow[]): void {
    if (this.fd === null || rows.length === 0) return;
    const cols: Record<string, Vector> = {};
    for (const c of ATTRIBUTION_COLUMNS) {
      cols[c] = TEXT_COLUMNS.has(c)
        ? vectorFromArray(
            rows.map((r) => r[c] as string | null),
            new Utf8(),
          )
        : vectorFromArray(
            rows.map((r) => written(r[c])),
            new Float64(),
          );
    }
    const table = new Table(cols);
    table.batches.forEach((b, k) => {
      const text = encodeText(b, this.format, { header: this.format === "csv" && this.rows === 0 && k === 0 });
      writeSync(this.fd as number, text);
    });
    this.rows += rows.length;
  }

  /** Renames the working file over the output; returns the rows written. */
  commit(): number {
    if (this.fd === null) return this.rows;
    if (this.rows === 0 && this.format === "csv") writeSync(this.fd, ATTRIBUTION_COLUMNS.join(",") + "\n");
    closeSync(this.fd);
    this.fd = null;
    renameSync(this.tmp, this.output);
    return this.rows;
  }

  abort(): void {
    if (this.fd !== null) closeSync(this.fd);
    this.fd = null;
    rmSync(this.tmp, { force: true });
  }
}
