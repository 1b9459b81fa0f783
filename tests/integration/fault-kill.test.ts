// Fault test: `hcc score` SIGKILLed at seeded random instants, into the DuckDB warehouse (both
// result storages) and into a Parquet directory. After every kill the results are either the
// previous run's or the new run's, complete (one run id across every result table, the one of
// the latest succeeded score_runs row, all members present); after the next successful run no
// staging table, working directory or unreferenced run directory is left.
import { beforeAll, describe, expect, it } from "vitest";
import { spawn, spawnSync } from "node:child_process";
import { cpSync, existsSync, mkdtempSync, readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { DuckDBInstance } from "@duckdb/node-api";
import { mulberry32 as rng } from "../differential/generate-members.js";

const bin = fileURLToPath(new URL("../../bin/hcc.js", import.meta.url));
const dir = mkdtempSync(join(tmpdir(), "hcc-fault-kill-"));
const base = join(dir, "base.duckdb");
const MEMBERS = 30_000;
const KILLS = 6;

async function query(db: string, sql: string): Promise<Record<string, unknown>[]> {
  const inst = await DuckDBInstance.create(db);
  const c = await inst.connect();
  try {
    return (await c.runAndReadAll(sql)).getRowObjectsJson() as Record<string, unknown>[];
  } finally {
    c.closeSync();
    inst.closeSync();
  }
}

async function killAfter(args: string[], ms: number): Promise<number | null> {
  const child = spawn("node", [bin, ...args, "--quiet"], { stdio: "ignore" });
  const timer = setTimeout(() => child.kill("SIGKILL"), ms);
  const code = await new Promise<number | null>((r) => child.on("exit", (c) => r(c)));
  clearTimeout(timer);
  return code;
}

beforeAll(() => {
  const r = spawnSync("node", [bin, "generate", "--members", String(MEMBERS), "--seed", "5", "--out", base], {
    encoding: "utf8",
  });
  expect(r.status, r.stderr).toBe(0);
});

describe.each(["parquet", "table"])("SIGKILL at random instants: DuckDB warehouse, %s storage", (storage) => {
  it("results are always one complete run; the next run leaves nothing behind", async () => {
    const wh = join(dir, `wh-${storage}.duckdb`);
    cpSync(base, wh);
    const args = ["score", "--source", wh, "--output", wh, "--results-storage", storage];
    expect(spawnSync("node", [bin, ...args, "--quiet"]).status).toBe(0);
    const next = rng(storage === "parquet" ? 11 : 12);
    for (let k = 0; k < KILLS; k++) {
      await killAfter(args, 300 + Math.floor(next() * 3500));
      const [s] = await query(
        wh,
        `SELECT (SELECT count(*) FROM sgv_reporting.risk_scores) AS n,
                (SELECT count(DISTINCT run_id) FROM (SELECT run_id FROM sgv_reporting.risk_scores UNION ALL SELECT run_id FROM sgv_reporting.risk_score_factors)) AS runs,
                (SELECT any_value(run_id) FROM sgv_reporting.risk_scores) AS run,
                (SELECT run_id FROM sgv_reporting.score_runs WHERE status = 'succeeded' ORDER BY finished_at DESC LIMIT 1) AS latest`,
      );
      expect(Number(s?.["n"]), `kill ${k}`).toBe(MEMBERS);
      expect(Number(s?.["runs"]), `kill ${k}`).toBe(1);
      expect(s?.["run"], `kill ${k}`).toBe(s?.["latest"]);
    }
    expect(spawnSync("node", [bin, ...args, "--quiet"]).status).toBe(0);
    const staging = await query(wh, "SELECT table_name FROM information_schema.tables WHERE table_name LIKE 'hcc_staging_%'");
    expect(staging).toEqual([]);
    expect(readdirSync(dir).filter((f) => f.startsWith(".hcc-"))).toEqual([]);
    const results = join(dir, `wh-${storage}.duckdb.results`, "sgv_reporting");
    const runDirs = existsSync(results) ? readdirSync(results) : [];
    expect(runDirs.length).toBe(storage === "parquet" ? 1 : 0);
  }, 300_000);
});

describe("SIGKILL at random instants: Parquet directory", () => {
  it("the three files are always one complete run; the next run sweeps the killed runs' staging", async () => {
    const out = join(dir, "out-dir");
    const args = ["score", "--source", base, "--output", out];
    expect(spawnSync("node", [bin, ...args, "--quiet"]).status).toBe(0);
    const next = rng(13);
    const check = async (k: number): Promise<void> => {
      const [s] = await query(
        ":memory:",
        `SELECT (SELECT count(*) FROM '${out}/risk_scores.parquet') AS n,
                (SELECT any_value(run_id) FROM '${out}/risk_scores.parquet') AS run,
                (SELECT count(DISTINCT run_id) FROM '${out}/risk_score_factors.parquet') AS fruns,
                (SELECT any_value(run_id) FROM '${out}/risk_score_factors.parquet') AS frun,
                (SELECT any_value(run_id) FROM '${out}/score_runs.parquet') AS latest`,
      );
      expect(Number(s?.["n"]), `kill ${k}`).toBe(MEMBERS);
      expect(Number(s?.["fruns"]), `kill ${k}`).toBe(1);
      // one symlink switch publishes every table: all three name the same run
      expect([s?.["run"], s?.["frun"]], `kill ${k}`).toEqual([s?.["latest"], s?.["latest"]]);
    };
    for (let k = 0; k < KILLS; k++) {
      await killAfter(args, 300 + Math.floor(next() * 3000));
      await check(k);
    }
    expect(spawnSync("node", [bin, ...args, "--quiet"]).status).toBe(0);
    await check(KILLS);
    expect(readdirSync(out).filter((f) => f.startsWith(".hcc-") && f !== ".hcc-runs")).toEqual([]);
    expect(readdirSync(join(out, ".hcc-runs")).length).toBe(2); // current → the one run directory
  }, 300_000);
});
