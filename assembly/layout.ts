// Buffer layouts shared by the kernel and src/engine/layout.ts (keep the two in sync;
// tests/unit/layout.test.ts checks the TypeScript copy against the exported constants).

// ---- member input record: NIN little-endian i32 per member -------------------------------
export const IN_AGE: i32 = 0; // completed years, -1 when absent
export const IN_DOB_DAYS: i32 = 1; // days since 1970-01-01, I32.MIN_VALUE when absent
export const IN_SEX: i32 = 2; // 1 male, 2 female, 0 unknown
export const IN_OREC: i32 = 3; // 0..3, -1 absent
export const IN_CREC: i32 = 4; // 0..3, -1 absent
export const IN_DUAL: i32 = 5; // dual eligibility code 0..10, -1 absent, 99 unrecognised
export const IN_MEDICAID: i32 = 6; // 0/1, -1 derive from dual code
export const IN_LTI: i32 = 7;
export const IN_NE: i32 = 8;
export const IN_SNP: i32 = 9;
export const IN_LOW_INCOME: i32 = 10;
export const IN_ESRD: i32 = 11; // 0 none, 1 dialysis, 2 transplant, 3 graft
export const IN_GRAFT_MONTHS: i32 = 12; // -1 absent
export const IN_RX_PLAN: i32 = 13; // 0 MA-PD, 1 PDP, -1 absent
export const IN_PACE: i32 = 14;
export const NIN: i32 = 15;

// ---- value vector the rule clauses read (per member, per model) ---------------------------
export const V_AGE: i32 = 0; // AGEF as of DATE_ASOF
export const V_AGE_NE: i32 = 1; // AGEF, with 64 and OREC 0 counted as 65
export const V_SEX: i32 = 2;
export const V_OREC: i32 = 3;
export const V_CREC: i32 = 4;
export const V_DUAL: i32 = 5; // 0 non-dual, 1 partial-benefit dual, 2 full-benefit dual
export const V_MEDICAID: i32 = 6;
export const V_LTI: i32 = 7;
export const V_NE: i32 = 8;
export const V_SNP: i32 = 9;
export const V_LOW_INCOME: i32 = 10;
export const V_ESRD: i32 = 11;
export const V_GRAFT_MONTHS: i32 = 12;
export const V_RX_PLAN: i32 = 13;
export const V_PACE: i32 = 14;
export const V_DISABL: i32 = 15; // AGEF < 65 and OREC != 0
export const V_ORIGDS: i32 = 16; // OREC = 1 and DISABL = 0
export const V_COUNT: i32 = 17; // payment HCCs after hierarchies (per model)
export const NVAL: i32 = 18;

// ---- batch descriptor: i32 words written by the host before scoreBatch -------------------
export const D_N: i32 = 0;
export const D_IN: i32 = 1;
export const D_MEMBER_OFFSETS: i32 = 2; // i32[n+1] into the code list (Arrow List offsets)
export const D_CODE_OFFSETS: i32 = 3; // i32[] into code bytes (Arrow Utf8 offsets)
export const D_CODE_BYTES: i32 = 4;
export const D_MODEL_MASK: i32 = 5; // bit per pack model; 0 = what the payment year uses
export const D_OPTIONS: i32 = 6;
export const D_OUT_MEMBER_F64: i32 = 7; // f64[n * NOUT_F]
export const D_OUT_MEMBER_I32: i32 = 8; // i32[n * NOUT_I]
export const D_OUT_MODEL_F64: i32 = 9; // f64[nModels][n][2], model-major: raw, normalized
export const D_OUT_MODEL_I32: i32 = 10; // i32[nModels][n][3], model-major: segment, hccStart, hccCount
export const D_OUT_HCC: i32 = 11; // i32 pool of HCC numbers
export const D_OUT_HCC_CAP: i32 = 12;
export const D_TRACE: i32 = 13;
export const D_TRACE_CAP: i32 = 14;
export const D_TRACE_LEN: i32 = 15; // written by the kernel
export const D_ASOF_DAYS: i32 = 16;
export const D_SCRATCH: i32 = 17; // i32 scratch: 3 words per code of the largest member, + 1
export const D_OUT_HCC_LEN: i32 = 18; // written by the kernel
export const D_DX_INDEX: i32 = 19; // i32 pool: for each output HCC, the first dx index behind it
// what-if (gap values, cms-algorithm steps re-run from the CC set; docs/gap-values.md)
export const D_GAPS: i32 = 20; // i32 pool, GAP_IN_STRIDE per candidate: model, local CC index
export const D_GAP_OFFSETS: i32 = 21; // i32[n+1] into the candidate pool (0 when no candidates)
export const D_GAP_OUT_I32: i32 = 22; // i32[cap * GAP_I_STRIDE]
export const D_GAP_OUT_F64: i32 = 23; // f64[cap * GAP_F_STRIDE]
export const D_GAP_CAP: i32 = 24; // records
export const D_GAP_LEN: i32 = 25; // written by the kernel
export const D_GAP_POOL: i32 = 26; // i32 pool of what changed (GAP_I_DIFF_*, GAP_I_VARS_*)
export const D_GAP_POOL_CAP: i32 = 27;
export const D_GAP_POOL_LEN: i32 = 28; // written by the kernel
export const NDESC: i32 = 32;

