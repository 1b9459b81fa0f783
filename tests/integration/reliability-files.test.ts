// Regression tests for "Results always mean this run, complete" on the member-record and file
// paths: one validation for every path, privacy of error messages, clean failures with exit codes,
// RFC 4180 CSV, interrupted runs. Each case failed before its fix.
import { describe, expect, it } from "vitest";
import { spawn, spawnSync } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { DuckDBInstance } from "@duckdb/node-api";

const bin = fileURLToPath(new URL("../../bin/hcc.js", import.meta.url));
const hcc = (...args: string[]) => spawnSync("node", [bin, ...args], { encoding: "utf8" });
const dir = mkdtempSync(join(tmpdir(), "hcc-reliability-files-"));
const file = (name: string, text: string | Buffer): string => {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
};
const ndjsonRows = (p: string): Record<string, unknown>[] =>
  readFileSync(p, "utf8")
    .trim()
    .split("\n")
    .filter((l) => l !== "")
    .map((l) => JSON.parse(l) as Record<string, unknown>);

// the same five records on every path: three value problems, one fine, one unscorable age
const RECORDS = [
  { member_id: "OK", age: "70", sex: "F", orec: "0", dual_elgbl_cd: "02", diagnosis_codes: ["E11.9"] },
  { member_id: "DUAL", age: "70", sex: "F", orec: "0", dual_elgbl_cd: "99", diagnosis_codes: ["E11.9"] },
  { member_id: "AGE", age: "-3", sex: "F", orec: "0", diagnosis_codes: [] },
  { member_id: "GRAFT", age: "70", sex: "M", orec: "2", esrd_status: "graft", graft_months: "-1", diagnosis_codes: [] },
  { member_id: "LTI", age: "70", sex: "M", orec: "0", lti: "maybe", diagnosis_codes: [] },
];
const COLS = [
  "member_id",
  "age",
  "sex",
  "orec",
  "dual_elgbl_cd",
  "esrd_status",
  "graft_months",
  "lti",
  "diagnosis_codes",
] as const;
const csvOf = (rs: readonly Record<string, unknown>[]): string =>
  COLS.join(",") +
  "\n" +
  rs
    .map((r) =>
      COLS.map((c) =>
        c === "diagnosis_codes" ? ((r[c] as string[] | undefined) ?? []).join(";") : String((r[c] as string | undefined) ?? ""),
      ).join(","),
    )
    .join("\n") +
  "\n";

