// 834 (005010X220A1) member loops → participants rows, with the segment each field came from.
// Only what the standard carries is read: INS (maintenance type), REF*0F (subscriber id), NM1*IL
// (member id), DMG (birth date, sex), HD/DTP*348/349 (coverage and its dates), REF*F6 (Medicare HIC
// number). Dual status comes from REF*F5 (a common trading-partner convention, also hccinfhir's)
// only when it holds a valid CMS dual code; Medicaid from REF*1D / a Medicaid HD line. Nothing is
// guessed: absent fields stay null (the engine then flags its defaults). docs/ingest.md#x12-834.
import type { EnrollmentMember, SourceLocation } from "./types.js";
import { parseCcyymmdd } from "./dates.js";
import type { X12Segment } from "./x12-segments.js";

const DUAL_CODES = new Set(["00", "01", "02", "03", "04", "05", "06", "07", "08", "09", "10"]);
const MEDICAID_WORDS = /\b(MEDICAID|MEDI-CAL|MEDI CAL)\b/;
const MEDICARE_WORDS = /\b(MEDICARE|MEDICARE ADVANTAGE|MA-PD|PART [ABCD])\b/;

export interface MemberSink {
  member(m: EnrollmentMember): void;
  /** An INS loop that cannot become a participant (no id, bad bytes, bad date). */
  memberProblem(message: string, at: SourceLocation): void;
}

export class Member834Builder {
  private m: EnrollmentMember | null = null;
  private problem: { message: string; at: SourceLocation } | null = null;
  private subscriberRef: string | null = null;
  private nm1Id: string | null = null;

  constructor(
    private readonly file: string,
    private readonly sink: MemberSink,
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

  push(seg: X12Segment): void {
    if (seg.tag === "INS") return this.start(seg);
    const m = this.m;
    if (!m) return;
    if (seg.badEncoding || seg.truncated) {
      this.problem ??= {
        message: `${seg.tag}: ${seg.truncated ? "the file ends inside this segment" : "bytes that are not valid UTF-8"}`,
        at: this.at(seg),
      };
      return;
    }
    const el = seg.el;
    const src = m.fieldSources;
    switch (seg.tag) {
      case "REF": {
        const v = (el[2] ?? "").trim();
        if (el[1] === "0F" && v) this.subscriberRef = v;
        else if (el[1] === "F6" && v) {
          m.medicare = true;
          src["medicare"] = "REF*F6";
        } else if (el[1] === "1D" && v) {
          m.medicaid = true;
          src["medicaid"] = "REF*1D";
        } else if (el[1] === "F5" && DUAL_CODES.has(v)) {
          m.dualCode = v;
          src["dual_elgbl_cd"] = "REF*F5";
        }
        return;
      }
      case "NM1":
        if (el[1] === "IL") this.nm1Id = (el[9] ?? "").trim() || null;
        return;
      case "DMG": {
        if (el[1] === "D8" && el[2]) {
          const d = parseCcyymmdd(el[2]);
          if (d === null) src["birth_date"] = "DMG02 (not a valid CCYYMMDD date: left empty)";
          else {
            m.birthDate = d;
            src["birth_date"] = "DMG02";
          }
        }
        const sex = el[3] ?? "";
        if (sex === "M" || sex === "F") {
          m.sex = sex;
          src["sex"] = "DMG03";
        }
        return;
      }
      case "HD": {
        const text = `${el[3] ?? ""} ${el[4] ?? ""} ${el[6] ?? ""}`.toUpperCase();
        if (MEDICAID_WORDS.test(text)) {
          m.medicaid = true;
          src["medicaid"] ??= "HD04";
        }
        if (MEDICARE_WORDS.test(text)) {
          m.medicare = true;
          src["medicare"] ??= "HD04";
        }
        return;
      }
      case "DTP": {
        const d = el[2] === "D8" ? parseCcyymmdd(el[3] ?? "") : null;
        if (d === null) return;
        if (el[1] === "348" && (m.coverageStart === null || d < m.coverageStart)) {
          m.coverageStart = d;
          src["coverage_start_date"] = "DTP*348";
        } else if (el[1] === "349" && (m.coverageEnd === null || d > m.coverageEnd)) {
          m.coverageEnd = d;
          src["coverage_end_date"] = "DTP*349";
        }
        return;
      }
      default:
        return;
    }
  }

  private start(seg: X12Segment): void {
    this.end();
    this.problem = null;
    this.subscriberRef = null;
    this.nm1Id = null;
    this.m = {
      memberId: "",
      birthDate: null,
      sex: null,
      dualCode: null,
      medicare: false,
      medicaid: false,
      coverageStart: null,
      coverageEnd: null,
      maintenanceType: (seg.el[3] ?? "").trim() || null,
      fieldSources: {},
      location: this.at(seg),
    };
  }

  /** End of the member loop (next INS, SE, end of input). */
  end(): void {
    const m = this.m;
    if (!m) return;
    this.m = null;
    m.memberId = this.subscriberRef ?? this.nm1Id ?? "";
    m.fieldSources["participant_id"] = this.subscriberRef ? "REF*0F" : "NM1*IL NM109";
    if (this.problem) return this.sink.memberProblem(this.problem.message, this.problem.at);
    if (!m.memberId) return this.sink.memberProblem("no member identifier (REF*0F or NM1*IL NM109)", m.location);
    this.sink.member(m);
  }
}
