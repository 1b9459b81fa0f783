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
 * finding the separators only as far as the elements asked for; `el` splits the whole segment
 * once (most segments of an 837 are read for two or three of their elements, and making a string
 * per element was most of the reader's time). The reader hands every segment of a file over in
 * one object, refilled per segment: a segment is valid during the call it is passed to.
 */
export class X12Segment {
  tag = "";
  /** 1-based line where the segment starts. */
  line = 0;
  /** Byte offset of the segment's first byte. */
  offset = 0;
  /** 1-based segment number in the file. */
  index = 0;
  badEncoding = false;
  /** The file ended inside this segment (no terminator). */
  truncated = false;
  /** The segment is src[start, end): src is the reader's whole chunk, so no string is cut per segment. */
  private src = "";
  private start = 0;
  private end = 0;
  private sliced: string | null = null;
  private split: string[] | null = null;
  /** Positions in src of the first `cutCount` separators; `cutAll`: the whole segment was scanned. */
  private cuts = new Int32Array(32);
  private cutCount = 0;
  private cutAll = false;
  private sep = 42;

  constructor(
    text: string,
    /** The interchange's element separator (one character). */
    private separator: string,
    line: number,
    offset: number,
    index: number,
    badEncoding: boolean,
    truncated = false,
  ) {
    this.reset(text, 0, text.length, separator, line, offset, index, badEncoding, truncated);
  }

  /** Refill with the next segment, src[start, end). */
  reset(
    src: string,
    start: number,
    end: number,
    separator: string,
    line: number,
    offset: number,
    index: number,
    badEncoding: boolean,
    truncated = false,
  ): void {
    this.src = src;
    this.start = start;
    this.end = end;
    this.separator = separator;
    this.sep = separator.charCodeAt(0);
    this.line = line;
    this.offset = offset;
    this.index = index;
    this.badEncoding = badEncoding;
    this.truncated = truncated;
    this.sliced = null;
    this.split = null;
    this.cutCount = 0;
    this.cutAll = false;
    // the tag: up to the first separator
    const sep = this.sep;
    let p = start;
    while (p < end && src.charCodeAt(p) !== sep) p++;
    this.tag = tagOf(src, start, p);
    if (p < end) {
      this.cuts[0] = p;
      this.cutCount = 1;
    } else this.cutAll = true;
  }

  /** The segment's text, without its terminator. */
  get text(): string {
    return (this.sliced ??= this.src.slice(this.start, this.end));
  }

  /** Elements; el[0] is the tag. */
  get el(): string[] {
    return (this.split ??= this.text.split(this.separator));
  }

  /** Find separators until there are `want` of them or the segment ends. */
  private cut(want: number): void {
    const t = this.src;
    const sep = this.sep;
    const end = this.end;
    let n = this.cutCount;
    let p = n === 0 ? this.start : this.cuts[n - 1]! + 1;
    while (n < want) {
      while (p < end && t.charCodeAt(p) !== sep) p++;
      if (p >= end) {
        this.cutAll = true;
        break;
      }
      if (n === this.cuts.length) {
        const grown = new Int32Array(n * 2);
        grown.set(this.cuts);
        this.cuts = grown;
      }
      this.cuts[n++] = p++;
    }
    this.cutCount = n;
  }

  /** How many elements the segment has, the tag included (el.length). */
  get count(): number {
    if (this.split) return this.split.length;
    if (!this.cutAll) this.cut(Infinity);
    return this.cutCount + 1;
  }

  /** Element i (0 is the tag), "" when the segment has fewer elements. */
  element(i: number): string {
    if (this.split) return this.split[i] ?? "";
    // element i lies between separators i - 1 and i
    if (!this.cutAll && this.cutCount <= i) this.cut(i + 1);
    const n = this.cutCount;
    if (i > n) return "";
    const start = i === 0 ? this.start : this.cuts[i - 1]! + 1;
    return this.src.slice(start, i === n ? this.end : this.cuts[i]!);
  }
}

/**
 * Tags the readers switch on, as the string literals their `case`s use: a tag found here is that
 * very string, so comparing it is one pointer compare, and a segment makes no string for its tag.
 */
// prettier-ignore
const KNOWN_TAGS = [
  "ISA", "IEA", "GS", "GE", "ST", "SE", "TA1", "BHT", "NM1", "N3", "N4", "REF", "PER", "HL", "PRV", "SBR", "PAT",
  "DMG", "CLM", "DTP", "CL1", "PWK", "CN1", "AMT", "K3", "NTE", "CR1", "CR2", "CRC", "HI", "HCP", "LX", "SV1",
  "SV2", "SV5", "PS1", "LIN", "CTP", "QTY", "MEA", "OI", "MIA", "MOA", "SVD", "CAS", "LQ", "FRM", "BGN", "N1",
  "INS", "HD", "DSB", "COB", "LUI", "EC", "ICM", "HLH", "LS", "LE", "ACT",
];
/** Tags that are not 2–3 digits or upper-case letters, remembered up to MAX_TAGS (by tagKey). */
const tags = new Map<number, string>();
const MAX_TAGS = 4096;

/** Digit or upper-case letter → 1…36, else 0. */
const TAG_CHAR = new Uint8Array(128);
for (let c = 48; c <= 57; c++) TAG_CHAR[c] = c - 47;
for (let c = 65; c <= 90; c++) TAG_CHAR[c] = c - 54;
/**
 * Well-formed tags by their characters (tagSlot): the known ones from the start, others as first
 * met (at most 37³, bounded). The usual tag is found by a few array reads instead of a Map lookup
 * (a tenth of the segment loop's time).
 */
const TAG_SLOTS = new Array<string | undefined>(37 * 37 * 37);
for (const t of KNOWN_TAGS) TAG_SLOTS[tagSlot(t, 0, t.length)] = t;

/** A slot for a tag of 2–3 digits and upper-case letters, else -1. */
function tagSlot(src: string, start: number, end: number): number {
  const n = end - start;
  if (n !== 2 && n !== 3) return -1;
  const a = TAG_CHAR[src.charCodeAt(start)] ?? 0;
  const b = TAG_CHAR[src.charCodeAt(start + 1)] ?? 0;
  const c = n === 3 ? (TAG_CHAR[src.charCodeAt(start + 2)] ?? 0) : 0;
  return a === 0 || b === 0 || (n === 3 && c === 0) ? -1 : (a * 37 + b) * 37 + c;
}

/** A number for a tag of 1–3 characters below U+0100 (the reader decodes Latin-1), else -1. */
function tagKey(src: string, start: number, end: number): number {
  const n = end - start;
  if (n < 1 || n > 3) return -1;
  let k = n;
  for (let i = start; i < end; i++) {
    const c = src.charCodeAt(i);
    if (c > 0xff) return -1;
    k = (k << 8) | c;
  }
  return k;
}

/** The tag src[start, end), the same string every time for the same tag. */
function tagOf(src: string, start: number, end: number): string {
  const slot = tagSlot(src, start, end);
  if (slot >= 0) return (TAG_SLOTS[slot] ??= src.slice(start, end));
  const k = tagKey(src, start, end);
  if (k < 0) return src.slice(start, end);
  let t = tags.get(k);
  if (t === undefined) {
    t = src.slice(start, end);
    if (tags.size < MAX_TAGS) tags.set(k, t);
  }
  return t;
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

/**
 * A byte range of an X12 file read on its own (run.ts splits large files at interchange
 * boundaries, splitX12File): it starts at an ISA; `last` when it ends at the end of the file.
 */
export interface X12Range {
  start: number;
  end: number;
  last: boolean;
}

export class X12SegmentReader {
  delimiters: X12Delimiters | null = null;
  bytesRead = 0;
  /** Line breaks read (the line numbers of a later range of the same file continue from them). */
  lineBreaks = 0;
  /** Segments read (the segment numbers of a later range continue from them). */
  segments = 0;
  /**
   * A range that is not the file's last ended inside a segment: the split point was not where an
   * interchange starts (possible only when interchanges use different delimiters); its last bytes
   * were not handed over, and the caller reads the file whole instead.
   */
  splitMismatch = false;
  constructor(
    readonly file: string,
    private readonly onBytes?: (b: Buffer) => void,
    private readonly range?: X12Range,
  ) {}

  /**
   * Every segment of the file, in order, to `visit` (one object refilled per segment). Throws
   * DataError when the file is not X12 at all.
   */
  forEach(visit: (seg: X12Segment) => void): void {
    const fd = openSync(this.file, "r");
    try {
      this.read(fd, visit);
    } finally {
      closeSync(fd);
    }
  }

  private read(fd: number, visit: (seg: X12Segment) => void): void {
    const seg = new X12Segment("", "*", 0, 0, 0, false);
    let buf = Buffer.alloc(0);
    const range = this.range;
    let base = range?.start ?? 0; // file offset of buf[0]
    let at = base; // file offset of the next read
    let line = 1;
    let index = 0;
    let eof = false;
    const chunk = Buffer.allocUnsafe(CHUNK);
    let d = this.delimiters;
    for (;;) {
      if (!eof) {
        const n = readSync(fd, chunk, 0, range ? Math.min(CHUNK, range.end - at) : CHUNK, at);
        at += n;
        this.bytesRead += n;
        if (n === 0) eof = true;
        else this.onBytes?.(chunk.subarray(0, n));
        if (n > 0) buf = buf.length === 0 ? Buffer.from(chunk.subarray(0, n)) : Buffer.concat([buf, chunk.subarray(0, n)]);
      }
      const s = buf.toString("latin1");
      const ascii = isAscii(buf);
      let pos = 0;
      // where the next line break at or after pos is (>>> 0 makes "none" larger than any position)
      let nextBreak = -1;
      for (;;) {
        // skip blanks and line breaks between segments
        while (pos < s.length) {
          const c = s.charCodeAt(pos);
          if (c === 10) line++;
          else if (c !== 13 && c !== 32 && c !== 9) break;
          pos++;
        }
        if (pos >= s.length) break;
        const isa = s.startsWith("ISA", pos);
        if (!d && !isa) {
          const what = s.charCodeAt(pos) === 123 || s.charCodeAt(pos) === 91 ? " (it looks like JSON)" : "";
          throw new DataError(`${this.file}: line ${line}: not an X12 interchange: the file does not start with ISA${what}`, {
            file: this.file,
            row: line,
          });
        }
        if (isa) {
          if (s.length - pos < 107 && !eof) break; // need the whole ISA
          d = this.delimiters = readDelimiters(s, pos, this.file, line, base + pos);
        }
        if (!d) break;
        // a terminator "\n" or "\r\n" ends a line too (the segment's own line breaks are counted below)
        const crlf = d.segment.endsWith("\n");
        const t = s.indexOf(d.segment, pos);
        if (t < 0) {
          if (s.length - pos > MAX_SEGMENT) throw tooLong(this.file, line, base + pos, d);
          break;
        }
        if (t - pos > MAX_SEGMENT) throw tooLong(this.file, line, base + pos, d);
        index++;
        const segLine = line;
        // line breaks inside the segment (the next one is found once, not per segment)
        if (nextBreak < pos) nextBreak = s.indexOf("\n", pos) >>> 0;
        while (nextBreak < t) {
          line++;
          nextBreak = s.indexOf("\n", nextBreak + 1) >>> 0;
        }
        let bad = false;
        if (!ascii && HIGH.test(s.slice(pos, t))) {
          const bytes = buf.subarray(pos, t);
          if (isUtf8(bytes)) {
            const text = bytes.toString("utf8");
            seg.reset(text, 0, text.length, d.element, segLine, base + pos, index, false);
            visit(seg);
            pos = t + d.segment.length;
            if (crlf) line++;
            continue;
          }
          bad = true;
        }
        seg.reset(s, pos, t, d.element, segLine, base + pos, index, bad);
        visit(seg);
        pos = t + d.segment.length;
        if (crlf) line++;
      }
      if (pos > 0) {
        buf = buf.subarray(pos);
        base += pos;
      }
      if (eof) {
        this.lineBreaks = line - 1;
        // (the loop above skipped the blanks before the next range's ISA: anything left is a segment cut off)
        if (range && !range.last) this.splitMismatch = buf.length > 0;
        else if (buf.length > 0 && buf.toString("latin1").trim() !== "") {
          // a last segment without its terminator: hand it over so the caller can reject its claim
          const text = buf.toString("latin1").replace(/[\r\n]+$/, "");
          index++;
          seg.reset(text, 0, text.length, d?.element ?? "*", line, base, index, !isUtf8(buf), true);
          visit(seg);
        }
        this.segments = index;
        return;
      }
    }
  }
}

/** True for a segment tag that is well-formed (2–3 upper-case letters or digits). */
export function isSegmentTag(tag: string): boolean {
  return tagSlot(tag, 0, tag.length) >= 0;
}

/** Bytes read at a time while looking for an ISA near a split point. */
const PROBE = 1 << 20;

/**
 * Up to `n` ranges of about equal size that cover an X12 file, each after the first starting at
 * an ISA that follows a segment terminator (and blanks) and declares the same delimiters as the
 * file's first ISA: interchanges are whole, so a range needs nothing from the ones before it but
 * the numbers of their lines and segments (X12SegmentReader.lineBreaks, segments), which the
 * warehouse step adds. A split point is looked for in the first half of the span after its target
 * offset; none found (one large interchange) means one range fewer. Not split (no ranges): files
 * whose terminator is a line break, or that do not start with a readable ISA. With delimiters that
 * change between interchanges, a candidate could lie inside a segment of another interchange; the
 * range before it then ends inside that segment (splitMismatch) and run.ts reads the file whole.
 */
export function splitX12File(file: string, size: number, n: number): X12Range[] {
  if (n < 2) return [];
  const fd = openSync(file, "r");
  try {
    const head = Buffer.allocUnsafe(4096);
    const text = head.subarray(0, readSync(fd, head, 0, head.length, 0)).toString("latin1");
    const first = /^[\r\n \t]*/.exec(text)![0].length;
    if (!text.startsWith("ISA", first)) return [];
    const d = isaDelimiters(text, first);
    if (!d || d.segment.length !== 1 || /[\r\n \t]/.test(d.segment)) return [];
    const needle = `ISA${d.element}`;
    const probe = Buffer.allocUnsafe(PROBE + 256);
    const starts = [0];
    for (let i = 1; i < n; i++) {
      const target = Math.floor((size * i) / n);
      const limit = Math.min(size, target + Math.floor(size / n / 2));
      // each window overlaps the previous one by 128 bytes, so a candidate at its edge is seen
      // whole, with the terminator and blanks before it
      for (let pos = Math.max(target, starts[starts.length - 1]! + 1); pos < limit; pos += PROBE) {
        const from = Math.max(0, pos - 128);
        const w = probe.subarray(0, readSync(fd, probe, 0, probe.length, from)).toString("latin1");
        let found = -1;
        for (let k = w.indexOf(needle, pos - from); k >= 0 && k < pos - from + PROBE; k = w.indexOf(needle, k + 1)) {
          let b = k - 1;
          while (b >= 0 && " \t\r\n".includes(w.charAt(b))) b--;
          const e = b >= 0 && w.charAt(b) === d.segment ? isaDelimiters(w, k) : null;
          if (e && e.element === d.element && e.segment === d.segment && e.component === d.component) {
            found = from + k;
            break;
          }
        }
        if (found >= 0) {
          starts.push(found);
          break;
        }
      }
    }
    return starts.length < 2
      ? []
      : starts.map((start, j) => ({ start, end: starts[j + 1] ?? size, last: j === starts.length - 1 }));
  } finally {
    closeSync(fd);
  }
}

/** The delimiters of the ISA at s[pos], or null when it is not a whole, well-formed ISA. */
function isaDelimiters(s: string, pos: number): X12Delimiters | null {
  try {
    return s.length - pos >= 107 ? readDelimiters(s, pos, "", 0, 0) : null;
  } catch {
    return null;
  }
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
