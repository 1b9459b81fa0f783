// The nightly's dbt split (src/cli/stage-times.ts): phases from run_results.json nodes, "busy" as
// the union of overlapping node intervals, node time as their sum, and the printed table.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { formatStageTable, readDbtRunResults, summarizeDbtRunResults, timeStage } from "../../src/cli/stage-times.js";

const at = (s: number): string => new Date(Date.UTC(2026, 11, 5, 8, 0, 0) + s * 1000).toISOString();
const node = (id: string, thread: string, from: number, to: number) => ({
  unique_id: id,
  status: "success",
  execution_time: to - from,
  thread_id: thread,
  timing: [
    { name: "compile", started_at: at(from), completed_at: at(from) },
    { name: "execute", started_at: at(from), completed_at: at(to) },
  ],
});

const runResults = {
  metadata: { invocation_started_at: at(0) },
  elapsed_time: 10,
  results: [
    node("seed.p.a", "T1", 0, 2),
    node("model.p.m1", "T2", 1, 5), // overlaps the seed and m2
    node("model.p.m2", "T1", 3, 7),
    node("test.p.t1", "T2", 6, 8),
    node("unit_test.p.m1.u", "T1", 9, 10),
  ],
};

describe("summarizeDbtRunResults", () => {
  it("splits nodes into seeds, models and tests with busy (union) and summed node time", () => {
    const d = summarizeDbtRunResults(runResults, 12.5);
    expect(d.process_seconds).toBe(12.5);
    expect(d.run_seconds).toBe(10);
    expect(d.threads_used).toBe(2);
    expect(d.phases.seeds).toEqual({ nodes: 1, busy_seconds: 2, node_seconds: 2 });
    expect(d.phases.models).toEqual({ nodes: 2, busy_seconds: 6, node_seconds: 8 });
    expect(d.phases.tests).toEqual({ nodes: 2, busy_seconds: 3, node_seconds: 3 });
    expect(d.nodes.map((n) => n.resource_type)).toEqual(["seed", "model", "model", "test", "unit_test"]);
  });

  it("prints dbt's split under the dbt build stage, and says the phases overlap", () => {
    const table = formatStageTable(
      [
        { stage: "score", seconds: 9 },
        { stage: "dbt build", seconds: 12.5, note: "seeds not reloaded (unchanged)" },
        { stage: "total", seconds: 22 },
      ],
      summarizeDbtRunResults(runResults, 12.5),
    );
    expect(table.split("\n").map((l) => l.trim().split(/\s+/)[0])).toEqual([
      "nightly",
      "score",
      "dbt",
      "start-up",
      "seeds",
      "models",
      "tests",
      "(2",
      "total",
      "",
    ]);
    expect(table).toMatch(/start-up \+ parse +2\.5\n/);
    expect(table).toContain("seeds not reloaded (unchanged)");
  });

  it("ignores a run_results.json older than the invocation (dbt failed before writing one)", () => {
    const dir = mkdtempSync(join(tmpdir(), "hcc-stage-times-"));
    try {
      const file = join(dir, "run_results.json");
      writeFileSync(file, JSON.stringify(runResults));
      expect(readDbtRunResults(file, 1, Date.parse(at(0)))).not.toBeNull();
      expect(readDbtRunResults(file, 1, Date.parse(at(60)))).toBeNull();
      expect(readDbtRunResults(join(dir, "missing.json"), 1, 0)).toBeNull();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("timeStage records the stage also when it throws", async () => {
    const stages: { stage: string; seconds: number }[] = [];
    await expect(
      timeStage(stages, "boom", () => {
        throw new Error("x");
      }),
    ).rejects.toThrow("x");
    expect(stages.map((s) => s.stage)).toEqual(["boom"]);
  });
});
