// Change attribution (docs/attribution.md): why a member's payment score moved between two
// scorings. Five factor groups; exact Shapley values over the groups in which the two sides
// differ, every coalition scored by the real engine in one batch per engine. Pure: engines in,
// rows out.
import { membersToBatch, type MemberInput } from "../engine/member.js";
import { encodeArrowBatch } from "../engine/arrow-encode.js";
import type { OutputRecord } from "../engine/engine.js";
import type { BatchResult } from "../engine/kernel.js";
import * as L from "../engine/layout.js";
import { InternalError } from "../errors.js";
import { blendPaymentScore, type AttributionYear, type ModelScore } from "./payment-blend.js";
import { computeShapley } from "./shapley.js";
import { MEMBER_TEXT_FIELDS } from "../engine/member.js";

/** The factor groups, in column order (docs/attribution.md "Groups"). */
export const GROUPS = ["demographics", "diagnoses_gained", "diagnoses_lost", "model", "normalization"] as const;
export type Group = (typeof GROUPS)[number];
const G_DEMOGRAPHICS = 0;
const G_GAINED = 1;
const G_LOST = 2;
const G_MODEL = 3;
const G_NORMALIZATION = 4;

export type AttributionStatus = "ok" | "added" | "removed" | "error";

/** One member: its record on side A (`from`) and side B (`to`); null when absent on that side. */
export interface MemberPair {
  participantId: string;
  from: MemberInput | null;
  to: MemberInput | null;
}

export type AttributionRow = {
  participant_id: string;
  from_payment_score: number | null;
  to_payment_score: number | null;
  /** to − from; null unless both sides have a payment score. */
  total_change: number | null;
  /** The group with the largest absolute part ("none" when every part is 0); null without parts. */
  dominant_cause: Group | "none" | null;
  status: AttributionStatus;
  /** Why a member has no decomposition (status "error"), else null. */
  error: string | null;
} & Record<Group, number | null>;

/** Codes as the kernel compares them: dots and spaces dropped, upper case (docs/architecture.md step 2). */
function normalizeCodes(m: MemberInput): string[] {
  const out = new Set<string>();
  for (const c of m.diagnosis_codes ?? []) if (c !== null) out.add(c.replace(/[. ]/g, "").toUpperCase());
  return [...out];
}

const textOf = (v: unknown): string | null =>
  v === undefined || v === null || v === "" ? null : String(v as string | number | boolean);

function sameDemographics(a: MemberInput, b: MemberInput): boolean {
  return MEMBER_TEXT_FIELDS.every((f) => textOf(a[f]) === textOf(b[f]));
}

/** Scoring jobs of one engine: member variants, scored in one batch. */
class JobList {
  readonly members: MemberInput[] = [];
  attrs: Int32Array = new Int32Array(0);
  private result: BatchResult | null = null;
  private errors: (string | null)[] = [];
  constructor(readonly year: AttributionYear) {}

  add(m: MemberInput): number {
    this.members.push(m);
    return this.members.length - 1;
  }

  score(): void {
    if (this.members.length === 0) return;
    const { batch, errors } = encodeArrowBatch(membersToBatch(this.members).batch);
    this.result = this.year.engine.scoreEncoded(batch);
    this.errors = errors;
    this.attrs = batch.attrs;
  }

  private get r(): BatchResult {
    if (!this.result) throw new InternalError("attribution: a job read before its batch was scored");
    return this.result;
  }

  /** The kernel's payment score of job `i` (null for an error row or no score), without decoding a record. */
  paymentScore(i: number): number | null {
    const r = this.r;
    if (this.errors[i] || (r.memberI32[i * L.NOUT_I + L.OUT_ERROR] ?? 0) !== 0) return null;
    const x = r.memberF64[i * L.NOUT_F + L.OUT_PAYMENT] ?? NaN;
    return Number.isNaN(x) ? null : x;
  }

