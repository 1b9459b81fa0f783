// Streaming X12 segment reader: a file is read in fixed-size chunks (never whole), the delimiters
// come from each ISA segment (element separator ISA byte 4, repetition ISA11, component ISA16,
// segment terminator the byte after ISA16), so any delimiters and several interchanges per file
// work. Line breaks after terminators are skipped and counted. Bytes are decoded as Latin-1 (one
// char per byte, so offsets are byte offsets); a segment holding non-ASCII bytes is re-decoded as
// UTF-8 when it is valid UTF-8 and flagged `badEncoding` when it is not.
// Hand-written rather than a library: bench/README.md#x12-parser records why.
import { closeSync, openSync, readSync } from "node:fs";
import { isAscii, isUtf8 } from "node:buffer";
import { DataError } from "../errors.js";

/**
 * One segment. Its elements are strings made on demand: `element(i)` cuts one out of the text,
 * `el` splits the whole segment once (most segments of an 837 are read for two or three of
 * their elements, and making a string per element was most of the reader's time).
 */
export class X12Segment {
  readonly tag: string;
  private split: string[] | null = null;
  constructor(
    /** The segment's text, without its terminator. */
    readonly text: string,
    /** The interchange's element separator. */
    private readonly separator: string,
    /** 1-based line where the segment starts. */
    readonly line: number,
    /** Byte offset of the segment's first byte. */
    readonly offset: number,
    /** 1-based segment number in the file. */
    readonly index: number,
    readonly badEncoding: boolean,
    /** The file ended inside this segment (no terminator). */
    readonly truncated = false,
  ) {
    const end = text.indexOf(separator);
    this.tag = end < 0 ? text : text.slice(0, end);
  }

  /** Elements; el[0] is the tag. */
  get el(): string[] {
    return (this.split ??= this.text.split(this.separator));
  }

  /** Element i (0 is the tag), "" when the segment has fewer elements. */
  element(i: number): string {
    if (this.split) return this.split[i] ?? "";
    const t = this.text;
    const sep = this.separator;
    let start = 0;
    for (let k = 0; k < i; k++) {
      const p = t.indexOf(sep, start);
      if (p < 0) return "";
      start = p + sep.length;
    }
    const end = t.indexOf(sep, start);
    return end < 0 ? t.slice(start) : t.slice(start, end);
  }
}

export interface X12Delimiters {
  element: string;
  component: string;
  repetition: string;
  segment: string;
}

const CHUNK = 4 << 20;
/** A segment longer than this means the declared terminator is not the one used. */
const MAX_SEGMENT = 1 << 20;
const HIGH = /[\x80-\xff]/;
const TAG = /^[A-Z0-9]{2,3}$/;

export class X12SegmentReader {
  delimiters: X12Delimiters | null = null;
  bytesRead = 0;
  constructor(
    readonly file: string,
    private readonly onBytes?: (b: Buffer) => void,
  ) {}

  /** Every segment of the file, in order. Throws DataError when the file is not X12 at all. */
  *segments(): Generator<X12Segment> {
    const fd = openSync(this.file, "r");
    try {
      yield* this.read(fd);
    } finally {
      closeSync(fd);
    }
  }