// ---- factor columns descriptor: i32 words written by the host before factorColumns --------
// After a factor-mode scoreBatch, factorColumns turns the trace (still in memory) into the
// risk_score_factors columns: one row per term, hierarchy drop and unscored HCC of members the
// host did not mark as errored, with each HCC row's dx codes (the codes whose dx → CC record
// assigned it) copied as UTF-8. Label tables map the kernel's numbers onto the host's
// dictionaries. Returns 0, or -1 when an output is full (the host grows it and calls again).
export const FD_TRACE: i32 = 0;
export const FD_TRACE_LEN: i32 = 1;
export const FD_N: i32 = 2;
export const FD_OUT_MODEL_I32: i32 = 3; // scoreBatch's D_OUT_MODEL_I32 (segment of member × model)
export const FD_ERRORED: i32 = 4; // u8[n]: 1 = no rows for the member
export const FD_HCC_FACTOR: i32 = 5; // i32[nModels][FD_HCC_STRIDE]: HCC number → factor index
export const FD_HCC_STRIDE: i32 = 6;
export const FD_VAR_FACTOR: i32 = 7; // i32[nModels][FD_VAR_STRIDE]: variable → factor index
export const FD_VAR_TYPE: i32 = 8; // i32[nModels][FD_VAR_STRIDE]: variable → factor type index
export const FD_VAR_STRIDE: i32 = 9;
export const FD_SEG_BASE: i32 = 10; // i32[nModels]: first segment dictionary index of each model
export const FD_KIND_TYPE: i32 = 11; // i32[T_HCC_UNSCORED + 1]: factor type index of an HCC row by kind
export const FD_DIVISOR_TYPE: i32 = 12;
export const FD_MEMBER_OFFSETS: i32 = 13; // scoreBatch's inputs (the dx codes of HCC rows)
export const FD_CODE_OFFSETS: i32 = 14;
export const FD_CODE_BYTES: i32 = 15;
export const FD_ROW_CAP: i32 = 16;
export const FD_MEMBER: i32 = 17; // i32 per row: member index
export const FD_MODEL: i32 = 18; // i32 per row: pack model index
export const FD_SEGMENT: i32 = 19; // i32 per row: segment dictionary index
export const FD_FACTOR: i32 = 20; // i32 per row
export const FD_TYPE: i32 = 21; // i32 per row: factor type index
export const FD_COEF: i32 = 22; // f64 per row
export const FD_HCC: i32 = 23; // i32 per row: HCC number (0 where null)
export const FD_HCC_VALID: i32 = 24; // validity bitmap of FD_HCC (zeroed by the kernel)
export const FD_DX_OFFSETS: i32 = 25; // i32[rows + 1] into the dx code list
export const FD_DX_CAP: i32 = 26;
export const FD_DX_BYTE_OFFSETS: i32 = 27; // i32[dx + 1] into FD_DX_BYTES
export const FD_DX_BYTES: i32 = 28;
export const FD_DX_BYTES_CAP: i32 = 29;
export const FD_ROWS: i32 = 30; // written by the kernel
export const FD_DX_LEN: i32 = 31; // written by the kernel
export const FD_DX_BYTES_LEN: i32 = 32; // written by the kernel
export const FD_HCC_NULLS: i32 = 33; // written by the kernel
export const NFDESC: i32 = 36;

