// CLI end to end in a temp dir: score NDJSON and CSV files, atomic output, clear file errors.
import { describe, expect, it } from "vitest";
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, utimesSync, writeFileSync, existsSync, readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { DuckDBInstance } from "@duckdb/node-api";
import { scoringWorkerScript, workerScriptUrl } from "../../src/workers/protocol.js";

const bin = new URL("../../bin/hcc.js", import.meta.url).pathname;
const run = (...args: string[]) => spawnSync("node", [bin, ...args], { encoding: "utf8" });
/** A run with the scoring workers on their bundle (the default) or on the module files. */
const runWorkers = (bundle: boolean, ...args: string[]) =>
  spawnSync("node", [bin, ...args], { encoding: "utf8", env: { ...process.env, HCC_WORKER_BUNDLE: bundle ? "on" : "off" } });
const dir = mkdtempSync(join(tmpdir(), "hcc-cli-"));

describe("hcc score", () => {
  it("scores the example NDJSON: one row per member, errors on the row", () => {
    const out = join(dir, "scores.ndjson");
    const r = run("score", "--input", new URL("../../examples/members.ndjson", import.meta.url).pathname, "--output", out);
    expect(r.status).toBe(0);
    const rows = readFileSync(out, "utf8")
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(rows.map((x) => x["member_id"])).toEqual(["EX-001", "EX-002", "EX-003", "EX-004", "EX-005", "EX-006", "EX-007"]);
    expect(rows[0]?.["v28_raw_score"]).toBeCloseTo(2.491, 9);
    expect(rows[5]?.["error"]).toMatch(/age/);
    expect(rows[4]?.["dx_malformed"]).toBe(1);
    expect(rows[3]?.["esrd24_segment"]).toBe("DI");
  });

  it("scores CSV into CSV with the same scores as NDJSON", () => {
    const out = join(dir, "scores.csv");
    const r = run(
      "score",
      "--input",
      new URL("../../examples/members.csv", import.meta.url).pathname,
      "--output",
      out,
      "--models",
      "V28,ESRD24",
    );
    expect(r.status).toBe(0);
    const lines = readFileSync(out, "utf8").trim().split("\n");
    expect(lines).toHaveLength(4);
    const header = lines[0]?.split(",") ?? [];
    const raw = header.indexOf("v28_raw_score");
    expect(Number(lines[1]?.split(",")[raw])).toBeCloseTo(2.491, 9);
  });

  it("a malformed line fails naming file, line and field, and leaves no output", () => {
    const input = join(dir, "bad.ndjson");
    writeFileSync(
      input,
      '{"member_id":"a","age":70,"sex":"F"}\n{"member_id":"b","age":70,"sex":"F","diagnosis_codes":"E11.9"}\n',
    );
    const out = join(dir, "bad-out.ndjson");
    const r = run("score", "--input", input, "--output", out);
    expect(r.status).toBe(65);
    expect(r.stderr).toContain(`${input}: line 2: field diagnosis_codes`);
    expect(existsSync(out)).toBe(false);
    expect(readdirSync(dir).filter((f) => f.endsWith(".tmp"))).toEqual([]);
    writeFileSync(input, '{"member_id":"a","age":70,"sex":"F"}\n{not json\n');
    const r2 = run("score", "--input", input, "--output", out);
    expect(r2.status).toBe(65);
    expect(r2.stderr).toMatch(/line 2: not valid JSON/);
  });

  it("--workers is the pool size a warehouse run reports; anything but a positive whole number exits 64", () => {
    const wh = join(dir, "workers.duckdb");
    expect(run("generate", "--members", "2000", "--out", wh).status).toBe(0);
    for (const n of ["1", "3"]) {
      const r = run("score", "--source", wh, "--output", wh, "--workers", n, "--batch-size", "300");
      expect(r.status, r.stderr).toBe(0);
      expect(r.stdout + r.stderr).toMatch(new RegExp(`members/s with ${n} workers`));
    }
    for (const bad of ["0", "1.5", "two"]) {
      const r = run("score", "--source", wh, "--output", wh, "--workers", bad);
      expect(r.status).toBe(64);
      expect(r.stderr).toMatch(/--workers: .* is not a positive whole number/);
    }
  });

  it("--part-compression writes the run's Parquet results with that codec and the same rows", async () => {
    const wh = join(dir, "codec.duckdb");
    expect(run("generate", "--members", "1500", "--out", wh).status).toBe(0);
    const read = async (): Promise<{ codecs: string[]; sum: number; n: number }> => {
      const db = await DuckDBInstance.create(wh, { access_mode: "READ_ONLY" });
      const con = await db.connect();
      try {
        const view = (
          await con.runAndReadAll("select sql from duckdb_views() where view_name = 'risk_score_factors'")
        ).getRows()[0]?.[0];
        const glob = /read_parquet\('([^']+)'\)/.exec(String(view))?.[1] ?? "";
        const codecs = (await con.runAndReadAll(`select distinct compression from parquet_metadata('${glob}')`))
          .getRows()
          .map((r) => String(r[0]));
        const agg = (
          await con.runAndReadAll("select sum(coefficient), count(*) from sgv_reporting.risk_score_factors")
        ).getRows()[0];
        return { codecs, sum: Number(agg?.[0]), n: Number(agg?.[1]) };
      } finally {
        con.closeSync();
        db.closeSync();
      }
    };
    expect(run("score", "--source", wh, "--output", wh).status).toBe(0);
    const plain = await read();
    expect(plain.codecs).toEqual(["UNCOMPRESSED"]);
    expect(run("score", "--source", wh, "--output", wh, "--part-compression", "zstd").status).toBe(0);
    const zstd = await read();
    expect(zstd.codecs).toEqual(["ZSTD"]);
    expect([zstd.n, zstd.sum]).toEqual([plain.n, plain.sum]);
    const bad = run("score", "--source", wh, "--output", wh, "--part-compression", "gzip");
    expect(bad.status).toBe(64);
    expect(bad.stderr).toMatch(/--part-compression: 'gzip' is not none, snappy, zstd or lz4_raw/);
  });

  it("usage errors exit 64", () => {
    expect(run("score", "--input", "x.ndjson").status).toBe(64);
    expect(run("explain", "--age", "70", "--sex", "F", "--models", "V99", "E11.9").status).toBe(64);
  });
});