  private *read(fd: number): Generator<X12Segment> {
    let buf = Buffer.alloc(0);
    let base = 0; // file offset of buf[0]
    let line = 1;
    let index = 0;
    let eof = false;
    const chunk = Buffer.allocUnsafe(CHUNK);
    let d = this.delimiters;
    for (;;) {
      if (!eof) {
        const n = readSync(fd, chunk, 0, CHUNK, null);
        this.bytesRead += n;
        if (n === 0) eof = true;
        else this.onBytes?.(chunk.subarray(0, n));
        if (n > 0) buf = buf.length === 0 ? Buffer.from(chunk.subarray(0, n)) : Buffer.concat([buf, chunk.subarray(0, n)]);
      }
      const s = buf.toString("latin1");
      const ascii = isAscii(buf);
      let pos = 0;
      for (;;) {
        // skip blanks and line breaks between segments
        while (pos < s.length) {
          const c = s.charCodeAt(pos);
          if (c === 10) line++;
          else if (c !== 13 && c !== 32 && c !== 9) break;
          pos++;
        }
        if (pos >= s.length) break;
        if (!d && !s.startsWith("ISA", pos)) {
          const what = s.charCodeAt(pos) === 123 || s.charCodeAt(pos) === 91 ? " (it looks like JSON)" : "";
          throw new DataError(`${this.file}: line ${line}: not an X12 interchange: the file does not start with ISA${what}`, {
            file: this.file,
            row: line,
          });
        }
        if (s.startsWith("ISA", pos)) {
          if (s.length - pos < 107 && !eof) break; // need the whole ISA
          d = this.delimiters = readDelimiters(s, pos, this.file, line, base + pos);
        }
        if (!d) break;
        const t = s.indexOf(d.segment, pos);
        if (t < 0) {
          if (s.length - pos > MAX_SEGMENT) throw tooLong(this.file, line, base + pos, d);
          break;
        }
        if (t - pos > MAX_SEGMENT) throw tooLong(this.file, line, base + pos, d);
        let text = s.slice(pos, t);
        let badEncoding = false;
        if (!ascii && HIGH.test(text)) {
          const bytes = buf.subarray(pos, t);
          if (isUtf8(bytes)) text = bytes.toString("utf8");
          else badEncoding = true;
        }
        index++;
        const segLine = line;
        for (let i = text.indexOf("\n"); i >= 0; i = text.indexOf("\n", i + 1)) line++;
        yield new X12Segment(text, d.element, segLine, base + pos, index, badEncoding);
        pos = t + d.segment.length;
        if (d.segment === "\n") line++;
      }
      if (pos > 0) {
        buf = buf.subarray(pos);
        base += pos;
      }
      if (eof) {
        if (buf.length > 0 && buf.toString("latin1").trim() !== "") {
          // a last segment without its terminator: hand it over so the caller can reject its claim
          const text = buf.toString("latin1").replace(/[\r\n]+$/, "");
          index++;
          yield new X12Segment(text, d?.element ?? "*", line, base, index, !isUtf8(buf), true);
        }
        return;
      }
    }
  }
}

/** True for a segment tag that is well-formed (2–3 upper-case letters or digits). */
export function isSegmentTag(tag: string): boolean {
  return TAG.test(tag);
}

function readDelimiters(s: string, pos: number, file: string, line: number, offset: number): X12Delimiters {
  const element = s.charAt(pos + 3);
  const fail = (why: string): DataError =>
    new DataError(`${file}: line ${line} (byte ${offset}): ISA: ${why}; the delimiters cannot be read`, {
      file,
      row: line,
      column: "ISA",
    });
  if (!element || /[A-Za-z0-9 ]/.test(element)) throw fail(`'${element}' cannot be the element separator`);
  // ISA has 16 fixed-width elements: the component separator is ISA16 at byte 104, then the terminator
  let p = pos;
  for (let k = 0; k < 16; k++) {
    p = s.indexOf(element, p + 1);
    if (p < 0) throw fail("fewer than 16 elements");
  }
  const component = s.charAt(p + 1);
  const segment = s.charAt(p + 2);
  if (p + 1 !== pos + 104) throw fail(`ISA16 is at byte ${p + 1 - pos}, not 104 (ISA is fixed-width, 106 bytes)`);
  if (!segment || segment === element || segment === component) throw fail("no segment terminator after ISA16");
  const isa11 = s.slice(pos, p).split(element)[11] ?? "";
  const repetition = isa11.length === 1 && !/[A-Za-z0-9 ]/.test(isa11) ? isa11 : "";
  return { element, component, repetition, segment: segment === "\r" && s.charAt(p + 3) === "\n" ? "\r\n" : segment };
}

function tooLong(file: string, line: number, offset: number, d: X12Delimiters): DataError {
  const shown = JSON.stringify(d.segment);
  return new DataError(
    `${file}: line ${line} (byte ${offset}): no segment terminator ${shown} within ${MAX_SEGMENT} bytes; the file does not use the terminator its ISA declares`,
    { file, row: line },
  );
}