  /** Raw scores and segments of job `i` per model (BatchResult's per-model blocks). */
  modelScores(i: number): ModelScore {
    const r = this.r;
    const models = this.year.engine.meta.models;
    return (id) => {
      const m = models.findIndex((x) => x.id === id);
      const slot = m >= 0 ? (r.slotOf[m] ?? -1) : -1;
      if (slot < 0 || this.errors[i] || (r.memberI32[i * L.NOUT_I + L.OUT_ERROR] ?? 0) !== 0)
        return { rawScore: null, segment: null };
      const at = slot * r.n + i;
      const raw = r.modelF64[at * 2] ?? NaN;
      const seg = r.modelI32[at * 3] ?? -1;
      return {
        rawScore: Number.isNaN(raw) ? null : raw,
        segment: seg >= 0 ? (models[m]?.segments[seg]?.id ?? null) : null,
      };
    };
  }

  /** The full output record of job `i` (for an error message). */
  record(i: number): OutputRecord {
    return this.year.engine.decodeRecord(this.r, i, this.members[i]?.member_id ?? "", this.errors[i] ?? null);
  }
}

/** What one member needs evaluated: per coalition mask, the job (engine side, index) and the NF side. */
interface Plan {
  pair: MemberPair;
  groups: number[];
  /** Per coalition mask over `groups`: [engine side 0/1, job index, NF side 0/1]. */
  cells: [number, number, number][];
}

/** The active groups of a pair and its member variant for each coalition. */
function planPair(pair: MemberPair & { from: MemberInput; to: MemberInput }, yearsDiffer: boolean, jobs: JobList[]): Plan {
  const codesA = normalizeCodes(pair.from);
  const codesB = normalizeCodes(pair.to);
  const setA = new Set(codesA);
  const setB = new Set(codesB);
  const common = codesA.filter((c) => setB.has(c));
  const gained = codesB.filter((c) => !setA.has(c));
  const lost = codesA.filter((c) => !setB.has(c));
  const groups: number[] = [];
  if (!sameDemographics(pair.from, pair.to)) groups.push(G_DEMOGRAPHICS);
  if (gained.length > 0) groups.push(G_GAINED);
  if (lost.length > 0) groups.push(G_LOST);
  if (yearsDiffer) groups.push(G_MODEL, G_NORMALIZATION);
  const variantJob = new Map<number, number>();
  const cells: [number, number, number][] = [];
  const bitOf = [0, 0, 0, 0, 0];
  groups.forEach((g, k) => (bitOf[g] = 1 << k));
  for (let mask = 0; mask < 1 << groups.length; mask++) {
    const fromB = (g: number): boolean => (mask & (bitOf[g] ?? 0)) !== 0;
    const side = fromB(G_MODEL) ? 1 : 0;
    const key = (fromB(G_DEMOGRAPHICS) ? 1 : 0) | (fromB(G_GAINED) ? 2 : 0) | (fromB(G_LOST) ? 4 : 0) | (side << 3);
    let job = variantJob.get(key);
    if (job === undefined) {
      const codes = [...common, ...(fromB(G_GAINED) ? gained : []), ...(fromB(G_LOST) ? [] : lost)];
      const demo = fromB(G_DEMOGRAPHICS) ? pair.to : pair.from;
      job = (jobs[side] as JobList).add({ ...demo, member_id: pair.participantId, diagnosis_codes: codes });
      variantJob.set(key, job);
    }
    cells.push([side, job, fromB(G_NORMALIZATION) ? 1 : 0]);
  }
  return { pair, groups, cells };
}

const noParts = (): Record<Group, null> => ({
  demographics: null,
  diagnoses_gained: null,
  diagnoses_lost: null,
  model: null,
  normalization: null,
});

function oneSidedRow(pair: MemberPair, rec: OutputRecord, status: "added" | "removed"): AttributionRow {
  return {
    participant_id: pair.participantId,
    from_payment_score: status === "removed" ? rec.payment_score : null,
    to_payment_score: status === "added" ? rec.payment_score : null,
    total_change: null,
    ...noParts(),
    dominant_cause: null,
    status,
    error: rec.error === null ? null : `${status === "added" ? "to" : "from"}: ${rec.error}`,
  };
}

