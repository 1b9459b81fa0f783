// Streaming readers for FHIR claim files: Bulk Data NDJSON (one resource per line, BCDA / Blue
// Button exports) read in fixed-size chunks and parsed line by line with JSON.parse, and Bundles
// (searchset / collection) streamed entry by entry with @streamparser/json so a large Bundle is
// never held whole. Every record ends as a Claim or a Rejection with its line (NDJSON) or JSON
// pointer (Bundle).
import { closeSync, openSync, readSync } from "node:fs";
import { isAscii, isUtf8 } from "node:buffer";
import { JSONParser } from "@streamparser/json";
import { DataError } from "../errors.js";
import type { ClaimSink } from "./x12-837.js";
import { readEob } from "./fhir-eob.js";

const CHUNK = 4 << 20;

export interface FhirFileStats {
  bytes: number;
  records: number;
}

/** A byte range of a file: [start, end). */
export interface ByteRange {
  start: number;
  end: number;
}

function emit(sink: ClaimSink, r: ReturnType<typeof readEob>): void {
  if ("code" in r && "message" in r) sink.reject(r);
  else sink.claim(r);
}

/** Why JSON.parse failed, without echoing the text (it may hold member data). */
function jsonProblem(e: unknown): string {
  const m = /position (\d+)/.exec(String((e as Error).message));
  return m ? `not valid JSON (error at character ${m[1]} of the line)` : "not valid JSON";
}

/**
 * Every line of `file`, or of `range` (which starts at a line start and ends after a newline or
 * at the end of the file): `lines` counts them, blank ones too, so the lines before a range
 * number the range's lines as a whole-file read would.
 */
export function readNdjsonFile(
  file: string,
  sink: ClaimSink,
  onBytes?: (b: Buffer) => void,
  range?: ByteRange,
): FhirFileStats & { lines: number } {
  const fd = openSync(file, "r");
  const chunk = Buffer.allocUnsafe(CHUNK);
  let carry = Buffer.alloc(0);
  let base = range?.start ?? 0; // file offset of carry[0]
  let at = base;
  let line = 0;
  let records = 0;
  let bytes = 0;
  const one = (buf: Buffer, offset: number): void => {
    line++;
    let end = buf.length;
    if (end > 0 && buf[end - 1] === 13) end--;
    let start = 0;
    while (start < end && (buf[start] === 32 || buf[start] === 9)) start++;
    if (start === end) return; // blank line: not a record
    records++;
    const b = buf.subarray(start, end);
    const location = { file, line, offset: offset + start };
    if (!isAscii(b) && !isUtf8(b)) {
      sink.reject({
        code: "E_ENCODING",
        message: "bytes that are not valid UTF-8",
        location,
        format: "fhir-eob",
        claimId: null,
        memberId: null,
        transaction: null,
      });
      return;
    }
    let value: unknown;
    try {
      value = JSON.parse(b.toString("utf8"));
    } catch (e) {
      sink.reject({
        code: "E_JSON",
        message: jsonProblem(e),
        location,
        format: "fhir-eob",
        claimId: null,
        memberId: null,
        transaction: null,
      });
      return;
    }
    emit(sink, readEob(value, location));
  };
  try {
    for (;;) {
      const n = readSync(fd, chunk, 0, range ? Math.min(CHUNK, range.end - at) : CHUNK, at);
      at += n;
      bytes += n;
      if (n === 0) break;
      onBytes?.(chunk.subarray(0, n));
      const buf = carry.length ? Buffer.concat([carry, chunk.subarray(0, n)]) : chunk.subarray(0, n);
      let pos = 0;
      for (let nl = buf.indexOf(10, pos); nl >= 0; nl = buf.indexOf(10, pos)) {
        one(buf.subarray(pos, nl), base + pos);
        pos = nl + 1;
      }
      carry = Buffer.from(buf.subarray(pos));
      base += pos;
    }
    if (carry.length) one(carry, base);
  } finally {
    closeSync(fd);
  }
  return { bytes, records, lines: line };
}

/**
 * Up to `n` ranges of about equal size, each starting after a newline, that cover the file. A
 * line longer than a range stays whole, so there may be fewer than `n`.
 */
export function splitNdjsonFile(file: string, size: number, n: number): ByteRange[] {
  const fd = openSync(file, "r");
  const probe = Buffer.allocUnsafe(64 << 10);
  const starts = [0];
  try {
    for (let i = 1; i < n; i++) {
      let pos = Math.max(Math.floor((size * i) / n), starts[starts.length - 1]!);
      let next = -1;
      while (next < 0 && pos < size) {
        const got = readSync(fd, probe, 0, probe.length, pos);
        const nl = probe.subarray(0, got).indexOf(10);
        if (nl >= 0) next = pos + nl + 1;
        else pos += got;
      }
      if (next < 0 || next >= size) break;
      if (next > starts[starts.length - 1]!) starts.push(next);
    }
  } finally {
    closeSync(fd);
  }
  return starts.map((start, i) => ({ start, end: starts[i + 1] ?? size }));
}

/** A Bundle's entries, one resource at a time; anything but `entry[*].resource` is skipped unread. */
export function readBundleFile(file: string, sink: ClaimSink, onBytes?: (b: Buffer) => void): FhirFileStats {
  const fd = openSync(file, "r");
  const chunk = Buffer.allocUnsafe(CHUNK);
  let records = 0;
  let bytes = 0;
  let resourceType: unknown;
  const parser = new JSONParser({ paths: ["$.entry.*", "$.resourceType"], keepStack: false });
  parser.onValue = ({ value, key, stack }) => {
    if (stack.length === 1 && key === "resourceType") {
      resourceType = value;
      return;
    }
    if (typeof key !== "number") return;
    records++;
    const pointer = `/entry/${key}`;
    const location = { file, line: 0, offset: 0, pointer };
    const resource = (value as Record<string, unknown> | null)?.["resource"];
    if (JSON.stringify(resource ?? null).includes("\ufffd")) {
      sink.reject({
        code: "E_ENCODING",
        message: "bytes that are not valid UTF-8 in this entry",
        location,
        format: "fhir-eob",
        claimId: null,
        memberId: null,
        transaction: null,
      });
      return;
    }
    emit(sink, readEob(resource, location, `${pointer}/resource`));
  };
  try {
    for (;;) {
      const n = readSync(fd, chunk, 0, CHUNK, null);
      if (n === 0) break;
      bytes += n;
      onBytes?.(chunk.subarray(0, n));
      try {
        parser.write(chunk.subarray(0, n));
      } catch (e) {
        throw new DataError(
          `${file}: byte ~${bytes}: the Bundle is not valid JSON (${(e as Error).message.slice(0, 80)}); ${records} entries read before it`,
          { file },
          e,
        );
      }
    }
    if (!parser.isEnded) parser.end();
  } catch (e) {
    if (e instanceof DataError) throw e;
    throw new DataError(`${file}: the Bundle ends early or is not valid JSON: ${(e as Error).message.slice(0, 80)}`, { file }, e);
  } finally {
    closeSync(fd);
  }
  if (resourceType !== "Bundle")
    throw new DataError(`${file}: a JSON file whose resourceType is not Bundle (use NDJSON for one resource per line)`, { file });
  return { bytes, records };
}
