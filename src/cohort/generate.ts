// Seeded synthetic Medicare Advantage cohort for benchmarks and large-scale tests. Pure: no I/O,
// no Math.random; the caller supplies the code-weight list (buildCodeWeights turns a year's
// crosswalk.tsv text into one). No real PHI: ids are sequence numbers, dates are drawn.
//
// Determinism: member i is drawn from its own mulberry32 stream seeded by mix(seed, i), so the
// output depends only on (seed, paymentYear, codes, i): chunk size never changes it, and any
// member can be regenerated alone (generateMember).
//
// Distribution choices (rough public shapes of an MA book, not calibrated to any plan's data):
// - Age (completed years on 1 Feb of the payment year, as CMS measures it): 12% under 65
//   (entitled by disability, 25–64 skewed to 50–64); 65–69 26%, 70–74 24%, 75–79 18%,
//   80–84 11%, 85–89 6%, 90–94 2.5%, 95–104 0.5%. Uniform within a band.
// - Sex: under 65 52% M; 65–74 46% M, 75–84 43% M, 85+ 36% M (women outlive men).
// - OREC: under 65 → 1 (disabled) 97%, 2 (ESRD) 2%, 3 (both) 1%; 65+ → 0 95%, 1 4.4%, 2 0.4%,
//   3 0.2%. Overall ≈ 84% 0, 15% 1, 1% 2/3.
// - dual_elgbl_cd: duals are 45% of under-65 and 15% of 65+ members (≈ 20% overall); of duals
//   65% full benefit (02, 04, 08) and 35% partial (01, 03, 05, 06); 1% of members have no code
//   (null: the engine's dual default); the rest 00.
// - LTI (institutional): 2% under 85, 9% at 85+, doubled for full duals (≈ 3% overall).
// - new_enrollee: 60% at age 65, 10% at 66, 1% otherwise (≈ 5%). SNP: 35% of full duals
//   (D-SNP), 2% of others (C-SNP/I-SNP).
// - Diagnosis count (distinct codes): 5% of members have none (2% if LTI); the rest draw
//   lognormal(mu, 0.8) scaled by a burden factor (older, dual, LTI, disabled → more codes),
//   rounded, 1..250. The mean is ≈ 12; about 1% of members have 60+.
// - Codes: weighted draws without repetition from the caller's list (alias method). With
//   buildCodeWeights, common chronic codes dominate (weights roughly follow prevalence in
//   Medicare: I10, E78.5, E11.9, N18.3x, I50.x, J44.9, F32.x, …), about 3 draws in 4 map to no
//   V28 HCC, and every other crosswalk code forms a long tail (≈ 4% of draws, per-code weight
//   spread ×0.25–4). Tuned so a member has ≈ 1.8 V28 payment HCCs and a mean risk score ≈ 1.1.
// - Code spelling: 8% dotted ("E11.9"), 2% lowercase, 1% an unknown but well-formed code
//   (U8xx: reserved, in no crosswalk), 0.3% malformed (empty, too short/long, punctuation,
//   non-ASCII, blank-padded).

export interface CodeWeight {
  /** ICD-10-CM code without a dot, upper case (e.g. "E119"). */
  code: string;
  /** Relative draw weight (> 0). */
  weight: number;
}

export interface CohortOptions {
  members: number;
  seed: number;
  paymentYear: number;
  codes: readonly CodeWeight[];
  /** Members per yielded array (default 8192). Does not change the members generated. */
  chunkSize?: number;
}

/** One synthetic member: the engine's and the oracle's input fields (docs/input-format.md). */
export interface CohortMember {
  member_id: string;
  birth_date: string;
  age: number;
  sex: "M" | "F";
  orec: string;
  dual_elgbl_cd: string | null;
  lti: boolean;
  new_enrollee: boolean;
  snp: boolean;
  diagnosis_codes: string[];
}

// ---------------------------------------------------------------------------------------------
// PRNG

function mix32(x: number): number {
  x = Math.imul(x ^ (x >>> 16), 0x85ebca6b);
  x = Math.imul(x ^ (x >>> 13), 0xc2b2ae35);
  return (x ^ (x >>> 16)) >>> 0;
}

