// A member-record range parsed in a worker (the source on the main thread, member-records.ts, cut
// the file into ranges of whole lines and checks what comes back). Kept apart from the source so
// the main thread of a member-record run does not load the Arrow batch builder.
import { closeSync, openSync, readSync } from "node:fs";
import type { RecordBatch } from "apache-arrow";
import { DataError } from "../errors.js";
import { MemberBatchBuilder } from "../engine/member.js";
import type { MemberInput } from "../engine/member-fields.js";
import { idBytesOf, type IdBytes } from "./id-set.js";
import { LineSlots, blankLine, csvHeaderSlots, plainCsvLine, plainJsonLine } from "./record-bytes.js";
import { MAX_RECORD_BYTES, csvRecord, fatalUtf8, jsonRecord, type RecordRange } from "./member-records.js";

/** What a worker parsed from a range: the member batch, ids and lines for the source's checks. */
export interface ParsedRange {
  batch: RecordBatch;
  ids: IdBytes;
  lines: Int32Array;
  nullCodes: number;
}

/**
 * Parse a range (worker side) into a member batch: one record per non-blank line, UTF-8 checked.
 * Plain lines are read from their bytes (record-bytes.ts); any other line goes through
 * JSON.parse / the CSV split and checkRecord, which gives the same member or the error.
 */
export function parseRange(r: RecordRange): ParsedRange {
  const fd = openSync(r.file, "r");
  const buf = Buffer.allocUnsafe(r.end - r.start);
  try {
    let got = 0;
    while (got < buf.length) {
      const k = readSync(fd, buf, got, buf.length - got, r.start + got);
      if (k === 0) break;
      got += k;
    }
  } finally {
    closeSync(fd);
  }
  const builder = new MemberBatchBuilder(Math.max(16, buf.length >> 7));
  const slots = new LineSlots();
  const headerSlots = r.format === "csv" ? csvHeaderSlots(r.header ?? []) : null;
  const lines: number[] = [];
  let line = r.firstLine;
  let s = 0;
  while (s < buf.length) {
    let e = buf.indexOf(10, s);
    if (e < 0) e = buf.length;
    const end = e > s && buf[e - 1] === 13 ? e - 1 : e;
    if (end - s > MAX_RECORD_BYTES)
      throw new DataError(`${r.file}: line ${line}: longer than ${MAX_RECORD_BYTES / 2 ** 20} MiB`, { file: r.file, row: line });
    const plain = headerSlots
      ? end > s && plainCsvLine(buf, s, end, headerSlots, slots)
      : !blankLine(buf, s, end) && plainJsonLine(buf, s, end, slots);
    if (plain && slots.commit(buf, builder)) lines.push(line);
    else {
      const rec = parseLine(r, buf.subarray(s, end), line);
      if (rec) {
        builder.pushMember(rec);
        lines.push(line);
      }
    }
    line++;
    s = e + 1;
  }
  const batch = builder.finish();
  const idCol = batch.getChildAt(0)!.data[0]!;
  const ids = idBytesOf(idCol.values as Uint8Array, idCol.valueOffsets as Int32Array, batch.numRows);
  return { batch, ids, lines: Int32Array.from(lines), nullCodes: builder.nullCodes };
}

/** One line the slow way: UTF-8 checked, JSON.parse or the CSV split, checkRecord; null when blank. */
function parseLine(r: RecordRange, raw: Uint8Array, line: number): MemberInput | null {
  let text: string;
  try {
    text = fatalUtf8.decode(raw);
  } catch {
    throw new DataError(`${r.file}: line ${line}: not valid UTF-8`, { file: r.file, row: line });
  }
  if (r.format === "ndjson") return jsonRecord(text, r.file, line);
  return text === "" ? null : csvFieldsRecord(r.header ?? [], text, r.file, line);
}

/** A quote-free CSV line (the range splitter only hands those out) as a member record. */
function csvFieldsRecord(header: readonly string[], text: string, file: string, line: number): MemberInput {
  const fields = text.split(",");
  if (fields.length !== header.length)
    throw new DataError(`${file}: line ${line}: number of fields differs from the header`, { file, row: line });
  return csvRecord(header, fields, file, line);
}
