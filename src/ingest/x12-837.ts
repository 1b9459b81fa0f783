// 837P (005010X222A1) and 837I (005010X223A2) claim loops → Claim records. Fed one transaction's
// segments at a time by the envelope reader (x12-interchange.ts): HL billing provider (20) →
// subscriber (22) → patient (23) → CLM (2300) with HI diagnoses, REF*F8, DTP → LX/SV1/SV2 lines
// (2400) with DTP*472 and NM1*82. A claim ends at the next CLM, HL or SE. Problems in a claim's
// own segments reject that claim; problems in its provider or subscriber loop reject every claim
// under that loop. docs/ingest.md#x12-837 has the field derivations.
import type { Claim, ClaimFormat, ClaimLine, Rejection, RejectCode, SourceLocation } from "./types.js";
import { parseCcyymmdd } from "./dates.js";
import { isSegmentTag, type X12Delimiters, type X12Segment } from "./x12-segments.js";

/**
 * The HI qualifier that starts `e` (up to the component separator at `k`, -1: none) when it is
 * one that carries ICD-10-CM diagnoses used for risk adjustment — ABK principal, ABF other, ABJ
 * admitting — as that constant string, else null. Compared by characters: no string is cut.
 */
function dxQualifier(e: string, k: number): string | null {
  if ((k < 0 ? e.length : k) !== 3 || e.charCodeAt(0) !== 65 || e.charCodeAt(1) !== 66) return null;
  const c = e.charCodeAt(2);
  return c === 75 ? "ABK" : c === 70 ? "ABF" : c === 74 ? "ABJ" : null;
}

export interface ClaimSink {
  claim(c: Claim): void;
  reject(r: Rejection): void;
}

interface Problem {
  code: RejectCode;
  message: string;
  at: SourceLocation;
}

interface OpenClaim {
  claim: Claim;
  problem: Problem | null;
  line: ClaimLine | null;
}

export const IMPLEMENTATIONS: Record<string, ClaimFormat> = { "005010X222A1": "837P", "005010X223A2": "837I" };

export function claimFormatOf(version: string): ClaimFormat | null {
  if (version.startsWith("005010X222")) return "837P";
  if (version.startsWith("005010X223")) return "837I";
  return null;
}

/** LX01, the assigned line number, when it is a whole number 1 … 2^31 − 1 (else the lines are counted). */
function lineNumber(v: string): number | null {
  const n = Number(v);
  return Number.isInteger(n) && n >= 1 && n <= 0x7fffffff ? n : null;
}

export class Claim837Builder {
  private level = "";
  private billingNpi: string | null = null;
  private subscriberId: string | null = null;
  private patientId: string | null = null;
  /** A bad segment in the billing provider / subscriber / patient loop: rejects the claims under it. */
  private taint: { "20": Problem | null; "22": Problem | null; "23": Problem | null } = { "20": null, "22": null, "23": null };
  private open: OpenClaim | null = null;
  private lineNo = 0;

  constructor(
    private readonly file: string,
    private readonly format: ClaimFormat,
    private readonly d: X12Delimiters,
    private readonly transaction: number,
    private readonly sink: ClaimSink,
  ) {}

  private at(seg: X12Segment, element?: string): SourceLocation {
    return {
      file: this.file,
      line: seg.line,
      offset: seg.offset,
      segment: seg.tag,
      segmentIndex: seg.index,
      ...(element ? { element } : {}),
    };
  }

  /** A segment that cannot be read: rejects the open claim, or taints the current loop. */
  private bad(seg: X12Segment, code: RejectCode, message: string): void {
    const p: Problem = { code, message, at: this.at(seg) };
    if (this.open) {
      this.open.problem ??= p;
      return;
    }
    const lvl = this.level === "22" || this.level === "23" ? this.level : "20";
    this.taint[lvl] ??= p;
  }

