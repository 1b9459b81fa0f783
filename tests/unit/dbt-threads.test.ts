// The nightly's default dbt threads on the embedded warehouse (src/cli/nightly.ts duckdbDbtThreads):
// as many concurrent models as DuckDB's memory holds, 1..4, matching the two measured points.
import { describe, expect, it } from "vitest";
import { duckdbDbtThreads } from "../../src/cli/nightly.js";

const GiB = 2 ** 30;

describe("duckdbDbtThreads", () => {
  it("gives the measured best on the 24 GB benchmark machine: 4 threads at 1M, 1 at 10M", () => {
    expect(duckdbDbtThreads(1_000_000, 23.5 * GiB)).toBe(4);
    expect(duckdbDbtThreads(10_000_000, 23.5 * GiB)).toBe(1);
  });

  it("never goes below 1 or above 4, and never rises with the cohort", () => {
    let last = Infinity;
    for (const members of [0, 1, 10_000, 1e6, 2e6, 3e6, 5e6, 8e6, 1e7, 5e7, 1e9]) {
      const t = duckdbDbtThreads(members, 23.5 * GiB);
      expect(t).toBeGreaterThanOrEqual(1);
      expect(t).toBeLessThanOrEqual(4);
      expect(t).toBeLessThanOrEqual(last);
      last = t;
    }
  });

  it("lets a machine with more memory run more models at once", () => {
    expect(duckdbDbtThreads(10_000_000, 64 * GiB)).toBeGreaterThan(duckdbDbtThreads(10_000_000, 23.5 * GiB));
    expect(duckdbDbtThreads(3_000_000, 8 * GiB)).toBeLessThan(duckdbDbtThreads(3_000_000, 23.5 * GiB));
  });
});