describe("--no-mce-edits", () => {
  // C58 at 70 is MCE-invalid (valid 9–64); C91.50 at 10 too (valid 15+); E11.9 is unaffected.
  const members = [
    { member_id: "A", age: 70, sex: "F", orec: "0", diagnosis_codes: ["C58", "E11.9"] },
    { member_id: "B", age: 10, sex: "M", orec: "0", diagnosis_codes: ["C91.50"] },
  ];
  const hccsOf = (file: string): Record<string, unknown>[] =>
    readFileSync(file, "utf8")
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as Record<string, unknown>);

  it("member-record path: MCE on by default, off with the switch", () => {
    const input = join(dir, "mce.ndjson");
    writeFileSync(input, members.map((m) => JSON.stringify(m)).join("\n") + "\n");
    const on = join(dir, "mce-on.ndjson");
    const off = join(dir, "mce-off.ndjson");
    expect(run("score", "--input", input, "--output", on, "--year", "2026", "--models", "V28").status).toBe(0);
    expect(run("score", "--input", input, "--output", off, "--year", "2026", "--models", "V28", "--no-mce-edits").status).toBe(0);
    const [a, b] = hccsOf(on);
    const [a2, b2] = hccsOf(off);
    expect([a?.["v28_hccs"], b?.["v28_hccs"]]).toEqual([["HCC38"], []]);
    expect([a?.["edits_applied"], b?.["edits_applied"]]).toEqual([1, 1]);
    expect([a2?.["v28_hccs"], b2?.["v28_hccs"]]).toEqual([["HCC22", "HCC38"], ["HCC19"]]);
  });

  it("worker pipeline (--source): the same outcome", async () => {
    const input = join(dir, "mce-src.ndjson");
    writeFileSync(input, members.map((m) => JSON.stringify(m)).join("\n") + "\n");
    for (const [flag, want] of [
      [[], [["HCC38"], []]],
      [["--no-mce-edits"], [["HCC22", "HCC38"], ["HCC19"]]],
    ] as const) {
      const out = mkdtempSync(join(dir, "mce-out-"));
      const r = run("score", "--source", input, "--output", out, "--year", "2026", "--models", "V28", "--quiet", ...flag);
      expect(r.status, r.stderr).toBe(0);
      const db = await DuckDBInstance.create();
      const c = await db.connect();
      const res = await c.runAndReadAll(`select v28_hccs from '${join(out, "risk_scores.parquet")}' order by participant_id`);
      expect(res.getRowObjectsJson().map((x) => x["v28_hccs"])).toEqual(want);
      c.closeSync();
    }
  });
});