  push(seg: X12Segment): void {
    if (seg.truncated)
      return this.bad(seg, "E_SEGMENT", `${seg.tag || "segment"}: the file ends inside this segment (truncated)`);
    if (!isSegmentTag(seg.tag)) {
      if (/^CLM/.test(seg.tag)) {
        // a CLM written with other delimiters: still a claim, and a rejected one
        this.finish();
        this.startClaim(seg, null, null);
        return this.bad(
          seg,
          "E_SEGMENT",
          `segment '${seg.tag.slice(0, 3)}…' does not use the interchange's element separator '${this.d.element}'`,
        );
      }
      return this.bad(seg, "E_SEGMENT", `unreadable segment (its tag is not 2–3 letters/digits: wrong delimiters?)`);
    }
    // a bad CLM or HL belongs to the claim / loop it starts, so it is flagged after starting it
    const starts = seg.tag === "CLM" || seg.tag === "HL";
    if (seg.badEncoding && !starts) this.bad(seg, "E_ENCODING", `${seg.tag}: bytes that are not valid UTF-8`);
    if (starts) {
      if (seg.tag === "HL") this.hl(seg.element(3));
      else this.clm(seg);
      if (seg.badEncoding) this.bad(seg, "E_ENCODING", `${seg.tag}: bytes that are not valid UTF-8`);
      return;
    }
    switch (seg.tag) {
      case "NM1":
        return this.nm1(seg);
      case "REF":
        if (this.open && !this.open.line && seg.element(1) === "F8") this.open.claim.originalRef = seg.element(2).trim() || null;
        return;
      case "DTP":
        return this.dtp(seg);
      case "HI":
        return this.hi(seg);
      case "LX":
        this.lineNo = lineNumber(seg.element(1)) ?? this.lineNo + 1;
        return;
      case "SV1":
      case "SV2":
        return this.service(seg);
      default:
        return;
    }
  }

  /** End of the transaction (SE or the end of input): emit the last claim. */
  end(): void {
    this.finish();
  }

  private hl(code: string): void {
    this.finish();
    this.level = code;
    if (code === "20") {
      this.billingNpi = null;
      this.subscriberId = null;
      this.patientId = null;
      this.taint["20"] = null;
      this.taint["22"] = null;
      this.taint["23"] = null;
    } else if (code === "22") {
      this.subscriberId = null;
      this.patientId = null;
      this.taint["22"] = null;
      this.taint["23"] = null;
    } else if (code === "23") {
      this.patientId = null;
      this.taint["23"] = null;
    }
  }

  private nm1(seg: X12Segment): void {
    const q = seg.element(1);
    if (q !== "82" && q !== "85" && q !== "IL" && q !== "QC") return;
    const xx = seg.element(8) === "XX";
    const id = seg.element(9).trim();
    if (this.open) {
      if (q === "82" && xx) {
        if (this.open.line) this.open.line.renderingNpi = id || null;
        else this.open.claim.renderingNpi = id || null;
      }
      return;
    }
    if (q === "85" && xx) this.billingNpi = id || null;
    else if (q === "IL") {
      if (this.level === "23") this.patientId = id || null;
      else this.subscriberId = id || null;
    } else if (q === "QC" && id) this.patientId = id;
  }

  private clm(seg: X12Segment): void {
    this.finish();
    // CLM05 = facility code : facility code qualifier : frequency [: …], cut as split() would
    const e5 = seg.element(5);
    const sep = this.d.component;
    const k1 = e5.indexOf(sep);
    const k2 = k1 < 0 ? -1 : e5.indexOf(sep, k1 + 1);
    const k3 = k2 < 0 ? -1 : e5.indexOf(sep, k2 + 1);
    const facility = k1 < 0 ? e5 : e5.slice(0, k1);
    const frequency = k2 < 0 ? null : e5.slice(k2 + 1, k3 < 0 ? e5.length : k3);
    this.startClaim(seg, facility, frequency);
    const o = this.open!;
    const c = o.claim;
    if (!c.claimId) o.problem ??= { code: "E_ELEMENT", message: "CLM01 (claim identifier) is empty", at: this.at(seg, "CLM01") };
    if (seg.count < 6 || !seg.element(5))
      o.problem ??= {
        code: "E_ELEMENT",
        message: "CLM05 (facility code / frequency) is missing: truncated segment?",
        at: this.at(seg, "CLM05"),
      };
    else if (!/^[0-9]$/.test(c.frequency))
      o.problem ??= {
        code: "E_ELEMENT",
        message: `CLM05-3 (claim frequency code) '${c.frequency}' is not a digit`,
        at: this.at(seg, "CLM05-3"),
      };
    else if (this.format === "837I" && !/^[0-9]{2}$/.test(facility))
      o.problem ??= {
        code: "E_ELEMENT",
        message: "CLM05-1 (facility type code of the type of bill) is not two digits",
        at: this.at(seg, "CLM05-1"),
      };
  }

