// `hcc diff` end to end: the real bin/hcc.js on small member files in a temp dir — rows per
// member with parts that sum to the change, the rollup on stdout, exit codes, no member data in
// progress output, atomic output.
import { describe, expect, it } from "vitest";
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const bin = new URL("../../bin/hcc.js", import.meta.url).pathname;
const run = (...args: string[]) => spawnSync("node", [bin, ...args], { encoding: "utf8" });
const dir = mkdtempSync(join(tmpdir(), "hcc-diff-"));
const GROUPS = ["demographics", "diagnoses_gained", "diagnoses_lost", "model", "normalization"];

const ndjson = (rows: object[]): string => rows.map((r) => JSON.stringify(r)).join("\n") + "\n";
const f70 = { age: 70, sex: "F", orec: "0" };
const before = [
  { member_id: "M-GAIN", ...f70, diagnosis_codes: ["E11.22", "N18.4"] },
  { member_id: "M-LOSE", ...f70, diagnosis_codes: ["E11.22", "I50.22", "N18.4"] },
  { member_id: "M-AGE", age: 74, sex: "M", diagnosis_codes: ["J44.9"] },
  { member_id: "M-SAME", ...f70, diagnosis_codes: ["C50.911"] },
  { member_id: "M-GONE", ...f70 },
  { member_id: "M-BAD", ...f70 },
];
const after = [
  { member_id: "M-GAIN", ...f70, diagnosis_codes: ["E11.22", "N18.4", "I50.22"] },
  { member_id: "M-LOSE", ...f70, diagnosis_codes: ["E11.22", "N18.4"] },
  { member_id: "M-AGE", age: 75, sex: "M", dual_elgbl_cd: "02", diagnosis_codes: ["J44.9", "F32.2"] },
  { member_id: "M-SAME", ...f70, diagnosis_codes: ["C50.911"] },
  { member_id: "M-BAD", age: 70, sex: "X" },
  { member_id: "M-NEW", ...f70, diagnosis_codes: ["E11.9"] },
];
const fromFile = join(dir, "before.ndjson");
const toFile = join(dir, "after.ndjson");
writeFileSync(fromFile, ndjson(before));
writeFileSync(toFile, ndjson(after));

type Row = Record<string, unknown>;
const readNdjson = (f: string): Row[] =>
  readFileSync(f, "utf8")
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l) as Row);

function expectPartsSum(row: Row): void {
  const sum = GROUPS.reduce((s, g) => s + (row[g] as number), 0);
  expect(Math.abs(sum - (row["total_change"] as number))).toBeLessThan(1e-9);
}

/** The rollup's average change and each group's average contribution, from stdout. */
function readRollup(stdout: string): { change: number; parts: number[] } {
  const value = (label: string): number => Number(new RegExp(`${label}\\s+(-?[\\d.]+)`).exec(stdout)?.[1]);
  const contributions = stdout.slice(stdout.indexOf("average contribution"), stdout.indexOf("dominant cause"));
  return {
    change: value("average change"),
    parts: GROUPS.map((g) => Number(new RegExp(`${g}\\s+(-?[\\d.]+)`).exec(contributions)?.[1])),
  };
}

describe("hcc diff --from --to (one payment year)", () => {
  const out = join(dir, "diff.ndjson");
  const r = run("diff", "--from", fromFile, "--to", toFile, "--from-year", "2026", "--out", out);

  it("writes one row per member: --from order, then members only in --to", () => {
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    const rows = readNdjson(out);
    expect(rows.map((x) => [x["participant_id"], x["status"]])).toEqual([
      ["M-GAIN", "ok"],
      ["M-LOSE", "ok"],
      ["M-AGE", "ok"],
      ["M-SAME", "ok"],
      ["M-GONE", "removed"],
      ["M-BAD", "error"],
      ["M-NEW", "added"],
    ]);
    for (const row of rows.filter((x) => x["status"] === "ok")) {
      expectPartsSum(row);
      expect([row["model"], row["normalization"]]).toEqual([0, 0]);
    }
    // cms-algorithm.md §12.1 V28-01: 0.948 without I50.22, 1.520 with it
    expect(rows[0]).toMatchObject({
      from_payment_score: 0.948,
      to_payment_score: 1.52,
      diagnoses_gained: 0.572,
      dominant_cause: "diagnoses_gained",
    });
    expect(rows[1]).toMatchObject({ total_change: -0.572, diagnoses_lost: -0.572, dominant_cause: "diagnoses_lost" });
    expect(rows[2]?.["demographics"]).not.toBe(0);
    expect(rows[2]?.["diagnoses_gained"]).not.toBe(0);
    expect(rows[3]).toMatchObject({ total_change: 0, dominant_cause: "none" });
    expect(rows[4]).toMatchObject({ to_payment_score: null, total_change: null, demographics: null });
    expect(rows[5]?.["error"]).toMatch(/^to: sex/);
    expect(rows[6]?.["from_payment_score"]).toBeNull();
  });

  it("prints the rollup: average contributions sum to the average change; counts by dominant cause", () => {
    expect(r.stdout).toContain("PY2026 → PY2026: 7 members (4 attributed, 1 added, 1 removed, 1 errors)");
    const { change, parts } = readRollup(r.stdout);
    expect(Math.abs(parts.reduce((s, x) => s + x, 0) - change)).toBeLessThan(2.5e-4); // printed to 4 decimals
    expect(r.stdout).toMatch(/diagnoses_gained\s+1\n/);
    expect(r.stdout).toMatch(/none\s+1\n/);
  });

  it("never prints member ids or codes", () => {
    for (const id of [...before, ...after].map((m) => m.member_id)) expect(r.stdout + r.stderr).not.toContain(id);
    expect(r.stdout + r.stderr).not.toMatch(/I50|E11/);
  });
});

