// Plan-level rollup of change attribution rows (docs/attribution.md "Reading the rollup"): the
// average change over the attributed members, each group's average contribution (these sum to the
// average change, since every member's parts sum to its change), and members per dominant cause.
import { GROUPS, type AttributionRow, type Group } from "./attribute.js";

export interface AttributionRollup {
  members: number;
  attributed: number;
  added: number;
  removed: number;
  errors: number;
  /** Mean total change over the attributed members (status ok); null when there are none. */
  averageChange: number | null;
  averageParts: Record<Group, number | null>;
  dominantCauses: Record<Group | "none", number>;
}

/** Accumulates rows chunk by chunk (the CLI streams them); `finish` gives the rollup. */
export class RollupBuilder {
  private members = 0;
  private attributed = 0;
  private added = 0;
  private removed = 0;
  private errors = 0;
  private changeSum = 0;
  private readonly partSums = new Float64Array(GROUPS.length);
  private readonly causes = new Map<Group | "none", number>();

  add(rows: readonly AttributionRow[]): void {
    for (const r of rows) {
      this.members++;
      if (r.status === "added") this.added++;
      else if (r.status === "removed") this.removed++;
      else if (r.status === "error") this.errors++;
      else {
        this.attributed++;
        this.changeSum += r.total_change ?? 0;
        GROUPS.forEach((g, k) => (this.partSums[k] = (this.partSums[k] ?? 0) + (r[g] ?? 0)));
        const c = r.dominant_cause ?? "none";
        this.causes.set(c, (this.causes.get(c) ?? 0) + 1);
      }
    }
  }

  finish(): AttributionRollup {
    const n = this.attributed;
    const mean = (s: number): number | null => (n > 0 ? s / n : null);
    return {
      members: this.members,
      attributed: n,
      added: this.added,
      removed: this.removed,
      errors: this.errors,
      averageChange: mean(this.changeSum),
      averageParts: Object.fromEntries(GROUPS.map((g, k) => [g, mean(this.partSums[k] ?? 0)])) as Record<Group, number | null>,
      dominantCauses: Object.fromEntries([...GROUPS, "none" as const].map((g) => [g, this.causes.get(g) ?? 0])) as Record<
        Group | "none",
        number
      >,
    };
  }
}