/** Why a corner (all-A or all-B scoring) has no payment score. */
function cornerProblem(rec: OutputRecord, side: "from" | "to", year: AttributionYear): string {
  return `${side}: ${rec.error ?? `no payment score in PY${year.paymentYear}`}`;
}

/**
 * Attribute each pair's payment score change to the five groups. `from` scores side A, `to` side
 * B; pass the same AttributionYear for both to compare two member records within one year, or the
 * same records on both sides to see only the year move. One row per pair, in order.
 */
export function attributeChanges(pairs: readonly MemberPair[], from: AttributionYear, to: AttributionYear): AttributionRow[] {
  const years = [from, to];
  const yearsDiffer = from !== to;
  const jobs = [new JobList(from), new JobList(to)];
  const plans: (Plan | [number, number])[] = pairs.map((p) => {
    if (p.from && p.to) return planPair({ ...p, from: p.from, to: p.to }, yearsDiffer, jobs);
    const side = p.to ? 1 : 0;
    const m = p.to ?? p.from;
    if (!m) throw new RangeError("a member pair needs at least one side");
    return [side, (jobs[side] as JobList).add({ ...m, member_id: p.participantId })];
  });
  for (const j of jobs) j.score();
  return plans.map((plan, i) => {
    const pair = pairs[i] as MemberPair;
    if (Array.isArray(plan)) {
      const [side, job] = plan;
      return oneSidedRow(pair, (jobs[side] as JobList).record(job), side === 1 ? "added" : "removed");
    }
    return attributePlan(plan, jobs, years);
  });
}

function attributePlan(plan: Plan, jobs: JobList[], years: AttributionYear[]): AttributionRow {
  const full = plan.cells.length - 1;
  const values = plan.cells.map(([side, job, nfSide], mask) => {
    const list = jobs[side] as JobList;
    if (side !== nfSide)
      return blendPaymentScore(list.modelScores(job), list.attrs, job, list.year, years[nfSide] as AttributionYear);
    const kernelScore = list.paymentScore(job);
    if (kernelScore !== null || mask === 0 || mask === full || years[0] === years[1]) return kernelScore;
    // a mixed scoring in a year that publishes no factor for the member: the other year's factor
    return blendPaymentScore(list.modelScores(job), list.attrs, job, list.year, list.year, years[1 - side]);
  });
  const first = values[0] ?? null;
  const last = values[full] ?? null;
  const row: AttributionRow = {
    participant_id: plan.pair.participantId,
    from_payment_score: first,
    to_payment_score: last,
    total_change: first !== null && last !== null ? last - first : null,
    ...noParts(),
    dominant_cause: null,
    status: "ok",
    error: null,
  };
  const recOf = ([side, job]: [number, number, number]): OutputRecord => (jobs[side] as JobList).record(job);
  const problems: string[] = [];
  if (first === null)
    problems.push(cornerProblem(recOf(plan.cells[0] as [number, number, number]), "from", years[0] as AttributionYear));
  if (last === null)
    problems.push(cornerProblem(recOf(plan.cells[full] as [number, number, number]), "to", years[1] as AttributionYear));
  if (problems.length === 0 && values.some((v) => v === null)) problems.push("a mixed scoring has no payment score");
  if (problems.length > 0) return { ...row, status: "error", error: problems.join("; ") };
  const phi = computeShapley(values as number[], plan.groups.length);
  let dominant: Group | "none" = "none";
  let best = 0;
  for (const g of GROUPS.keys()) {
    const k = plan.groups.indexOf(g);
    const part = k >= 0 ? (phi[k] ?? 0) : 0;
    row[GROUPS[g] as Group] = part;
    if (Math.abs(part) > best) {
      best = Math.abs(part);
      dominant = GROUPS[g] as Group;
    }
  }
  row.dominant_cause = dominant;
  return row;
}
