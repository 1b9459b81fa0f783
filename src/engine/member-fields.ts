// The member input record's fields (README "Member input record"), apart from the Arrow batch
// builder of member.ts: modules that only name the fields (the record readers on the main thread)
// do not load Arrow.
export interface MemberInput {
  member_id: string;
  birth_date?: string | null;
  age?: number | string | null;
  sex?: string | number | null;
  orec?: string | number | null;
  crec?: string | number | null;
  dual_elgbl_cd?: string | number | null;
  medicaid?: boolean | string | number | null;
  lti?: boolean | string | number | null;
  new_enrollee?: boolean | string | number | null;
  snp?: boolean | string | number | null;
  low_income?: boolean | string | number | null;
  pace?: boolean | string | number | null;
  esrd_status?: string | null;
  graft_months?: number | string | null;
  rx_plan?: string | null;
  diagnosis_codes?: readonly (string | null)[] | null;
}

/** The member fields carried as text; the encoder (arrow-encode.ts) parses and validates them. */
export const MEMBER_TEXT_FIELDS = [
  "birth_date",
  "age",
  "sex",
  "orec",
  "crec",
  "dual_elgbl_cd",
  "medicaid",
  "lti",
  "new_enrollee",
  "snp",
  "low_income",
  "pace",
  "esrd_status",
  "graft_months",
  "rx_plan",
] as const;
