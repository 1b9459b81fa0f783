// CMS step: demographic inputs → the value vector (cms-algorithm.md §1.1, §1.5, §2.1).
// Age as of DATE_ASOF (Feb 1 of the payment year), DISABL, ORIGDS, dual class, Medicaid.
import {
  IN_AGE, IN_DOB_DAYS, IN_SEX, IN_OREC, IN_CREC, IN_DUAL, IN_MEDICAID, IN_LTI, IN_NE, IN_SNP,
  IN_LOW_INCOME, IN_ESRD, IN_GRAFT_MONTHS, IN_RX_PLAN, IN_PACE,
  V_AGE, V_AGE_NE, V_SEX, V_OREC, V_CREC, V_DUAL, V_MEDICAID, V_LTI, V_NE, V_SNP, V_LOW_INCOME,
  V_ESRD, V_GRAFT_MONTHS, V_RX_PLAN, V_PACE, V_DISABL, V_ORIGDS, V_COUNT,
  ERR_NONE, ERR_AGE, ERR_SEX,
  FLAG_OREC_DEFAULT, FLAG_DUAL_DEFAULT, FLAG_RX_PLAN_DEFAULT, FLAG_DUAL_UNRECOGNISED,
  FLAG_GRAFT_MONTHS_MISSING,
} from "./layout";

// Civil date from days since 1970-01-01 (proleptic Gregorian), packed as y*10000+m*100+d.
function civilFromDays(z0: i32): i32 {
  const z = z0 + 719468;
  const era = (z >= 0 ? z : z - 146096) / 146097;
  const doe = z - era * 146097;
  const yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const mp = (5 * doy + 2) / 153;
  const d = doy - (153 * mp + 2) / 5 + 1;
  const m = mp < 10 ? mp + 3 : mp - 9;
  const y = yoe + era * 400 + (m <= 2 ? 1 : 0);
  return y * 10000 + m * 100 + d;
}