describe("one validation for every path: the same record gets the same outcome", () => {
  it("--input NDJSON, --input CSV, --source NDJSON and a DuckDB warehouse give identical error columns", async () => {
    const nd = file("same.ndjson", RECORDS.map((r) => JSON.stringify(r)).join("\n") + "\n");
    const csv = file("same.csv", csvOf(RECORDS));
    const a = join(dir, "same-a.ndjson");
    const b = join(dir, "same-b.ndjson");
    expect(hcc("score", "--input", nd, "--output", a, "--quiet", "--max-error-rate", "1").status).toBe(0);
    expect(hcc("score", "--input", csv, "--output", b, "--quiet", "--max-error-rate", "1").status).toBe(0);
    const errs = (rows: Record<string, unknown>[]) => rows.map((r) => [r["member_id"], r["error"]]);
    const ra = ndjsonRows(a);
    expect(errs(ra)).toEqual([
      ["OK", null],
      ["DUAL", "dual_elgbl_cd: '99' is not a dual status code (00–10)"],
      ["AGE", "age: -3 is outside 0–130"],
      ["GRAFT", "graft_months: -1 is outside 0–1200"],
      ["LTI", "lti: 'maybe' is not a boolean"],
    ]);
    expect(errs(ndjsonRows(b))).toEqual(errs(ra));
    // the same records in a warehouse (typed columns where the type allows)
    const wh = join(dir, "same.duckdb");
    const db = await DuckDBInstance.create(wh);
    const c = await db.connect();
    await c.run(`CREATE SCHEMA sgv_reporting;
      CREATE TABLE sgv_reporting.participants (participant_id VARCHAR, age INTEGER, sex VARCHAR, orec VARCHAR, dual_elgbl_cd VARCHAR,
        esrd_status VARCHAR, graft_months INTEGER, lti VARCHAR, diagnosis_codes VARCHAR[])`);
    for (const r of RECORDS) {
      await c.run(`INSERT INTO sgv_reporting.participants VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9::VARCHAR[])`, [
        r.member_id,
        Number(r.age),
        r.sex,
        r.orec,
        r.dual_elgbl_cd ?? null,
        r.esrd_status ?? null,
        r.graft_months === undefined ? null : Number(r.graft_months),
        r.lti ?? null,
        JSON.stringify(r.diagnosis_codes).replace(/"/g, "'"),
      ]);
    }
    c.closeSync();
    db.closeSync();
    // a VARCHAR lti column is text, parsed like the file paths
    const r = hcc(
      "score",
      "--source",
      wh,
      "--layout",
      "grouped",
      "--quiet",
      "--max-error-rate",
      "1",
      "--results-storage",
      "table",
    );
    expect(r.status, r.stderr).toBe(0);
    const db2 = await DuckDBInstance.create(wh);
    const c2 = await db2.connect();
    const rows = (await c2.runAndReadAll("SELECT participant_id, error FROM sgv_reporting.risk_scores")).getRowObjectsJson();
    c2.closeSync();
    db2.closeSync();
    const byId = new Map(rows.map((x) => [x["participant_id"], x["error"]]));
    expect(errs(ra).map(([id]) => [id, byId.get(id as string) ?? null])).toEqual(errs(ra));
  });

  it("duplicate member ids fail the file on --input as on --source (exit 65, line named)", () => {
    const p = file(
      "dupe.ndjson",
      '{"member_id":"A","age":70,"sex":"F"}\n{"member_id":"B","age":70,"sex":"F"}\n{"member_id":"A","age":71,"sex":"M"}\n',
    );
    const r = hcc("score", "--input", p, "--output", join(dir, "dupe-out.ndjson"));
    expect(r.status).toBe(65);
    expect(r.stderr).toMatch(/dupe\.ndjson: line 3: field member_id: duplicate of an earlier record/);
    expect(existsSync(join(dir, "dupe-out.ndjson"))).toBe(false);
  });
});

describe("error messages name file, line and field, never member data", () => {
  it("invalid JSON: no id or code in the message", () => {
    const p = file(
      "secret.ndjson",
      '{"member_id":"SECRET-ID-42","sex":"F","age":70}\n{"member_id":"SECRET-ID-43","diagnosis_codes":["Q99.9",}\n',
    );
    const r = hcc("score", "--input", p, "--output", join(dir, "secret-out.ndjson"));
    expect(r.status).toBe(65);
    expect(r.stderr).toMatch(/secret\.ndjson: line 2: not valid JSON/);
    expect(r.stderr).not.toMatch(/SECRET|Q99/);
    const s = hcc("score", "--source", p, "--output", join(dir, "secret-dir"));
    expect(s.status).toBe(65);
    expect(s.stderr).not.toMatch(/SECRET|Q99/);
  });

  it("invalid UTF-8 in an id is rejected with its line (ids would collide if replaced)", () => {
    const p = file(
      "utf8.ndjson",
      Buffer.concat([
        Buffer.from('{"member_id":"A","sex":"F","age":70}\n{"member_id":"B'),
        Buffer.from([0xff, 0xfe]),
        Buffer.from('","sex":"F","age":70}\n'),
      ]),
    );
    const r = hcc("score", "--input", p, "--output", join(dir, "utf8-out.ndjson"));
    expect(r.status).toBe(65);
    expect(r.stderr).toMatch(/utf8\.ndjson: line 2: not valid UTF-8/);
    const c = file(
      "utf8.csv",
      Buffer.concat([Buffer.from("member_id,sex,age\nA,F,70\nB"), Buffer.from([0xc3, 0x28]), Buffer.from(",F,70\n")]),
    );
    const rc = hcc("score", "--input", c, "--output", join(dir, "utf8-out.csv"));
    expect(rc.status).toBe(65);
    expect(rc.stderr).toMatch(/utf8\.csv: line 3: not valid UTF-8/);
  });

  it("a single huge NDJSON line fails with its line number, not a RangeError", () => {
    const big = Buffer.alloc(17 * 2 ** 20, 0x61);
    const p = file(
      "huge.ndjson",
      Buffer.concat([Buffer.from('{"member_id":"A","sex":"F","age":70}\n{"member_id":"'), big, Buffer.from('"}\n')]),
    );
    const r = hcc("score", "--input", p, "--output", join(dir, "huge-out.ndjson"));
    expect(r.status).toBe(65);
    expect(r.stderr).toMatch(/huge\.ndjson: line 2: longer than 16 MiB/);
    expect(r.stderr).not.toMatch(/RangeError|internal error/);
  });
});

describe("clean failures, documented exit codes", () => {
  it("missing or read-only output directory: exit 73 and one line, nothing left", () => {
    const input = file("ok.ndjson", '{"member_id":"A","sex":"F","age":70}\n');
    const r = hcc("score", "--input", input, "--output", join(dir, "no-such-dir", "out.ndjson"));
    expect(r.status).toBe(73);
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
    expect(r.stderr).toMatch(/does not exist/);
    if (process.getuid?.() !== 0) {
      const ro = join(dir, "ro");
      mkdirSync(ro);
      chmodSync(ro, 0o500);
      const w = hcc("score", "--input", input, "--output", join(ro, "out.ndjson"));
      expect(w.status).toBe(73);
      expect(w.stderr).toMatch(/not writable/);
    }
  });

  it("--output equal to --input is refused (exit 73), the input untouched", () => {
    const text = '{"member_id":"A","sex":"F","age":70}\n';
    const input = file("same-io.ndjson", text);
    const r = hcc("score", "--input", input, "--output", input);
    expect(r.status).toBe(73);
    expect(r.stderr).toMatch(/would overwrite the input/);
    expect(readFileSync(input, "utf8")).toBe(text);
  });

  it("the output-format error names a real option; no arguments says what is needed", () => {
    const input = file("fmt.ndjson", '{"member_id":"A","sex":"F","age":70}\n');
    const r = hcc("score", "--input", input, "--output", join(dir, "out.txt"));
    expect(r.status).toBe(64);
    expect(r.stderr).toMatch(/name an \.ndjson or \.csv file/);
    const none = hcc("score");
    expect(none.status).toBe(64);
    expect(none.stderr).toMatch(/--source .*--input/);
  });

  it("hcc generate works outside the repository (data found relative to the package)", () => {
    const out = join(dir, "gen.duckdb");
    const r = spawnSync("node", [bin, "generate", "--members", "20", "--out", out], { encoding: "utf8", cwd: tmpdir() });
    expect(r.status, r.stderr).toBe(0);
    expect(existsSync(out)).toBe(true);
  });

  it("hcc validate on a missing or unscored warehouse: one-line message, exit 65", () => {
    const missing = hcc("validate", "--db", join(dir, "none.duckdb"));
    expect(missing.status).toBe(65);
    expect(missing.stderr).toMatch(/warehouse not found/);
    expect(existsSync(join(dir, "none.duckdb"))).toBe(false);
    const gen = join(dir, "unscored.duckdb");
    expect(hcc("generate", "--members", "20", "--out", gen).status).toBe(0);
    const r = hcc("validate", "--db", gen);
    expect(r.status).toBe(65);
    expect(r.stderr).toMatch(/risk_scores not found; run hcc score first/);
  });
});

describe("CSV is RFC 4180; friction", () => {
  it("quoted fields may hold newlines and commas; the CSV output reads back", () => {
    const p = file("quoted.csv", 'member_id,sex,age,diagnosis_codes\n"A,1",F,70,"E11.9;\nI10"\nB,M,71,\n');
    const out = join(dir, "quoted-out.csv");
    const r = hcc("score", "--input", p, "--output", out, "--models", "V28");
    expect(r.status, r.stderr).toBe(0);
    // the output CSV quotes what needs quoting, RFC 4180 style
    const rows = readFileSync(out, "utf8").split("\n");
    expect(rows[0]?.startsWith("member_id,payment_year,risk_score")).toBe(true);
    expect(rows[1]?.startsWith('"A,1",2026,')).toBe(true);
    const nd = join(dir, "quoted-out.ndjson");
    expect(hcc("score", "--input", p, "--output", nd, "--models", "V28", "--quiet").status).toBe(0);
    const [a] = ndjsonRows(nd);
    expect(a?.["member_id"]).toBe("A,1");
    expect(a?.["v28_hccs"]).toEqual(["HCC38"]);
  });

  it("a header-only CSV gives a header-only CSV", () => {
    const p = file("header-only.csv", "member_id,sex,age,diagnosis_codes\n");
    const out = join(dir, "header-only-out.csv");
    const r = hcc("score", "--input", p, "--output", out, "--models", "V28");
    expect(r.status, r.stderr).toBe(0);
    const text = readFileSync(out, "utf8");
    expect(text.split("\n").filter((l) => l !== "")).toHaveLength(1);
    expect(text.startsWith("member_id,payment_year,risk_score,payment_score,rx_risk_score,v28_raw_score")).toBe(true);
  });

  it("--source w.duckdb without --output writes back to the source warehouse", () => {
    const wh = join(dir, "writeback.duckdb");
    expect(hcc("generate", "--members", "30", "--out", wh).status).toBe(0);
    const r = hcc("score", "--source", wh, "--quiet");
    expect(r.status, r.stderr).toBe(0);
    expect(hcc("score", "--source", join(dir, "quoted.csv")).status).toBe(64); // a file source needs --output
  });
});

describe("interrupted runs: clean up, say so, leave nothing behind", () => {
  it("SIGINT during a member-record run: exit 130, message, no partial output or parts", async () => {
    const lines: string[] = [];
    for (let i = 0; i < 400_000; i++) lines.push(`{"member_id":"M${i}","sex":"F","age":70,"diagnosis_codes":["E11.9","I10"]}`);
    const input = file("big.ndjson", lines.join("\n") + "\n");
    const out = join(dir, "big-out.ndjson");
    const child = spawn("node", [bin, "score", "--input", input, "--output", out, "--quiet"], {
      stdio: ["ignore", "ignore", "pipe"],
    });
    let stderr = "";
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    await new Promise((r) => setTimeout(r, 1500));
    child.kill("SIGINT");
    const code = await new Promise<number | null>((r) => child.on("exit", (c) => r(c)));
    if (code === 0) return; // the run finished before the signal (a fast machine): nothing to check
    expect(code).toBe(130);
    expect(stderr).toMatch(/interrupted \(SIGINT\); the run was aborted and previous results are intact/);
    expect(existsSync(out)).toBe(false);
    expect(readdirSync(dir).filter((f) => f.startsWith(".hcc-big-out"))).toEqual([]);
  });
});
