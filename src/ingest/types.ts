// The ingest stage's records: one normalized claim per 837 CLM loop or FHIR ExplanationOfBenefit,
// what became of it (accepted / filtered with a reason / rejected with a location), and the 834
// member record. Pure data; the parsers build them, src/ingest/filter.ts decides, the staging
// writer streams them out. docs/ingest.md describes every field's derivation.

export type ClaimFormat = "837P" | "837I" | "fhir-eob";

/** Where something is in its source file. Never carries member data. */
export interface SourceLocation {
  file: string;
  /** 1-based physical line (X12: where the segment starts; NDJSON: the record's line). */
  line: number;
  /** Byte offset of the claim's first segment / record in the file. */
  offset: number;
  /** X12: 1-based segment number in the file and the segment tag, e.g. "CLM". */
  segment?: string;
  segmentIndex?: number;
  /** X12 element reference, e.g. "CLM05-3"; FHIR: a JSON pointer, e.g. "/item/0/servicedPeriod/end". */
  element?: string;
  pointer?: string;
}

export interface ClaimDiagnosis {
  /** As in the file. */
  raw: string;
  /** Upper case, no dots or blanks (how the engine reads codes). */
  code: string;
  /** 1-based position among the claim's diagnoses (X12: HI composite order; FHIR: sequence). */
  position: number;
  /** ABK / ABF / ABJ (X12) or the FHIR diagnosis type code (principal, admitting …). */
  qualifier: string;
}

export interface ClaimLine {
  /** 1-based line number (LX01 / item.sequence). */
  number: number;
  procedure: string | null;
  revenueCode: string | null;
  /** Diagnosis positions the line points to (SV107 / item.diagnosisSequence). */
  pointers: number[];
  /** Service dates as days since 1970-01-01 (null: none on the line). */
  from: number | null;
  to: number | null;
  renderingNpi: string | null;
}

export type ClaimKind = "professional" | "institutional" | "pharmacy";

export interface Claim {
  format: ClaimFormat;
  kind: ClaimKind;
  claimId: string;
  /** The claim this one replaces or voids (REF*F8; FHIR: the EOB id), else null. */
  originalRef: string | null;
  /** Claim frequency: "1" original, "7" replacement, "8" void (others kept as given). */
  frequency: string;
  memberId: string;
  /** Three characters, facility type + classification + frequency (e.g. "131"); null for professional. */
  billType: string | null;
  /** The place of service (837P CLM05-1) or null. */
  placeOfService: string | null;
  /** Claim service period as days since epoch (837I statement dates; else the lines' span). */
  from: number | null;
  to: number | null;
  billingNpi: string | null;
  renderingNpi: string | null;
  diagnoses: ClaimDiagnosis[];
  lines: ClaimLine[];
  /** Transaction (X12 ST/SE) the claim came in, for envelope checks; null for FHIR. */
  transaction: number | null;
  location: SourceLocation;
}

export type RejectCode =
  | "E_SEGMENT" // malformed or truncated segment, wrong delimiters
  | "E_ELEMENT" // required element missing or invalid
  | "E_ENCODING" // bytes that are not UTF-8
  | "E_ENVELOPE" // ST without SE, SE count or control number mismatch
  | "E_JSON" // a line that is not JSON
  | "E_RESOURCE" // not an ExplanationOfBenefit, or a required EOB field missing
  | "E_DATE"; // no usable service date

export interface Rejection {
  code: RejectCode;
  /** What is wrong, with no member data. */
  message: string;
  location: SourceLocation;
  format: ClaimFormat;
  /** As far as known (never logged, stored in the warehouse only). */
  claimId: string | null;
  memberId: string | null;
  transaction: number | null;
}

export type FilterReason =
  | "void" // frequency 8: a void removes its original and is not a source itself
  | "voided" // an original or replacement a later void removed
  | "replaced" // superseded by a later replacement
  | "no_diagnosis"
  | "out_of_period" // no date of service in the collection period
  | "bill_type" // institutional type of bill not risk-adjustment eligible
  | "no_eligible_procedure" // no line with a risk-adjustment-eligible CPT/HCPCS code in the period
  | "not_medical"; // pharmacy (PDE) records

export type DiagnosisSource = "professional" | "outpatient" | "inpatient";

export interface Decision {
  outcome: "accepted" | "filtered";
  reason: FilterReason | null;
  source: DiagnosisSource | null;
  /** Index into claim.lines of the line with an eligible code each diagnosis leans on (-1: none). */
  lineFor: (dx: ClaimDiagnosis) => number;
}

/** One 834 member (INS loop) as a participants row, with where each field came from. */
export interface EnrollmentMember {
  memberId: string;
  birthDate: number | null;
  sex: "M" | "F" | null;
  dualCode: string | null;
  medicare: boolean;
  medicaid: boolean;
  coverageStart: number | null;
  coverageEnd: number | null;
  maintenanceType: string | null;
  /** field → "SEG*QUAL element" it was read from, e.g. {"birth_date": "DMG02"}. */
  fieldSources: Record<string, string>;
  location: SourceLocation;
}