/** mulberry32: small, fast, good enough for synthetic data. */
class Rng {
  private s: number;
  constructor(seed: number) {
    this.s = seed >>> 0;
  }
  next(): number {
    this.s = (this.s + 0x6d2b79f5) >>> 0;
    let t = this.s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
  normal(): number {
    const u = 1 - this.next();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * this.next());
  }
  pick<T>(xs: readonly T[]): T {
    return xs[this.int(xs.length)] as T;
  }
}

// ---------------------------------------------------------------------------------------------
// Weighted sampling (Vose's alias method: O(1) per draw)

interface Alias {
  prob: Float64Array;
  alias: Int32Array;
  codes: readonly string[];
}

function buildAlias(weights: readonly CodeWeight[]): Alias {
  const n = weights.length;
  if (n === 0) throw new RangeError("generateCohort: codes is empty");
  let total = 0;
  for (const w of weights) {
    if (!(w.weight > 0) || !Number.isFinite(w.weight)) throw new RangeError(`generateCohort: weight of ${w.code} must be > 0`);
    total += w.weight;
  }
  const prob = new Float64Array(n);
  const alias = new Int32Array(n);
  const scaled = weights.map((w) => (w.weight * n) / total);
  const small: number[] = [];
  const large: number[] = [];
  scaled.forEach((p, i) => (p < 1 ? small : large).push(i));
  while (small.length > 0 && large.length > 0) {
    const s = small.pop() as number;
    const l = large.pop() as number;
    prob[s] = scaled[s] as number;
    alias[s] = l;
    scaled[l] = (scaled[l] as number) + (scaled[s] as number) - 1;
    (scaled[l] < 1 ? small : large).push(l);
  }
  for (const i of [...small, ...large]) prob[i] = 1;
  return { prob, alias, codes: weights.map((w) => w.code) };
}

function drawCode(a: Alias, rng: Rng): string {
  const i = rng.int(a.prob.length);
  return (rng.next() < (a.prob[i] as number) ? a.codes[i] : a.codes[a.alias[i] as number]) as string;
}

// ---------------------------------------------------------------------------------------------
// Demographics

// [lowest age, highest age, share]
// prettier-ignore
const AGE_BANDS: readonly (readonly [number, number, number])[] = [
  [25, 49, 0.035],
  [50, 64, 0.085],
  [65, 69, 0.26],
  [70, 74, 0.24],
  [75, 79, 0.18],
  [80, 84, 0.11],
  [85, 89, 0.06],
  [90, 94, 0.025],
  [95, 104, 0.005],
];
const FULL_DUAL = ["02", "04", "08"] as const;
const PARTIAL_DUAL = ["01", "03", "05", "06"] as const;

function drawAge(rng: Rng): number {
  let u = rng.next();
  for (const [lo, hi, p] of AGE_BANDS) {
    if (u < p) return lo + rng.int(hi - lo + 1);
    u -= p;
  }
  return 70;
}

/** Days since 1970-01-01 → "YYYY-MM-DD" (proleptic Gregorian; Hinnant's civil_from_days). */
export function formatDays(days: number): string {
  const z = days + 719468;
  const era = Math.floor(z / 146097);
  const doe = z - era * 146097;
  const yoe = Math.floor((doe - Math.floor(doe / 1460) + Math.floor(doe / 36524) - Math.floor(doe / 146096)) / 365);
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const d = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const m = mp < 10 ? mp + 3 : mp - 9;
  const y = yoe + era * 400 + (m <= 2 ? 1 : 0);
  return `${String(y).padStart(4, "0")}-${m < 10 ? "0" : ""}${m}-${d < 10 ? "0" : ""}${d}`;
}

const daysOf = (y: number, m: number, d: number): number => Date.UTC(y, m - 1, d) / 86400000;

/** A birth date on which the member is exactly `age` (completed years) on 1 Feb of `paymentYear`. */
function drawBirthDays(age: number, paymentYear: number, rng: Rng): number {
  const first = daysOf(paymentYear - age - 1, 2, 2); // turns age+1 on 2 Feb: still `age` on 1 Feb
  const last = daysOf(paymentYear - age, 2, 1); // turns `age` exactly on 1 Feb
  return first + rng.int(last - first + 1);
}

// ---------------------------------------------------------------------------------------------
// Diagnosis codes