// Days since 1970-01-01 of a civil date (the inverse of civilFromDays).
function daysFromCivil(y0: i32, m: i32, d: i32): i32 {
  const y = m <= 2 ? y0 - 1 : y0;
  const era = (y >= 0 ? y : y - 399) / 400;
  const yoe = y - era * 400;
  const mp = m > 2 ? m - 3 : m + 9;
  const doy = (153 * mp + 2) / 5 + d - 1;
  const doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

function daysInMonth(y: i32, m: i32): i32 {
  if (m == 2) return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 ? 29 : 28;
  return m == 4 || m == 6 || m == 9 || m == 11 ? 30 : 31;
}

// AGEF as completed months / 12 (SAS-V28 l.358–360) is at least k exactly when the birth date
// is on or before (asOfYear − k, asOfMonth, asOfDay) compared field by field, i.e. on or before
// the last valid date not after it. thresholds[k] holds that date in days for k = 0..AGE_CAP,
// built once per as-of date; an age is then a short walk from an estimate instead of a civil
// date conversion with a dozen divisions per member. Ages above AGE_CAP - 1 are errors.
const AGE_CAP: i32 = 131;
const thresholds = memory.data((AGE_CAP + 1) * 4, 16);
let thresholdsAsOf: i32 = I32.MIN_VALUE;

function buildThresholds(asOfDays: i32): void {
  const a = civilFromDays(asOfDays);
  const ay = a / 10000, am = (a / 100) % 100, ad = a % 100;
  for (let k = 0; k <= AGE_CAP; k++) {
    const dim = daysInMonth(ay - k, am);
    store<i32>(thresholds + (<usize>k << 2), daysFromCivil(ay - k, am, ad < dim ? ad : dim));
  }
  thresholdsAsOf = asOfDays;
}

/** AGEF: completed years from birth to the as-of date (SAS-V28 l.358–360), capped at AGE_CAP. */
export function ageAsOf(dobDays: i32, asOfDays: i32): i32 {
  if (dobDays > asOfDays) return 0;
  if (asOfDays != thresholdsAsOf) buildThresholds(asOfDays);
  const est = ((<i64>asOfDays - <i64>dobDays) * 4) / 1461; // ≈ days / 365.25
  let k = <i32>(est > <i64>AGE_CAP ? <i64>AGE_CAP : est);
  while (k > 0 && dobDays > load<i32>(thresholds + (<usize>k << 2))) k--;
  while (k < AGE_CAP && dobDays <= load<i32>(thresholds + (<usize>(k + 1) << 2))) k++;
  return k;
}

// Dual eligibility code → 0 non-dual, 1 partial benefit (01, 03, 05, 06), 2 full (02, 04, 08).
function dualClass(code: i32): i32 {
  if (code == 2 || code == 4 || code == 8) return 2;
  if (code == 1 || code == 3 || code == 5 || code == 6) return 1;
  return 0;
}

/**
 * Fill `vals` (i32[NVAL]) from one member's input record. Returns the error code; member flags
 * are OR-ed into the word at `flagsPtr`, and the age used at `agePtr`.
 */
export function deriveValues(inp: usize, asOfDays: i32, vals: usize, flagsPtr: usize, agePtr: usize): i32 {
  let flags = load<i32>(flagsPtr);
  let age = load<i32>(inp + (<usize>IN_AGE << 2));
  if (age < 0) {
    const dob = load<i32>(inp + (<usize>IN_DOB_DAYS << 2));
    if (dob == I32.MIN_VALUE) return ERR_AGE;
    if (dob > asOfDays) return ERR_AGE; // born after the as-of date
    age = ageAsOf(dob, asOfDays);
  }
  if (age > 130) return ERR_AGE;
  store<i32>(agePtr, age);
  const sex = load<i32>(inp + (<usize>IN_SEX << 2));
  if (sex != 1 && sex != 2) return ERR_SEX;
  let orec = load<i32>(inp + (<usize>IN_OREC << 2));
  if (orec < 0 || orec > 3) {
    orec = 0;
    flags |= FLAG_OREC_DEFAULT;
  }
  let crec = load<i32>(inp + (<usize>IN_CREC << 2));
  if (crec < 0 || crec > 3) crec = orec;
  let dual = load<i32>(inp + (<usize>IN_DUAL << 2));
  if (dual < 0) {
    dual = 0;
    flags |= FLAG_DUAL_DEFAULT;
  } else if (dual > 10) {
    dual = 0;
    flags |= FLAG_DUAL_UNRECOGNISED;
  }
  const dc = dualClass(dual);
  let medicaid = load<i32>(inp + (<usize>IN_MEDICAID << 2));
  if (medicaid < 0) medicaid = dc != 0 ? 1 : 0;
  let rxPlan = load<i32>(inp + (<usize>IN_RX_PLAN << 2));
  if (rxPlan < 0) {
    rxPlan = 0;
    flags |= FLAG_RX_PLAN_DEFAULT;
  }
  const esrd = load<i32>(inp + (<usize>IN_ESRD << 2));
  const graftMonths = load<i32>(inp + (<usize>IN_GRAFT_MONTHS << 2));
  if ((esrd == 2 || esrd == 3) && graftMonths < 0) flags |= FLAG_GRAFT_MONTHS_MISSING;
  const disabl: i32 = age < 65 && orec != 0 ? 1 : 0;
  store<i32>(vals + (<usize>V_AGE << 2), age);
  store<i32>(vals + (<usize>V_AGE_NE << 2), age == 64 && orec == 0 ? 65 : age);
  store<i32>(vals + (<usize>V_SEX << 2), sex);
  store<i32>(vals + (<usize>V_OREC << 2), orec);
  store<i32>(vals + (<usize>V_CREC << 2), crec);
  store<i32>(vals + (<usize>V_DUAL << 2), dc);
  store<i32>(vals + (<usize>V_MEDICAID << 2), medicaid != 0 ? 1 : 0);
  store<i32>(vals + (<usize>V_LTI << 2), load<i32>(inp + (<usize>IN_LTI << 2)) != 0 ? 1 : 0);
  store<i32>(vals + (<usize>V_NE << 2), load<i32>(inp + (<usize>IN_NE << 2)) != 0 ? 1 : 0);
  store<i32>(vals + (<usize>V_SNP << 2), load<i32>(inp + (<usize>IN_SNP << 2)) != 0 ? 1 : 0);
  store<i32>(vals + (<usize>V_LOW_INCOME << 2), load<i32>(inp + (<usize>IN_LOW_INCOME << 2)) != 0 ? 1 : 0);
  store<i32>(vals + (<usize>V_ESRD << 2), esrd);
  store<i32>(vals + (<usize>V_GRAFT_MONTHS << 2), graftMonths);
  store<i32>(vals + (<usize>V_RX_PLAN << 2), rxPlan);
  store<i32>(vals + (<usize>V_PACE << 2), load<i32>(inp + (<usize>IN_PACE << 2)) != 0 ? 1 : 0);
  store<i32>(vals + (<usize>V_DISABL << 2), disabl);
  store<i32>(vals + (<usize>V_ORIGDS << 2), orec == 1 && disabl == 0 ? 1 : 0);
  store<i32>(vals + (<usize>V_COUNT << 2), 0);
  store<i32>(flagsPtr, flags);
  return ERR_NONE;
}
