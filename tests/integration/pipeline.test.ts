// The scoring run with the real worker pool: members in = rows out, results identical to
// scoring the members one by one, factors consistent with scores, worker failure fails the run
// (and the sink is aborted, never committed).
import { describe, expect, it } from "vitest";
import { Field, List, Table, Utf8, Bool, DateDay, vectorFromArray, makeVector, type RecordBatch } from "apache-arrow";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DirectorySink } from "../../src/io/open.js";
import { DuckDBWarehouseSource } from "../../src/io/duckdb-warehouse.js";
import { generateWarehouse } from "../../src/cli/generate.js";
import { DuckDBInstance } from "@duckdb/node-api";
import { readParquetBatches } from "../../src/io/parquet.js";
import { runScoring } from "../../src/pipeline/score-run.js";
import { loadEngine } from "../../src/load.js";
import type { MemberSource, ResultSink, ResultTable, ScoreRunRow, SourceStats } from "../../src/io/types.js";
import { buildCodeWeights, generateCohort } from "../../src/cohort/generate.js";
import type { MemberInput } from "../../src/engine/member.js";

/** A MemberSource over Arrow batches held in memory (a real implementation of the contract). */
class ArrowBatchesSource implements MemberSource {
  constructor(private readonly batches: RecordBatch[]) {}
  describe(): string {
    return `memory (${this.batches.length} batches)`;
  }
  async *read(): AsyncIterable<RecordBatch> {
    for (const b of this.batches) {
      await Promise.resolve();
      yield b;
    }
  }
  stats(): SourceStats {
    const n = this.batches.reduce((a, b) => a + b.numRows, 0);
    return { membersRead: n, dxRowsRead: 0, orphanDxRows: 0, duplicateParticipants: 0 };
  }
  async close(): Promise<void> {}
}

/** A ResultSink collecting batches; commit makes them visible, abort drops them. */
class CollectingSink implements ResultSink {
  staged: Record<ResultTable, RecordBatch[]> = { risk_scores: [], risk_score_factors: [], risk_score_gap_values: [] };
  committed: { tables: Record<ResultTable, RecordBatch[]>; run: ScoreRunRow } | null = null;
  aborted = false;
  describe(): string {
    return "memory";
  }
  async begin(): Promise<void> {}
  async write(t: ResultTable, b: RecordBatch): Promise<void> {
    await Promise.resolve();
    this.staged[t].push(b);
  }
  commit(run: ScoreRunRow): Promise<void> {
    this.committed = { tables: this.staged, run };
    return Promise.resolve();
  }
  abort(): Promise<void> {
    this.aborted = true;
    return Promise.resolve();
  }
}

const codes = buildCodeWeights(readFileSync(new URL("../../data/py2026/V28/crosswalk.tsv", import.meta.url), "utf8"));
const members: MemberInput[] = [];
for (const chunk of generateCohort({ members: 5000, seed: 42, paymentYear: 2026, codes })) {
  for (const m of chunk) members.push(m as unknown as MemberInput);
}

function toBatches(ms: MemberInput[], size: number): RecordBatch[] {
  const out: RecordBatch[] = [];
  const days = (s: unknown): number => Math.round(Date.parse(`${String(s)}T00:00:00Z`) / 86400000);
  for (let i = 0; i < ms.length; i += size) {
    const c = ms.slice(i, i + size);
    const t = new Table({
      participant_id: vectorFromArray(
        c.map((m) => m.member_id),
        new Utf8(),
      ),
      birth_date: makeVector({ type: new DateDay(), data: Int32Array.from(c.map((m) => days(m.birth_date))) }),
      sex: vectorFromArray(
        c.map((m) => (m.sex === null || m.sex === undefined ? null : String(m.sex))),
        new Utf8(),
      ),
      orec: vectorFromArray(
        c.map((m) => (m.orec === null || m.orec === undefined ? null : String(m.orec))),
        new Utf8(),
      ),
      dual_elgbl_cd: vectorFromArray(
        c.map((m) => (m.dual_elgbl_cd === null || m.dual_elgbl_cd === undefined ? null : String(m.dual_elgbl_cd))),
        new Utf8(),
      ),
      lti: vectorFromArray(
        c.map((m) => m.lti === true),
        new Bool(),
      ),
      new_enrollee: vectorFromArray(
        c.map((m) => m.new_enrollee === true),
        new Bool(),
      ),
      snp: vectorFromArray(
        c.map((m) => m.snp === true),
        new Bool(),
      ),
      diagnosis_codes: vectorFromArray(
        c.map((m) => (m.diagnosis_codes ?? []).map((x) => x ?? "")),
        new List(new Field("item", new Utf8(), true)),
      ),
    });
    out.push(...t.batches);
  }
  return out;
}