const P_DOTTED = 0.08;
const P_LOWER = 0.02;
const P_UNKNOWN = 0.01;
const P_MALFORMED = 0.003;
const MALFORMED = ["", "E1", "E11-9", "E11.9;", "N/A", "1234567890", "I10 X!", "\u00c9119", "ZZZZZZZZ", " E119 "];
const LOGN_SIGMA = 0.8;
// mean of the nonzero count is exp(mu + sigma²/2) × E[burden] ≈ 12.6, so the overall mean ≈ 12
const LOGN_MU = Math.log(12) - (LOGN_SIGMA * LOGN_SIGMA) / 2;
const MAX_CODES = 250;

function spell(code: string, rng: Rng): string {
  const u = rng.next();
  if (u < P_MALFORMED) return rng.pick(MALFORMED);
  if (u < P_MALFORMED + P_UNKNOWN) return `U8${rng.int(10)}${rng.int(10)}`;
  let s = code;
  if (rng.chance(P_DOTTED) && s.length > 3) s = `${s.slice(0, 3)}.${s.slice(3)}`;
  if (rng.chance(P_LOWER)) s = s.toLowerCase();
  return s;
}

function drawCodeCount(rng: Rng, burden: number, lti: boolean): number {
  if (rng.chance(lti ? 0.02 : 0.05)) return 0;
  const n = Math.round(Math.exp(LOGN_MU + LOGN_SIGMA * rng.normal()) * burden);
  return Math.min(MAX_CODES, Math.max(1, n));
}