// ---- model columns descriptor: i32 words written by the host before modelColumns ------------
// After a scoreBatch, modelColumns writes one model's risk_scores columns from its outputs (still
// in memory): raw and normalized scores (NaN for members the host marked as errored), the
// segment with its validity bitmap (null: errored, or no segment), and the kept HCCs as list
// offsets and dictionary keys (the host's table maps HCC numbers to keys; -1 = no key).
// Returns 0, or -1 when the keys do not fit (the host grows them and calls again).
export const MC_N: i32 = 0;
export const MC_MODEL: i32 = 1; // pack model index
export const MC_OUT_MODEL_F64: i32 = 2; // scoreBatch's D_OUT_MODEL_F64
export const MC_OUT_MODEL_I32: i32 = 3; // scoreBatch's D_OUT_MODEL_I32
export const MC_HCC: i32 = 4; // scoreBatch's D_OUT_HCC
export const MC_ERRORED: i32 = 5; // u8[n]: 1 = null scores and segment
export const MC_KEY_OF: i32 = 6; // i32[MC_KEY_OF_LEN]: HCC number → dictionary key, -1 = none
export const MC_KEY_OF_LEN: i32 = 7;
export const MC_RAW: i32 = 8; // f64[n]
export const MC_NORM: i32 = 9; // f64[n]
export const MC_SEGMENT: i32 = 10; // i32[n] (0 where null)
export const MC_VALID: i32 = 11; // validity bitmap of the segment and the HCC list (zeroed by the kernel)
export const MC_LIST: i32 = 12; // i32[n + 1] into MC_KEYS
export const MC_KEYS: i32 = 13; // i32 per kept HCC
export const MC_KEYS_CAP: i32 = 14;
export const MC_NULLS: i32 = 15; // written by the kernel
export const MC_ITEMS: i32 = 16; // written by the kernel
export const NMCDESC: i32 = 20;

export const OPT_MCE: i32 = 1;
export const OPT_ROUND3: i32 = 2;
export const OPT_TRACE: i32 = 4;
// Factor mode (batch): emit only T_DX_CC (value = member index), T_HCC_TERM, T_VAR_TERM and
// T_DIVISOR (c = member index) records, for the risk_score_factors table.
export const OPT_FACTORS: i32 = 8;

// What-if records per member and model (one base record, then one per what-if): add each
// candidate alone, remove each kept HCC alone, add all the model's candidates together.
export const OPT_GAP_ADD: i32 = 16;
export const OPT_GAP_REMOVE: i32 = 32;
export const OPT_GAP_ALL: i32 = 64;
export const GAP_IN_STRIDE: i32 = 2;
export const GK_BASE: i32 = 0;
export const GK_ADD: i32 = 1;
export const GK_REMOVE: i32 = 2;
export const GK_ADD_ALL: i32 = 3; // risk/payment: every model's candidates added together
export const GAP_I_MEMBER: i32 = 0;
export const GAP_I_KIND: i32 = 1;
export const GAP_I_MODEL: i32 = 2;
export const GAP_I_HCC: i32 = 3; // HCC number added or removed; -1 base and add-all
export const GAP_I_DIFF_START: i32 = 4; // pool: +HCC kept only after, -HCC kept only before
export const GAP_I_DIFF_COUNT: i32 = 5;
export const GAP_I_VARS_START: i32 = 6; // pool: +(v+1) term variable on only after, -(v+1) only before
export const GAP_I_VARS_COUNT: i32 = 7;
export const GAP_I_STRIDE: i32 = 8;
export const GAP_F_RAW: i32 = 0; // the model's raw score (NaN: no segment)
export const GAP_F_NORMALIZED: i32 = 1; // NaN when the model is not in the member's blend
export const GAP_F_RISK: i32 = 2; // risk score of the population that blends the model
export const GAP_F_PAYMENT: i32 = 3;
export const GAP_F_STRIDE: i32 = 4;

