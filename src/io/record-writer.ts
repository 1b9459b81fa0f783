// Output record files (NDJSON or CSV), written to a temporary file and renamed into place on
// success, so a failed run never leaves a half-written output.
import { createWriteStream, renameSync, rmSync, type WriteStream } from "node:fs";
import { once } from "node:events";
import { basename, dirname, join } from "node:path";
import type { MemberFormat } from "./member-files.js";

function csvCell(v: unknown): string {
  if (v === null || v === undefined) return "";
  const s = Array.isArray(v) ? v.join(";") : typeof v === "object" ? JSON.stringify(v) : String(v as string | number | boolean);
  return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

export class RecordWriter {
  private readonly tmp: string;
  private readonly out: WriteStream;
  private columns: string[] | null = null;
  rows = 0;

  constructor(
    readonly path: string,
    readonly format: MemberFormat,
  ) {
    this.tmp = join(dirname(path), `.${basename(path)}.${process.pid}.tmp`);
    this.out = createWriteStream(this.tmp);
  }

  async write(records: readonly Record<string, unknown>[]): Promise<void> {
    let chunk = "";
    for (const r of records) {
      if (this.format === "ndjson") chunk += JSON.stringify(r) + "\n";
      else {
        if (this.columns === null) {
          this.columns = Object.keys(r);
          chunk += this.columns.join(",") + "\n";
        }
        chunk += this.columns.map((c) => csvCell(r[c])).join(",") + "\n";
      }
      this.rows++;
    }
    if (!this.out.write(chunk)) await once(this.out, "drain");
  }

  async commit(): Promise<void> {
    this.out.end();
    await once(this.out, "finish");
    renameSync(this.tmp, this.path);
  }

  abort(): void {
    this.out.destroy();
    rmSync(this.tmp, { force: true });
  }
}