  private startClaim(seg: X12Segment, facility: string | null, frequency: string | null): void {
    const inst = this.format === "837I";
    this.lineNo = 0;
    this.open = {
      problem: null,
      line: null,
      claim: {
        format: this.format,
        kind: inst ? "institutional" : "professional",
        claimId: seg.element(1).trim(),
        originalRef: null,
        frequency: (frequency ?? "").trim(),
        memberId: this.patientId ?? this.subscriberId ?? "",
        billType: inst && facility ? `${facility}${(frequency ?? "").trim()}` : null,
        placeOfService: !inst && facility ? facility : null,
        from: null,
        to: null,
        billingNpi: this.billingNpi,
        renderingNpi: null,
        diagnoses: [],
        lines: [],
        transaction: this.transaction,
        location: this.at(seg),
      },
    };
  }

  private dtp(seg: X12Segment): void {
    const o = this.open;
    if (!o) return;
    const q = seg.element(1);
    if (q !== "434" && q !== "472") return;
    const range = readDateRange(seg.element(2), seg.element(3));
    if (!range) {
      o.problem ??= {
        code: "E_DATE",
        message: `DTP*${q}: '${seg.element(2)}' date value is not a valid CCYYMMDD date or range`,
        at: this.at(seg, "DTP03"),
      };
      return;
    }
    if (o.line && q === "472") {
      o.line.from = range[0];
      o.line.to = range[1];
    } else if (q === "434" || o.claim.from === null) {
      o.claim.from = range[0];
      o.claim.to = range[1];
    }
  }

  private hi(seg: X12Segment): void {
    const o = this.open;
    if (!o) return;
    const sep = this.d.component;
    for (let i = 1, n = seg.count; i < n; i++) {
      // HIxx = qualifier : code [: …]
      const e = seg.element(i);
      const k = e.indexOf(sep);
      const q = dxQualifier(e, k);
      if (q === null) continue;
      const k2 = k < 0 ? -1 : e.indexOf(sep, k + 1);
      const raw = k < 0 ? "" : (k2 < 0 ? e.slice(k + 1) : e.slice(k + 1, k2)).trim();
      if (!raw) {
        o.problem ??= {
          code: "E_ELEMENT",
          message: `HI${String(i).padStart(2, "0")}-2: ${q} diagnosis code is empty`,
          at: this.at(seg, `HI${String(i).padStart(2, "0")}-2`),
        };
        continue;
      }
      o.claim.diagnoses.push({ raw, code: normalizeDx(raw), position: o.claim.diagnoses.length + 1, qualifier: q });
    }
  }

  private service(seg: X12Segment): void {
    const o = this.open;
    if (!o) return this.bad(seg, "E_SEGMENT", `${seg.tag} outside a claim (no CLM before it)`);
    const sv1 = seg.tag === "SV1";
    // SV101 / SV202 = qualifier : procedure code [: modifiers …]
    const sep = this.d.component;
    const e = seg.element(sv1 ? 1 : 2);
    const k = e.indexOf(sep);
    const k2 = k < 0 ? -1 : e.indexOf(sep, k + 1);
    const procedure = (k < 0 ? "" : upperTrimmed(k2 < 0 ? e.slice(k + 1) : e.slice(k + 1, k2))) || null;
    if (sv1 && !procedure)
      o.problem ??= { code: "E_ELEMENT", message: "SV101-2 (procedure code) is empty", at: this.at(seg, "SV101-2") };
    const pointers = sv1 ? readPointers(seg.element(7), sep) : [];
    const line: ClaimLine = {
      number: this.lineNo || o.claim.lines.length + 1,
      procedure,
      revenueCode: sv1 ? null : seg.element(1).trim() || null,
      pointers,
      from: null,
      to: null,
      renderingNpi: null,
    };
    o.claim.lines.push(line);
    o.line = line;
  }