describe("hcc diff --input (one file, two payment years)", () => {
  it("moves only the model and normalization groups (CSV in and out)", () => {
    const input = join(dir, "members.csv");
    writeFileSync(input, "member_id,age,sex,orec,diagnosis_codes\nA,70,F,0,E11.22;I50.22;N18.4\nB,80,M,0,J44.9\n");
    const out = join(dir, "years.csv");
    const r = run("diff", "--input", input, "--from-year", "2025", "--to-year", "2026", "--out", out, "--quiet");
    expect(r.status).toBe(0);
    const [header, ...lines] = readFileSync(out, "utf8").trim().split("\n");
    const cols = header?.split(",") ?? [];
    expect(header).toBe(
      "participant_id,from_payment_score,to_payment_score,total_change,demographics,diagnoses_gained,diagnoses_lost,model,normalization,dominant_cause,status,error",
    );
    const rows = lines.map((l) => Object.fromEntries(l.split(",").map((v, k) => [cols[k] ?? "", v])) as Record<string, string>);
    // §12.2 blend example: PY2025 1.467 → PY2026 1.520
    expect(rows[0]).toMatchObject({ participant_id: "A", from_payment_score: "1.467", to_payment_score: "1.52", model: "0.08" });
    expect(Number(rows[0]?.["normalization"])).toBeCloseTo(-0.027, 12);
    for (const row of rows) {
      expect([row["demographics"], row["diagnoses_gained"], row["diagnoses_lost"]]).toEqual(["0", "0", "0"]);
      const parts = GROUPS.reduce((s, g) => s + Number(row[g]), 0);
      expect(Math.abs(parts - Number(row["total_change"]))).toBeLessThan(1e-9);
    }
    expect(r.stdout).toContain("PY2025 → PY2026: 2 members (2 attributed");
  });
});

describe("hcc diff errors", () => {
  it("usage problems exit 64", () => {
    expect(run("diff", "--from", fromFile, "--out", join(dir, "x.ndjson")).status).toBe(64);
    expect(run("diff", "--from", fromFile, "--to", toFile).status).toBe(64);
    expect(run("diff", "--from", fromFile, "--to", toFile, "--out", join(dir, "x.txt")).status).toBe(64);
    const same = run("diff", "--input", fromFile, "--from-year", "2026", "--out", join(dir, "x.ndjson"));
    expect(same.status).toBe(64);
    expect(same.stderr).toContain("--from-year and --to-year that differ");
    expect(run("diff", "--from", fromFile, "--to", toFile, "--from-year", "26", "--out", join(dir, "x.ndjson")).status).toBe(64);
  });

  it("a malformed or repeated record fails with file and line (exit 65), no output left behind", () => {
    const bad = join(dir, "bad.ndjson");
    const out = join(dir, "bad-out.ndjson");
    writeFileSync(bad, ndjson([before[0] as object]) + "{not json\n");
    const r = run("diff", "--from", bad, "--to", toFile, "--out", out);
    expect(r.status).toBe(65);
    expect(r.stderr).toContain(`${bad}: line 2`);
    writeFileSync(bad, ndjson([before[0] as object, before[0] as object]));
    const dup = run("diff", "--from", bad, "--to", toFile, "--out", out);
    expect(dup.status).toBe(65);
    expect(dup.stderr).toContain(`${bad}: line 2: field member_id`);
    expect(dup.stderr).not.toContain("M-GAIN");
    expect(existsSync(out)).toBe(false);
    expect(readdirSync(dir).filter((f) => f.includes(".tmp"))).toEqual([]);
  });

  it("an output that cannot be created exits 73", () => {
    expect(run("diff", "--from", fromFile, "--to", toFile, "--out", join(dir, "no-such-dir", "x.ndjson")).status).toBe(73);
    expect(run("diff", "--from", fromFile, "--to", toFile, "--out", fromFile).status).toBe(73);
  });
});
