// CCYYMMDD / ISO dates ↔ days since 1970-01-01 (UTC), validated, without Date objects per value.

const DAYS_BEFORE_MONTH = [0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334];
const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

function isLeap(y: number): boolean {
  return (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0;
}

/** Days since 1970-01-01 for a valid y-m-d, else null. */
export function daysFromYmd(y: number, m: number, d: number): number | null {
  if (!(y >= 1900 && y <= 2199 && m >= 1 && m <= 12 && d >= 1)) return null;
  const dim = m === 2 ? (isLeap(y) ? 29 : 28) : DAYS_IN_MONTH[m - 1]!;
  if (d > dim) return null;
  const y1 = y - 1;
  const days = y1 * 365 + Math.floor(y1 / 4) - Math.floor(y1 / 100) + Math.floor(y1 / 400);
  const epoch = 1969 * 365 + Math.floor(1969 / 4) - Math.floor(1969 / 100) + Math.floor(1969 / 400);
  return days - epoch + DAYS_BEFORE_MONTH[m - 1]! + (m > 2 && isLeap(y) ? 1 : 0) + d - 1;
}

/** The number the ASCII digits s[from, to) spell, or -1 when one of them is not a digit. */
function digitsIn(s: string, from: number, to: number): number {
  let v = 0;
  for (let i = from; i < to; i++) {
    const c = s.charCodeAt(i) - 48;
    if (c < 0 || c > 9) return -1;
    v = v * 10 + c;
  }
  return v;
}

/** "CCYYMMDD" → days, else null. */
export function parseCcyymmdd(s: string): number | null {
  if (s.length !== 8) return null;
  const v = digitsIn(s, 0, 8);
  return v < 0 ? null : daysFromYmd(Math.floor(v / 10000), Math.floor(v / 100) % 100, v % 100);
}

/**
 * "YYYY-MM-DD" (optionally followed by a time: "T…") → days, else null. Read by character codes,
 * as /^(\d{4})-(\d{2})-(\d{2})(?:$|T)/ would (the regex was 5% of an EOB file's parse).
 */
export function parseIsoDate(s: string): number | null {
  if (s.length < 10 || (s.length > 10 && s.charCodeAt(10) !== 84) || s.charCodeAt(4) !== 45 || s.charCodeAt(7) !== 45)
    return null;
  const y = digitsIn(s, 0, 4);
  const m = digitsIn(s, 5, 7);
  const d = digitsIn(s, 8, 10);
  return y < 0 || m < 0 || d < 0 ? null : daysFromYmd(y, m, d);
}

// claims repeat a few thousand distinct dates: format each once (a Date per value is the hot cost)
const formatted = new Map<number, string>();

/** days → "YYYY-MM-DD". */
export function formatDays(days: number): string {
  let s = formatted.get(days);
  if (s === undefined) {
    s = new Date(days * 86_400_000).toISOString().slice(0, 10);
    if (formatted.size < 200_000) formatted.set(days, s);
  }
  return s;
}

/** The calendar year of a day number. */
export function yearOfDays(days: number): number {
  return Number(formatDays(days).slice(0, 4));
}