function drawCodes(a: Alias, rng: Rng, count: number): string[] {
  const seen = new Set<string>();
  const out: string[] = [];
  // without repetition; the attempt cap only matters for a list smaller than `count`
  for (let tries = 0; out.length < count && tries < count * 20; tries++) {
    const c = drawCode(a, rng);
    if (seen.has(c)) continue;
    seen.add(c);
    out.push(spell(c, rng));
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Members

/** Sampling state shared by every member of a cohort (built once per generateCohort call). */
export interface CohortContext {
  seed: number;
  paymentYear: number;
  alias: Alias;
}

export function buildCohortContext(opts: Pick<CohortOptions, "seed" | "paymentYear" | "codes">): CohortContext {
  if (!Number.isInteger(opts.seed)) throw new RangeError("generateCohort: seed must be an integer");
  if (!Number.isInteger(opts.paymentYear)) throw new RangeError("generateCohort: paymentYear must be an integer");
  return { seed: opts.seed >>> 0, paymentYear: opts.paymentYear, alias: buildAlias(opts.codes) };
}

/** "M000000123" for index 122 (0-based). */
export function formatMemberId(index: number): string {
  return `M${String(index + 1).padStart(9, "0")}`;
}

/** Member `index` of the cohort described by `ctx`; independent of every other member. */
export function generateMember(ctx: CohortContext, index: number): CohortMember {
  const rng = new Rng(mix32((Math.imul(index, 0x9e3779b1) ^ mix32(ctx.seed ^ 0x5bd1e995)) >>> 0));
  const age = drawAge(rng);
  const under65 = age < 65;
  const pMale = under65 ? 0.52 : age < 75 ? 0.46 : age < 85 ? 0.43 : 0.36;
  const sex = rng.chance(pMale) ? "M" : "F";
  const uo = rng.next();
  const orec = under65 ? (uo < 0.97 ? "1" : uo < 0.99 ? "2" : "3") : uo < 0.95 ? "0" : uo < 0.994 ? "1" : uo < 0.998 ? "2" : "3";
  let dual: string | null = "00";
  let fullDual = false;
  if (rng.chance(0.01)) dual = null;
  else if (rng.chance(under65 ? 0.45 : 0.15)) {
    fullDual = rng.chance(0.65);
    dual = fullDual ? rng.pick(FULL_DUAL) : rng.pick(PARTIAL_DUAL);
  }
  const lti = rng.chance((age >= 85 ? 0.09 : 0.02) * (fullDual ? 2 : 1));
  const newEnrollee = rng.chance(age === 65 ? 0.6 : age === 66 ? 0.1 : 0.01);
  const snp = rng.chance(fullDual ? 0.35 : 0.02);
  const burden =
    (age >= 85 ? 1.25 : age >= 75 ? 1.1 : under65 ? 1.05 : 0.9) * (dual !== null && dual !== "00" ? 1.15 : 1) * (lti ? 1.5 : 1);
  const nCodes = drawCodeCount(rng, burden, lti);
  return {
    member_id: formatMemberId(index),
    birth_date: formatDays(drawBirthDays(age, ctx.paymentYear, rng)),
    age,
    sex,
    orec,
    dual_elgbl_cd: dual,
    lti,
    new_enrollee: newEnrollee,
    snp,
    diagnosis_codes: drawCodes(ctx.alias, rng, nCodes),
  };
}

/** The cohort in chunks of `chunkSize` members, so large cohorts never sit in memory at once. */
export function* generateCohort(opts: CohortOptions): Generator<CohortMember[], void, undefined> {
  const chunkSize = opts.chunkSize ?? 8192;
  if (!Number.isInteger(opts.members) || opts.members < 0) throw new RangeError("generateCohort: members must be a whole number");
  if (!Number.isInteger(chunkSize) || chunkSize < 1) throw new RangeError("generateCohort: chunkSize must be ≥ 1");
  const ctx = buildCohortContext(opts);
  for (let start = 0; start < opts.members; start += chunkSize) {
    const end = Math.min(opts.members, start + chunkSize);
    const chunk: CohortMember[] = new Array<CohortMember>(end - start);
    for (let i = start; i < end; i++) chunk[i - start] = generateMember(ctx, i);
    yield chunk;
  }
}

// ---------------------------------------------------------------------------------------------
// Code weights

// Common codes that map to a payment HCC in V28 (PY2026), weight ≈ % of Medicare members with
// the code in a year. Codes missing from the given crosswalk are left out (buildCodeWeights).
// prettier-ignore
const COMMON_HCC: readonly (readonly [string, number])[] = [
  ["E119", 9], ["E1122", 3.5], ["E1165", 3], ["E1140", 1], ["E1142", 1], ["E1151", 0.6], ["E1169", 1],
  ["Z794", 3], ["N1830", 3], ["N1831", 2.5], ["N1832", 2], ["N184", 1.2], ["N185", 0.4],
  ["I5022", 1], ["I5032", 1.5], ["I5042", 0.6], ["I509", 2], ["I110", 1.5], ["I130", 1],
  ["J449", 6], ["J441", 1.2], ["I480", 1], ["I4891", 3.5], ["I4820", 0.6], ["I4821", 1],
  ["F331", 1.5], ["F332", 1], ["F319", 0.7], ["F200", 0.4], ["F250", 0.4], ["F1020", 0.6],
  ["E6601", 2], ["Z6841", 1], ["G309", 1], ["F0390", 1.5], ["F03A0", 0.5], ["G20A1", 1],
  ["G35", 0.3], ["M069", 2], ["M0579", 0.3], ["C61", 2], ["C50911", 1.2], ["C3490", 0.6],
  ["C189", 0.4], ["I2699", 0.5], ["I82409", 0.7], ["J9611", 0.6], ["J84112", 0.3], ["I2720", 1],
  ["I639", 0.6], ["I69351", 0.4], ["L89154", 0.3], ["Z89511", 0.2], ["G40909", 0.8], ["K7030", 0.2],
  ["K5090", 0.3], ["K5190", 0.3], ["E1110", 0.2], ["I4729", 0.5], ["I495", 0.5], ["I442", 0.3],
  ["J42", 1], ["F0280", 0.5], ["K7460", 0.5], ["S72001A", 0.3], ["S32000A", 0.2],
];

// Common codes that map to no V28 HCC (hypertension without complications, lipids, screening,
// symptoms, musculoskeletal, eyes, the depression codes V28 dropped, ...).
// prettier-ignore
const COMMON_NON_HCC: readonly (readonly [string, number])[] = [
  ["I10", 55], ["E785", 40], ["E782", 6], ["E039", 14], ["Z0000", 10], ["Z0001", 8], ["Z23", 25],
  ["Z1231", 10], ["Z1211", 4], ["Z79899", 30], ["Z7982", 12], ["Z7901", 6], ["Z7984", 4], ["Z87891", 12],
  ["Z8673", 3], ["Z9181", 3], ["Z955", 3], ["Z950", 1.5], ["R739", 8], ["R7303", 6], ["E559", 12],
  ["K219", 18], ["N400", 10], ["N390", 6], ["R3915", 3], ["N3281", 2], ["M170", 6], ["M1711", 3],
  ["M1990", 4], ["M5450", 10], ["M542", 5], ["M25561", 4], ["M79604", 2], ["M810", 9],
  ["M797", 3], ["G4733", 10], ["G4700", 5], ["G629", 3], ["G8929", 4], ["R42", 4], ["R531", 3],
  ["R5383", 6], ["R0600", 3], ["R0602", 5], ["R079", 4], ["R109", 3],
  ["R051", 2], ["R0989", 1], ["R296", 3], ["R2681", 3], ["R269", 3], ["R609", 3], ["R945", 2],
  ["D649", 9], ["D631", 1], ["D509", 4], ["D518", 1], ["E876", 2], ["E871", 2], ["E8881", 1],
  ["H2513", 7], ["H2511", 3], ["H401190", 1], ["H4011X0", 3], ["H353130", 2], ["H5213", 4], ["H9193", 4],
  ["F329", 7], ["F32A", 4], ["F411", 9], ["F419", 6], ["F17210", 5], ["G3184", 2],
  ["I2510", 14], ["I252", 3], ["I739", 4], ["I7389", 0.5], ["I872", 2], ["I8393", 1], ["I951", 1],
  ["J309", 4], ["J329", 2], ["J069", 5], ["J189", 3], ["J40", 2], ["J45909", 5],
  ["K5900", 5], ["K579", 3], ["K5730", 3], ["K760", 4], ["K449", 3], ["K635", 1],
  ["L03115", 1], ["L570", 3], ["L821", 3], ["L600", 2], ["B351", 2], ["B353", 1], ["L308", 1],
  ["N179", 2], ["N189", 2], ["N2581", 0.5], ["N952", 1], ["N3000", 2], ["N401", 3], ["N281", 1],
  ["E669", 8], ["E6609", 1], ["Z6830", 3], ["Z6835", 2], ["E538", 2], ["E611", 0.3],
  ["C44311", 1], ["D225", 1], ["D0439", 0.5], ["Z85828", 2], ["Z853", 2], ["Z8546", 1.5], ["Z96651", 2],
  ["Z96641", 1.5], ["Z9889", 1], ["Z9049", 1], ["Z1331", 2], ["Z139", 1], ["Z7189", 1], ["Z7689", 1],
  ["Z471", 1], ["Z4889", 0.5], ["Z9981", 0.5], ["Z66", 0.3], ["Z515", 0.3], ["R627", 0.3], ["R636", 0.3],
  ["W19XXXA", 2], ["S0990XA", 0.5], ["T148XXA", 0.5], ["Y92009", 0.5],
];

const LONG_TAIL_SHARE = 0.04;

function hash32(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return mix32(h >>> 0);
}

/**
 * Code weights for generateCohort from a crosswalk.tsv (`code<TAB>cc`, header row) text: the
 * common HCC and non-HCC codes above at their weights, and every other crosswalk code as a long
 * tail holding LONG_TAIL_SHARE of the draws (per-code weight spread ×0.25–4 by a hash of the code).
 */
export function buildCodeWeights(crosswalkTsv: string): CodeWeight[] {
  const crosswalk = new Set<string>();
  for (const line of crosswalkTsv.split("\n").slice(1)) {
    const code = line.split("\t")[0]?.trim().toUpperCase().replace(".", "");
    if (code) crosswalk.add(code);
  }
  const weights = new Map<string, number>();
  for (const [code, w] of COMMON_NON_HCC) weights.set(code, w);
  for (const [code, w] of COMMON_HCC) if (crosswalk.has(code)) weights.set(code, Math.max(w, weights.get(code) ?? 0));
  let common = 0;
  for (const w of weights.values()) common += w;
  const tail = [...crosswalk].filter((c) => !weights.has(c));
  const spread = tail.map((c) => 0.25 * 16 ** ((hash32(c) % 1000) / 999));
  const spreadSum = spread.reduce((a, b) => a + b, 0);
  const tailMass = (common * LONG_TAIL_SHARE) / (1 - LONG_TAIL_SHARE);
  const out: CodeWeight[] = [...weights].map(([code, weight]) => ({ code, weight }));
  tail.forEach((code, i) => out.push({ code, weight: ((spread[i] as number) * tailMass) / spreadSum }));
  return out;
}