describe("hcc explain", () => {
  it("names each edit by its code and cites the project's docs", () => {
    const r = run("explain", "--year", "2026", "--models", "V28", "--age", "5", "--sex", "F", "P04.41", "C91.50");
    expect(r.status).toBe(0);
    expect(r.stdout).toContain("V28 P0441 age ≥ 2: invalid");
    expect(r.stdout).toContain("V28 C9150 MCE age edit");
    expect(r.stdout).toContain("docs/data-sources.md");
    expect(r.stdout).not.toMatch(/cms-algorithm|anesthesia/);
  });

  it("prints each step and the scores", () => {
    const r = run("explain", "--year", "2026", "--models", "V28", "--age", "70", "--sex", "F", "Z94.4", "K72.11", "G93.5");
    expect(r.status).toBe(0);
    expect(r.stdout).toContain("HCC63 dropped by hierarchy (parent HCC62)");
    expect(r.stdout).toMatch(/raw score 1\.314/);
  });
  it("--json gives the same numbers as score", () => {
    const r = run("explain", "--json", "--dob", "1949-06-15", "--sex", "2", "--orec", "0", "E11.22", "I50.9", "N18.5", "J44.9");
    const e = JSON.parse(r.stdout) as { record: { v28_raw_score: number; risk_score: number } };
    expect(e.record.v28_raw_score).toBeCloseTo(2.491, 9);
    expect(e.record.risk_score).toBe(2.335);
  });
});

describe("hcc models and data check", () => {
  it("lists every payment year", () => {
    const r = run("models", "--json");
    const j = JSON.parse(r.stdout) as { years: { paymentYear: number }[] };
    expect(j.years.map((y) => y.paymentYear)).toEqual([2024, 2025, 2026, 2027]);
  });
  it("data check passes on the shipped data", () => {
    expect(run("data", "check").status).toBe(0);
  });
});

describe("the scoring workers' bundle (scripts/build-worker-bundle.mjs)", () => {
  it("is what the pool runs unless HCC_WORKER_BUNDLE=off, and scores exactly as the module files do", async () => {
    expect(workerScriptUrl("score-worker", {})).toMatch(/\/dist\/score-worker\/score-worker\.js$/);
    expect(workerScriptUrl("score-worker", { HCC_WORKER_BUNDLE: "off" })).toMatch(/\/dist\/workers\/score-worker\.js$/);
    expect(workerScriptUrl("ingest-worker", {})).toMatch(/\/dist\/workers\/ingest-worker\.js$/);
    // a bundle older than the module files (tsc run alone after a build) is not used
    const fake = join(dir, "fake-dist");
    mkdirSync(join(fake, "workers"), { recursive: true });
    mkdirSync(join(fake, "score-worker"), { recursive: true });
    const [mod, bun] = [join(fake, "workers", "score-worker.js"), join(fake, "score-worker", "score-worker.js")];
    writeFileSync(mod, "");
    writeFileSync(bun, "");
    const distUrl = pathToFileURL(fake + "/");
    utimesSync(mod, 1000, 1000);
    utimesSync(bun, 2000, 2000);
    expect(scoringWorkerScript(distUrl, {}).pathname).toBe(bun);
    expect(scoringWorkerScript(distUrl, { HCC_WORKER_BUNDLE: "off" }).pathname).toBe(mod);
    utimesSync(mod, 3000, 3000);
    expect(scoringWorkerScript(distUrl, {}).pathname).toBe(mod);
    rmSync(bun);
    expect(scoringWorkerScript(distUrl, {}).pathname).toBe(mod);
    // member records (parsed and encoded in the workers): byte-identical output
    const input = new URL("../../examples/members.ndjson", import.meta.url).pathname;
    const texts = [true, false].map((bundle) => {
      const out = join(dir, `bundle-${bundle}.ndjson`);
      const r = runWorkers(bundle, "score", "--input", input, "--output", out);
      expect(r.status, r.stderr).toBe(0);
      return readFileSync(out, "utf8");
    });
    expect(texts[0]).toBe(texts[1]);
    // a warehouse into Parquet parts (the lazily loaded Parquet reader and writer chunks)
    const wh = join(dir, "bundle.duckdb");
    expect(run("generate", "--members", "1500", "--out", wh).status).toBe(0);
    const dirs = [true, false].map((bundle) => {
      const out = join(dir, `bundle-parts-${bundle}`);
      const r = runWorkers(bundle, "score", "--source", wh, "--output", out, "--batch-size", "400", "--quiet");
      expect(r.status, r.stderr).toBe(0);
      return out;
    });
    const db = await DuckDBInstance.create(":memory:");
    const c = await db.connect();
    for (const t of ["risk_scores", "risk_score_factors"]) {
      const [a, b] = dirs.map((d) => `(SELECT * EXCLUDE (run_id) FROM read_parquet('${join(d, `${t}.parquet`)}'))`);
      const rows = Number((await c.runAndReadAll(`SELECT count(*) FROM ${a}`)).getRows()[0]?.[0]);
      expect(rows).toBeGreaterThan(1000);
      const diff = await c.runAndReadAll(`SELECT count(*) FROM ((${a} EXCEPT ALL ${b}) UNION ALL (${b} EXCEPT ALL ${a}))`);
      expect(Number(diff.getRows()[0]?.[0]), t).toBe(0);
    }
    c.closeSync();
    db.closeSync();
  });
});