  private finish(): void {
    const o = this.open;
    if (!o) return;
    this.open = null;
    const c = o.claim;
    const problem = o.problem ?? this.taint["23"] ?? this.taint["22"] ?? this.taint["20"];
    if (!problem && c.memberId === "")
      return this.reject(c, {
        code: "E_ELEMENT",
        message: "no member identifier (NM1*IL NM109 of the subscriber loop)",
        at: { ...c.location, element: "NM109" },
      });
    if (problem) return this.reject(c, problem);
    if (c.from === null) {
      for (const l of c.lines) {
        if (l.from !== null && (c.from === null || l.from < c.from)) c.from = l.from;
        if (l.to !== null && (c.to === null || l.to > c.to)) c.to = l.to;
      }
    }
    if (c.from === null || c.to === null)
      return this.reject(c, {
        code: "E_DATE",
        message: "no date of service (DTP*434 on the claim or DTP*472 on a line)",
        at: c.location,
      });
    this.sink.claim(c);
  }

  private reject(c: Claim, p: Problem): void {
    this.sink.reject({
      code: p.code,
      message: p.message,
      location: p.at,
      format: c.format,
      claimId: c.claimId || null,
      memberId: c.memberId || null,
      transaction: this.transaction,
    });
  }
}

/** D8 "CCYYMMDD" or RD8 "CCYYMMDD-CCYYMMDD" → [from, to] days, else null. */
export function readDateRange(format: string, value: string): [number, number] | null {
  if (format === "D8") {
    const d = parseCcyymmdd(value.slice(0, 8));
    return d === null || value.length !== 8 ? null : [d, d];
  }
  if (format === "RD8") {
    const [a, b] = value.split("-");
    const from = parseCcyymmdd(a ?? "");
    const to = parseCcyymmdd(b ?? "");
    return from === null || to === null || to < from ? null : [from, to];
  }
  return null;
}

/** Upper case, no dots or blanks: how the engine and dbt read ICD-10 codes. */
export function normalizeDx(raw: string): string {
  for (let i = 0; i < raw.length; i++) {
    const c = raw.charCodeAt(i);
    // most codes are already upper-case ASCII letters and digits
    if (!((c >= 65 && c <= 90) || (c >= 48 && c <= 57))) return raw.replace(/[.\s]/g, "").toUpperCase();
  }
  return raw;
}

/** s.trim().toUpperCase(), without new strings for the usual upper-case letters and digits. */
function upperTrimmed(s: string): string {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (!((c >= 65 && c <= 90) || (c >= 48 && c <= 57))) return s.trim().toUpperCase();
  }
  return s;
}

/** SV107 diagnosis code pointers "1:3": the positive integers among the components. */
export function readPointers(e: string, sep: string): number[] {
  const out: number[] = [];
  const s = sep.charCodeAt(0);
  let v = 0;
  let digits = 0;
  for (let i = 0; i <= e.length; i++) {
    const c = i < e.length ? e.charCodeAt(i) : s;
    if (c === s) {
      if (digits > 0 && v > 0) out.push(v);
      v = 0;
      digits = 0;
    } else if (c >= 48 && c <= 57) {
      v = v * 10 + (c - 48);
      digits++;
    } else {
      // anything but digits: what Number() makes of each component
      return e
        .split(sep)
        .map((p) => Number(p))
        .filter((n) => Number.isInteger(n) && n > 0);
    }
  }
  return out;
}
