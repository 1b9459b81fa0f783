// The X12 envelope: ISA/IEA interchanges, GS/GE groups, ST/SE transactions. Each transaction's
// segments go to the 837 claim builder or the 834 member builder by ST01 and the implementation
// guide (ST03, else GS08). The transaction set is the unit of integrity: an ST without its SE, or
// an SE whose segment count or control number does not match, rejects every claim in it (the
// claims were already streamed out; the warehouse step marks them). A missing GE or IEA, or a
// transaction that is neither 837 nor 834 (e.g. 820), is a warning: no claim is lost by it.
import type { RejectCode, SourceLocation } from "./types.js";
import { Claim837Builder, claimFormatOf, type ClaimSink } from "./x12-837.js";
import { Member834Builder, type MemberSink } from "./x12-834.js";
import { X12SegmentReader, type X12Range, type X12Segment } from "./x12-segments.js";

export interface X12Sink extends ClaimSink, MemberSink {
  nextTransaction(): number;
  badTransaction(tx: number, code: RejectCode, message: string, at: SourceLocation): void;
  warn(message: string, at: SourceLocation): void;
}

interface OpenTransaction {
  id: number;
  control: string;
  count: number;
  at: SourceLocation;
  body: Claim837Builder | Member834Builder | null;
}

export interface X12FileStats {
  bytes: number;
  transactions: number;
  kinds: Set<string>;
  /** CLM segments seen (also ones written with other delimiters): the claims-in count. */
  clmSegments: number;
  /** Line breaks and segments read: what a later range's line and segment numbers continue from. */
  lineBreaks: number;
  segments: number;
  /** A range did not end where a segment does (X12SegmentReader.splitMismatch). */
  splitMismatch: boolean;
}

/**
 * Messages name the segment they are about by its location (the row's or warning's line and
 * segment), not by a line number in their text: a range of a split file (`range`) does not know
 * its first line number while it is read; run.ts shifts the locations afterwards.
 */
export function readX12File(file: string, sink: X12Sink, onBytes?: (b: Buffer) => void, range?: X12Range): X12FileStats {
  const reader = new X12SegmentReader(file, onBytes, range);
  const stats: X12FileStats = {
    bytes: 0,
    transactions: 0,
    kinds: new Set(),
    clmSegments: 0,
    lineBreaks: 0,
    segments: 0,
    splitMismatch: false,
  };
  // assigned in the segment callback: typed so that the checks after it are not narrowed to null
  let isa = null as SourceLocation | null;
  let gs = null as { at: SourceLocation; version: string; count: number } | null;
  let tx = null as OpenTransaction | null;
  const loc = (seg: X12Segment): SourceLocation => ({
    file,
    line: seg.line,
    offset: seg.offset,
    segment: seg.tag,
    segmentIndex: seg.index,
  });

  const closeTx = (ok: boolean, why: string, at: SourceLocation): void => {
    if (!tx) return;
    tx.body?.end();
    if (!ok) sink.badTransaction(tx.id, "E_ENVELOPE", why, at);
    tx = null;
  };

  /** An ISA closes what is open: its transaction is rejected, its interchange warned about, its group forgotten. */
  const beforeIsa = (): void => {
    if (tx) closeTx(false, `ST (control ${tx.control}) has no SE before the next ISA`, tx.at);
    if (isa) sink.warn("ISA has no IEA before the next ISA", isa);
    isa = null;
    gs = null;
  };

  reader.forEach((seg) => {
    if (tx) tx.count++;
    if (seg.tag.startsWith("CLM") && tx?.body instanceof Claim837Builder) stats.clmSegments++;
    switch (seg.tag) {
      case "ISA":
        beforeIsa();
        isa = loc(seg);
        return;
      case "IEA":
        if (tx) closeTx(false, `ST (control ${tx.control}) has no SE before IEA`, tx.at);
        if (gs) sink.warn("GS has no GE before IEA", gs.at);
        if (!isa) sink.warn("IEA without ISA", loc(seg));
        isa = null;
        gs = null;
        return;
      case "GS":
        if (tx) closeTx(false, `ST (control ${tx.control}) has no SE before the next GS`, tx.at);
        if (gs) sink.warn("GS has no GE before the next GS", gs.at);
        gs = { at: loc(seg), version: (seg.el[8] ?? "").trim(), count: 0 };
        return;
      case "GE":
        if (tx) closeTx(false, `ST (control ${tx.control}) has no SE before GE`, tx.at);
        if (!gs) sink.warn("GE without GS", loc(seg));
        else if (seg.el[1] !== String(gs.count))
          sink.warn(`GE01 says ${seg.el[1] ?? ""} transactions, the group has ${gs.count}`, loc(seg));
        gs = null;
        return;
      case "ST": {
        if (tx) closeTx(false, `ST (control ${tx.control}) has no SE before the next ST`, tx.at);
        if (gs) gs.count++;
        stats.transactions++;
        const version = (seg.el[3] ?? "").trim() || gs?.version || "";
        const id = sink.nextTransaction();
        const at = loc(seg);
        const d = reader.delimiters!;
        let body: OpenTransaction["body"] = null;
        const format = seg.el[1] === "837" ? claimFormatOf(version) : null;
        if (format) body = new Claim837Builder(file, format, d, id, sink);
        else if (seg.el[1] === "834") body = new Member834Builder(file, sink);
        else
          sink.warn(
            `transaction ST*${seg.el[1] ?? ""} (${version || "no implementation guide"}) is not an 837P/837I claim or 834 enrollment: skipped`,
            at,
          );
        stats.kinds.add(format ?? (seg.el[1] === "834" ? "834" : `ST*${seg.el[1] ?? ""}`));
        tx = { id, control: (seg.el[2] ?? "").trim(), count: 1, at, body };
        return;
      }
      case "SE": {
        if (!tx) {
          sink.warn("SE without ST", loc(seg));
          return;
        }
        const n = (seg.el[1] ?? "").trim();
        const ctl = (seg.el[2] ?? "").trim();
        const t: OpenTransaction = tx;
        if (n !== String(t.count))
          closeTx(
            false,
            `SE01 says ${n || "nothing"} segments, the transaction has ${t.count}: segments were lost or added`,
            loc(seg),
          );
        else if (ctl !== t.control) closeTx(false, `SE02 control number '${ctl}' does not match ST02 '${t.control}'`, loc(seg));
        else closeTx(true, "", loc(seg));
        return;
      }
      default:
        if (tx) tx.body?.push(seg);
        else if (seg.tag !== "TA1") sink.warn(`${seg.tag || "segment"} outside a transaction (no ST before it)`, loc(seg));
    }
  });
  stats.lineBreaks = reader.lineBreaks;
  stats.segments = reader.segments;
  stats.splitMismatch = reader.splitMismatch;
  stats.bytes = reader.bytesRead;
  // a range that is not the file's last ends where the next one's ISA starts: what that ISA does
  if (range && !range.last) {
    beforeIsa();
    return stats;
  }
  if (tx) {
    const t: OpenTransaction = tx;
    closeTx(false, `ST (control ${t.control}) has no SE: the file ends inside the transaction`, t.at);
  }
  if (gs) sink.warn("GS has no GE: the file ends inside the group", gs.at);
  if (isa) sink.warn("ISA has no IEA: the file ends inside the interchange", isa);
  return stats;
}