/** Result rows as sorted JSON strings without run_id (runs differ in it), for comparing runs. */
function rowsJson(batches: RecordBatch[]): string[] {
  if (batches.length === 0) return [];
  return (new Table(batches).toArray() as { toJSON(): Record<string, unknown> }[])
    .map((r) => {
      const j = r.toJSON();
      delete j["run_id"];
      return JSON.stringify(j, (_k, v: unknown) => (typeof v === "bigint" ? Number(v) : v));
    })
    .sort();
}

describe("scoring run with the worker pool", () => {
  it("members in = rows out, identical to one-by-one scoring, committed once", async () => {
    const sink = new CollectingSink();
    const s = await runScoring({
      source: new ArrowBatchesSource(toBatches(members, 700)),
      sink,
      paymentYear: 2026,
      models: [],
      mceEdits: true,
      rounding: "round3",
      workers: 2,
      batchSize: 700,
      factors: true,
    });
    expect(s.membersIn).toBe(5000);
    expect(s.rowsOut).toBe(5000);
    expect(sink.committed?.run.members_in).toBe(5000);
    const rows = new Table(sink.committed?.tables.risk_scores ?? []);
    expect(rows.numRows).toBe(5000);
    const byId = new Map<string, Record<string, unknown>>();
    for (const r of rows.toArray() as { toJSON(): Record<string, unknown> }[]) {
      const j = r.toJSON();
      byId.set(String(j["participant_id"]), j);
    }
    const engine = loadEngine({ paymentYear: 2026 });
    for (const m of members.slice(0, 1500)) {
      const [one] = engine.scoreMembers([{ ...m, age: null }]);
      const got = byId.get(m.member_id);
      expect(got?.["risk_score"] ?? null).toBe(one?.risk_score ?? null);
      expect(got?.["v28_raw_score"] ?? null).toBe(one?.["v28_raw_score"] ?? null);
      const hccs = got?.["v28_hccs"] as { toArray(): string[] } | null;
      expect(hccs ? [...hccs.toArray()] : null).toEqual(one?.["v28_hccs"] ?? null);
    }
    // factors: per member and model, the terms add up to the raw score
    const f = new Table(sink.committed?.tables.risk_score_factors ?? []);
    const sum = new Map<string, number>();
    const pid = f.getChild("participant_id");
    const model = f.getChild("model");
    const coef = f.getChild("coefficient");
    const ftype = f.getChild("factor_type");
    for (let i = 0; i < f.numRows; i++) {
      if (model?.get(i) !== "V28" || ftype?.get(i) === "divisor") continue;
      const k = String(pid?.get(i));
      sum.set(k, (sum.get(k) ?? 0) + Number(coef?.get(i)));
    }
    let checked = 0;
    for (const [id, r] of byId) {
      const raw = r["v28_raw_score"];
      if (typeof raw !== "number") continue;
      expect(sum.get(id) ?? 0).toBeCloseTo(raw, 9);
      checked++;
    }
    expect(checked).toBeGreaterThan(4000);

    // the rows that are not terms and the populations equal what explain (trace mode, decoded
    // separately) says the engine did: each hierarchy drop, each kept HCC without a term
    const nonTerms = new Map<string, Set<string>>();
    for (let i = 0; i < f.numRows; i++) {
      const t = String(ftype?.get(i));
      if (t !== "hcc_dropped" && t !== "hcc_unscored") continue;
      expect(Number(coef?.get(i))).toBe(0);
      const k = String(pid?.get(i));
      const set = nonTerms.get(k) ?? new Set<string>();
      set.add(`${String(model?.get(i))}:${String(f.getChild("factor")?.get(i))}:${t}`);
      nonTerms.set(k, set);
    }
    let drops = 0;
    let unscored = 0;
    for (const m of members.slice(0, 1500)) {
      const x = engine.explain({ ...m, age: null });
      const got = byId.get(m.member_id);
      const want = new Set<string>();
      if (!x.record.error) {
        for (const s of x.models) {
          for (const d of s.dropped) want.add(`${s.model}:${d.hcc}:hcc_dropped`);
          const terms = new Set(s.factors.filter((t) => t.kind === "hcc").map((t) => t.factor));
          const kept = got?.[`${s.model.toLowerCase()}_hccs`] as { toArray(): string[] } | null | undefined;
          for (const h of kept ? [...kept.toArray()] : []) if (!terms.has(h)) want.add(`${s.model}:${h}:hcc_unscored`);
        }
      }
      for (const w of want) {
        if (w.endsWith("dropped")) drops++;
        else unscored++;
      }
      expect([...(nonTerms.get(m.member_id) ?? [])].sort(), m.member_id).toEqual([...want].sort());
      const part = (p: string): string | null => x.population.find((q) => q.part === p)?.name ?? null;
      expect(got?.["population"] ?? null, m.member_id).toBe(got?.["risk_score"] == null ? null : part("C"));
      expect(got?.["rx_population"] ?? null, m.member_id).toBe(got?.["rx_risk_score"] == null ? null : part("D"));
    }
    expect(drops).toBeGreaterThan(50);
    expect(unscored).toBeGreaterThan(10);
  });

  it("workers staging Parquet parts in the sink give the same rows as results sent back to the main thread, compressed or not", async () => {
    const ms = members.slice(0, 3000);
    const opts = { paymentYear: 2026, models: [], mceEdits: true, rounding: "round3" as const, workers: 2, factors: true };
    const viaMain = new CollectingSink();
    await runScoring({ ...opts, source: new ArrowBatchesSource(toBatches(ms, 400)), sink: viaMain });
    const expected = (t: ResultTable): string[] => rowsJson(viaMain.committed?.tables[t] ?? []);
    for (const partCompression of ["none", "zstd"] as const) {
      const dir = mkdtempSync(join(tmpdir(), "hcc-parts-"));
      try {
        const sink = new DirectorySink(dir, "parquet");
        const s = await runScoring({ ...opts, source: new ArrowBatchesSource(toBatches(ms, 400)), sink, partCompression });
        expect(s.rowsOut).toBe(3000);
        expect(s.stageSeconds.encode).toBeGreaterThan(0);
        // per-worker stage times are busy time, not summed wall time of overlapping tasks (each
        // worker runs two at once): a worker cannot have been busy for longer than the run
        expect(s.stageSeconds.kernel).toBeGreaterThan(0);
        expect(s.stageSeconds.kernel + s.stageSeconds.encode).toBeLessThanOrEqual(s.seconds);
        // the published files (links into .hcc-runs/current) and the runs directory, nothing else
        expect(readdirSync(dir).sort()).toEqual([
          ".hcc-runs",
          "risk_score_factors.parquet",
          "risk_scores.parquet",
          "score_runs.parquet",
        ]);
        const rowsOf = async (file: string): Promise<string[]> => {
          const batches: RecordBatch[] = [];
          for await (const b of readParquetBatches(join(dir, file))) batches.push(b);
          return rowsJson(batches);
        };
        const scores = await rowsOf("risk_scores.parquet");
        expect(scores.length).toBe(3000);
        expect(scores).toEqual(expected("risk_scores"));
        const factors = await rowsOf("risk_score_factors.parquet");
        expect(factors.length).toBeGreaterThan(3000);
        expect(factors).toEqual(expected("risk_score_factors"));
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    }
  });

  it("members exported by DuckDB as Parquet parts score exactly as members streamed through the main thread", async () => {
    const dir = mkdtempSync(join(tmpdir(), "hcc-export-test-"));
    try {
      const wh = join(dir, "w.duckdb");
      await generateWarehouse({ members: 4000, seed: 5, out: wh, paymentYear: 2026, layout: "long" });
      const db = await DuckDBInstance.create(wh);
      const c = await db.connect();
      // orphans, a null code, a member with no dx rows
      await c.run(`INSERT INTO sgv_reporting.participant_diagnosis_codes (participant_id, diagnosis_code)
                   VALUES ('NOPE-1', 'E119'), ('NOPE-2', 'I509'), ((SELECT min(participant_id) FROM sgv_reporting.participants), NULL)`);
      await c.run(`DELETE FROM sgv_reporting.participant_diagnosis_codes
                   WHERE participant_id = (SELECT max(participant_id) FROM sgv_reporting.participants)`);
      c.closeSync();
      db.closeSync();
      const opts = { paymentYear: 2026, models: [], mceEdits: true, rounding: "round3" as const, workers: 2, batchSize: 1000 };
      const streamed = new CollectingSink();
      const a = await runScoring({
        ...opts,
        source: new DuckDBWarehouseSource({ path: wh }),
        sink: streamed,
        exportParts: false,
      });
      const exported = new CollectingSink();
      const src = new DuckDBWarehouseSource({ path: wh, partitions: 3, tempDir: dir });
      const b = await runScoring({ ...opts, source: src, sink: exported });
      expect(src.stats()).toMatchObject({ membersRead: 4000, orphanDxRows: 2, nullDxRows: 1 });
      await src.close();
      expect(readdirSync(dir).filter((f) => f.startsWith("hcc-export."))).toEqual([]); // removed by close()
      for (const k of ["membersIn", "rowsOut", "factorRows", "errored", "orphanDxRows"] as const) expect(b[k]).toBe(a[k]);
      expect(b.membersIn).toBe(4000);
      // the exported path overlaps a worker's row-group reads with its other task's scoring: its
      // stage times are busy time all the same, within the run
      expect(b.stageSeconds.kernel + b.stageSeconds.encode).toBeLessThanOrEqual(b.seconds);
      const rows = (sink: CollectingSink, t: ResultTable): string[] => rowsJson(sink.committed?.tables[t] ?? []);
      expect(rows(exported, "risk_scores")).toEqual(rows(streamed, "risk_scores"));
      expect(rows(exported, "risk_score_factors")).toEqual(rows(streamed, "risk_score_factors"));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("each exported file is deleted once its row groups are scored; a snapshot after a release re-groups the table", async () => {
    const dir = mkdtempSync(join(tmpdir(), "hcc-export-test-"));
    try {
      const wh = join(dir, "w.duckdb");
      await generateWarehouse({ members: 10_000, seed: 9, out: wh, paymentYear: 2026, layout: "long" });
      // 2 partitions of ≈ 5,000 members, row groups of ≈ 2,048, a file per row group (64 KiB)
      const opts = { path: wh, partitions: 2, tempDir: dir, exportFileBytes: 64 * 1024 };
      const files = (): number => {
        const d = readdirSync(dir).find((f) => f.startsWith("hcc-export."));
        return d ? readdirSync(join(dir, d)).reduce((k, p) => k + readdirSync(join(dir, d, p)).length, 0) : 0;
      };
      const seen: number[] = [];
      const src = new DuckDBWarehouseSource(opts);
      const s = await runScoring({
        source: src,
        sink: new CollectingSink(),
        paymentYear: 2026,
        models: ["V28"],
        mceEdits: true,
        rounding: "round3",
        workers: 2,
        batchSize: 2048,
        onProgress: () => void seen.push(files()),
      });
      expect(s.membersIn).toBe(10_000);
      // ≈ 2–3 row groups per partition (DuckDB's parallel writer decides the cuts), a file each
      expect(seen.length).toBeGreaterThanOrEqual(4);
      expect(seen[0]).toBeGreaterThanOrEqual(2); // the first scored task's file is gone, others not yet
      expect(seen.every((n, i) => i === 0 || n <= seen[i - 1]!)).toBe(true);
      expect(new Set(seen).size).toBeGreaterThanOrEqual(3); // released one by one while the run went on…
      expect(seen.at(-1)).toBe(0); // …the last with the last task
      await src.close();

      // the pipeline keeps the parts when a run snapshot re-reads them; should one have gone,
      // the snapshot is grouped from the tables again, not from the parts that are left
      const again = new DuckDBWarehouseSource(opts);
      const exported = [];
      for await (const part of again.exportParts({ batchSize: 2048 })) exported.push(part);
      expect(exported.length).toBeGreaterThanOrEqual(2);
      again.releasePart(exported[0]!.file);
      const snap = join(dir, "snapshot.parquet");
      expect(await again.snapshotMembers(snap)).toBe(10_000);
      await again.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("exported member files stay beside the warehouse and are gone after the run, a killed run's too", async () => {
    const dir = mkdtempSync(join(tmpdir(), "hcc-export-test-"));
    try {
      const wh = join(dir, "w.duckdb");
      await generateWarehouse({ members: 500, seed: 8, out: wh, paymentYear: 2026, layout: "long" });
      mkdirSync(join(dir, ".hcc-export-w.duckdb-killed1"));
      writeFileSync(join(dir, ".hcc-export-w.duckdb-killed1", "members-0.parquet"), "left by a killed run");
      const src = new DuckDBWarehouseSource({ path: wh });
      const sink = new CollectingSink();
      const s = await runScoring({
        source: src,
        sink,
        paymentYear: 2026,
        models: ["V28"],
        mceEdits: true,
        rounding: "round3",
        workers: 1,
      });
      expect(s.rowsOut).toBe(500);
      await src.close();
      expect(readdirSync(dir).filter((f) => f.startsWith(".hcc-export-"))).toEqual([]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("a code containing U+001F fails the exported read with the table and column named", async () => {
    const dir = mkdtempSync(join(tmpdir(), "hcc-export-test-"));
    try {
      const wh = join(dir, "w.duckdb");
      await generateWarehouse({ members: 300, seed: 6, out: wh, paymentYear: 2026, layout: "long" });
      const db = await DuckDBInstance.create(wh);
      const c = await db.connect();
      await c.run(`INSERT INTO sgv_reporting.participant_diagnosis_codes (participant_id, diagnosis_code)
                   VALUES ((SELECT min(participant_id) FROM sgv_reporting.participants), 'E11' || chr(31) || '9')`);
      c.closeSync();
      db.closeSync();
      const sink = new CollectingSink();
      await expect(
        runScoring({
          source: new DuckDBWarehouseSource({ path: wh }),
          sink,
          paymentYear: 2026,
          models: ["V28"],
          mceEdits: true,
          rounding: "round3",
          workers: 1,
        }),
      ).rejects.toThrow(
        /participant_diagnosis_codes: row \d+: column diagnosis_code: contains the control character U\+001F \(1 rows\)/,
      );
      expect(sink.aborted).toBe(true);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("a failing batch with workers writing parts: nothing committed, no staged part left", async () => {
    const dir = mkdtempSync(join(tmpdir(), "hcc-parts-"));
    try {
      const bad = new Table({
        participant_id: vectorFromArray(["X1"], new Utf8()),
        diagnosis_codes: vectorFromArray(["E119"], new Utf8()),
      }).batches;
      await expect(
        runScoring({
          source: new ArrowBatchesSource([...toBatches(members.slice(0, 2000), 250), ...bad]),
          sink: new DirectorySink(dir, "parquet"),
          paymentYear: 2026,
          models: ["V28"],
          mceEdits: true,
          rounding: "round3",
          workers: 2,
        }),
      ).rejects.toThrow(/aborted and previous results are intact/);
      expect(readdirSync(dir)).toEqual([]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("a failing batch fails the run: sink aborted, nothing committed", async () => {
    const sink = new CollectingSink();
    const good = toBatches(members.slice(0, 1000), 500);
    // a batch whose diagnosis_codes is not a list: the worker rejects it
    const bad = new Table({
      participant_id: vectorFromArray(["X1"], new Utf8()),
      diagnosis_codes: vectorFromArray(["E119"], new Utf8()),
    }).batches;
    await expect(
      runScoring({
        source: new ArrowBatchesSource([...good, ...bad]),
        sink,
        paymentYear: 2026,
        models: ["V28"],
        mceEdits: true,
        rounding: "round3",
        workers: 2,
      }),
    ).rejects.toThrow(/aborted and previous results are intact/);
    expect(sink.aborted).toBe(true);
    expect(sink.committed).toBeNull();
  });
});