export const OUT_RISK: i32 = 0; // normalized, blended Part C score
export const OUT_PAYMENT: i32 = 1; // after MA coding pattern adjustment
export const OUT_RX_RISK: i32 = 2; // normalized Part D score
export const NOUT_F: i32 = 3;

export const OUT_ERROR: i32 = 0;
export const OUT_FLAGS: i32 = 1;
export const OUT_DX_MALFORMED: i32 = 2;
export const OUT_DX_UNMAPPED: i32 = 3;
export const OUT_EDITS: i32 = 4;
export const OUT_AGE: i32 = 5;
// the population whose blend gave the Part C / Part D score (index into the pack's populations),
// -1 when none did (no population applies, a component model unscored or without a segment)
export const OUT_POP_C: i32 = 6;
export const OUT_POP_D: i32 = 7;
export const NOUT_I: i32 = 8;

export const ERR_NONE: i32 = 0;
export const ERR_AGE: i32 = 1;
export const ERR_SEX: i32 = 2;

export const FLAG_OREC_DEFAULT: i32 = 1;
export const FLAG_DUAL_DEFAULT: i32 = 2;
export const FLAG_RX_PLAN_DEFAULT: i32 = 4;
export const FLAG_DUAL_UNRECOGNISED: i32 = 8;
export const FLAG_NO_SEGMENT: i32 = 16; // a requested model had no segment for this member
export const FLAG_GRAFT_MONTHS_MISSING: i32 = 32;
export const FLAG_MODELS_INCOMPLETE: i32 = 64; // scored models do not cover the payment blend

// ---- trace records (explain mode): 4 x i32 + f64 = 24 bytes --------------------------------
export const TRACE_STRIDE: i32 = 24;
export const T_DX: i32 = 1; // a=dx index, b=code id (-1 unmapped, -2 malformed)
export const T_DX_CC: i32 = 2; // a=dx index, b=model, c=CC number; value 0 crosswalk, 1 edit
export const T_EDIT: i32 = 3; // a=dx index, b=model, c=edit index
export const T_PRE_ZERO: i32 = 4; // b=model, c=CC
export const T_HIER_DROP: i32 = 5; // a=parent CC, b=model, c=child CC
export const T_SEGMENT: i32 = 6; // b=model, c=segment
export const T_HCC_TERM: i32 = 7; // a=HCC number, b=model; value=coefficient
export const T_VAR_TERM: i32 = 8; // a=variable, b=model; value=coefficient
export const T_DIVISOR: i32 = 9; // a=variable, b=model; value=divisor
export const T_RAW: i32 = 10; // b=model; value=raw score
export const T_NORMALIZED: i32 = 11; // a=component, b=model, c=population; value=normalized
export const T_RISK: i32 = 12; // a=0 Part C, 1 Part D; c=population; value=risk score
export const T_PAYMENT: i32 = 13; // c=population; value=payment score
// factor mode only: a kept HCC in a segment that scores no HCCs (new enrollee, ESRD dialysis
// …): a=HCC number, b=model, c=member. In factor mode T_HIER_DROP carries the member as value.
export const T_HCC_UNSCORED: i32 = 14;

// ---- model pack header (i32 words at the pack base) ---------------------------------------
export const PK_MAGIC: i32 = 0x50434348; // "HCCP"
export const PK_VERSION: i32 = 7;
export const PH_MAGIC: i32 = 0;
export const PH_VERSION: i32 = 1;
export const PH_N_MODELS: i32 = 2;
export const PH_HASH_CAP: i32 = 3;
// cap slots of 16 bytes: u64 key, i32 code id, i32 model bits (bit m: model m maps or edits it),
// in 64-byte aligned buckets of HASH_BUCKET_SLOTS filled in order (dx-to-cc.ts findCodeSlot)
export const PH_HASH_KEYS: i32 = 4;
export const HASH_BUCKET_SLOTS: i32 = 4;
export const PH_HASH_VALS: i32 = 5; // unused (0): ids live in the key slots
export const PH_N_CODES: i32 = 6;
export const PH_MODEL_DIR: i32 = 7; // i32[nModels] byte offsets of model blocks
export const PH_POPS: i32 = 8; // byte offset of the population block
export const PH_MACI: i32 = 9; // byte offset of f64 MA coding pattern adjustment
export const NPH: i32 = 16;

// model block (i32 words)
export const MB_N_CC: i32 = 0;
export const MB_CC_NUM: i32 = 1;
export const MB_CODE_ROWS: i32 = 2; // 4 i32 per code id: ccStart, ccEnd, editStart, editEnd
export const MB_CC_LIST: i32 = 3;
export const MB_HIER_RULE_OF: i32 = 4; // i32[nCC]: hierarchy rule whose parent is the CC, or -1
export const MB_EDITS: i32 = 5; // 5 i32 each: clauseStart, clauseCount, action, cc, mce
export const MB_CLAUSES: i32 = 6; // 3 i32 each: value index, lo, hi
export const MB_N_PRE: i32 = 7;
export const MB_PRE: i32 = 8; // 3 i32 each: target, listStart, listCount (0 = always)
export const MB_INT_POOL: i32 = 9;
export const MB_N_HIER: i32 = 10;
export const MB_HIER: i32 = 11; // 3 i32 each: parent, childStart, childCount
export const MB_GROUP_MASK: i32 = 12; // u64[nCC]
export const MB_N_VARS: i32 = 13;
export const MB_VARS: i32 = 14; // 4 i32 each: maskLo, maskHi, clauseStart, clauseCount
export const MB_N_SEGS: i32 = 15;
export const MB_SEGS: i32 = 16; // SEG_STRIDE i32 each
export const MB_TERM_VAR: i32 = 17; // i32 pool
export const MB_TERM_COEF: i32 = 18; // f64 pool
export const MB_TERM_NEXT: i32 = 19; // i32 pool: term to continue at after term t matched
export const MB_DISPATCH: i32 = 20; // i32 pool of dispatch records (src/engine/dispatch.ts)
export const MB_SEG_DISPATCH: i32 = 21; // word index of the segment-selection record, or -1
export const MB_TERM_DISPATCH: i32 = 22; // i32 per term: record for the family run starting there, or -1
export const NMB: i32 = 24;

export const SEG_SEL_START: i32 = 0;
export const SEG_SEL_COUNT: i32 = 1;
export const SEG_USES_HCCS: i32 = 2;
export const SEG_HCC_COEF: i32 = 3; // byte offset of f64[nCC]
export const SEG_TERM_START: i32 = 4;
export const SEG_TERM_COUNT: i32 = 5;
export const SEG_DIV_START: i32 = 6;
export const SEG_DIV_COUNT: i32 = 7;
export const SEG_STRIDE: i32 = 8;

// population block: i32 nPops, then POP_STRIDE i32 each; components COMP_STRIDE i32 each;
// NF rules NF_STRIDE i32 each (nf as f64 in the f64 pool); all pools follow.
export const PB_N_POPS: i32 = 0;
export const PB_POPS: i32 = 1; // byte offset
export const PB_COMPS: i32 = 2;
export const PB_NF_RULES: i32 = 3;
export const PB_CLAUSES: i32 = 4;
export const PB_F64: i32 = 5;
export const PB_DISPATCH: i32 = 6; // i32 pool: [record of Part C, of Part D] (word index or -1), records
export const NPB: i32 = 8;
export const POP_PART: i32 = 0; // 0 Part C, 1 Part D
export const POP_SEL_START: i32 = 1;
export const POP_SEL_COUNT: i32 = 2;
export const POP_COMP_START: i32 = 3;
export const POP_COMP_COUNT: i32 = 4;
export const POP_MACI_IDX: i32 = 5; // index into f64 pool
export const POP_STRIDE: i32 = 6;
export const COMP_MODEL: i32 = 0;
export const COMP_WEIGHT_IDX: i32 = 1;
export const COMP_NF_START: i32 = 2;
export const COMP_NF_COUNT: i32 = 3;
export const COMP_STRIDE: i32 = 4;
export const NF_SEL_START: i32 = 0;
export const NF_SEL_COUNT: i32 = 1;
export const NF_SEG_MASK_LO: i32 = 2;
export const NF_SEG_MASK_HI: i32 = 3;
export const NF_VALUE_IDX: i32 = 4;
export const NF_STRIDE: i32 = 5;
