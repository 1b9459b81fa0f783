// `hcc ingest DIR`: a directory stands for every file under it, depth first, each directory's
// entries in the byte order of their names (dated names in date order, which decides which
// version of a claim is the latest), without hidden files; paths that are neither a file nor a
// directory with files are usage errors.
import { describe, expect, it } from "vitest";
import { mkdirSync, symlinkSync } from "node:fs";
import { join } from "node:path";
import { inputFiles } from "../../src/ingest/run.js";
import { UsageError } from "../../src/errors.js";
import { claimP, ingest, query, tempDir, writeFile, x12P } from "./helpers.js";

describe("ingest input paths", () => {
  it("a directory is every file under it in path order, subdirectories included, hidden files left out", async () => {
    const d = tempDir();
    const root = join(d, "drop");
    for (const sub of ["2025-02", "2025-01", "empty", ".cache"]) mkdirSync(join(root, sub), { recursive: true });
    const original = writeFile(join(root, "2025-01"), "b.x12", x12P([claimP("O1", ["E1122"]), claimP("O2", ["I509"])]));
    const other = writeFile(join(root, "2025-01"), "B.x12", x12P([claimP("O3", ["J449"])]));
    const replacement = writeFile(join(root, "2025-02"), "a.x12", x12P([claimP("R1", ["E119"], { freq: "7", ref: "O1" })]));
    const top = writeFile(root, "z.x12", x12P([claimP("V1", ["I509"], { freq: "8", ref: "O2" })]));
    writeFile(root, ".DS_Store", "not a claim file"); // read, it would fail the ingest
    writeFile(join(root, ".cache"), "x.x12", "not a claim file");
    symlinkSync(other, join(root, "2025-02", "c.x12"));
    const expected = [other, original, replacement, join(root, "2025-02", "c.x12"), top];
    expect(inputFiles([root])).toEqual(expected);
    expect(inputFiles([top, root])).toEqual([top, ...expected]);

    const fromDir = await ingest([root], join(d, "dir.duckdb"), { workers: 2 });
    const fromList = await ingest(expected, join(d, "list.duckdb"), { workers: 2 });
    expect(fromDir.counts).toEqual(fromList.counts);
    expect(fromDir.files.map((f) => f.path)).toEqual(expected);
    expect(fromDir.counts.byReason["filtered:replaced"]).toBe(1);
    expect(fromDir.counts.byReason["filtered:voided"]).toBe(1);
    const kept = await query(
      join(d, "dir.duckdb"),
      "SELECT list(claim_id ORDER BY claim_id) AS ids FROM sgv_reporting.claims_ingest_outcomes WHERE outcome = 'accepted'",
    );
    expect(kept).toEqual([{ ids: ["O3", "O3", "R1"] }]);
  });

  it("a missing path, a directory without files and a device are usage errors naming them", () => {
    const d = tempDir();
    mkdirSync(join(d, "empty", "also-empty"), { recursive: true });
    writeFile(join(d, "empty"), ".hidden", "x");
    expect(() => inputFiles([join(d, "nope.x12")])).toThrow(UsageError);
    expect(() => inputFiles([join(d, "nope.x12")])).toThrow(/nope\.x12: no such file/);
    expect(() => inputFiles([join(d, "empty")])).toThrow(/empty: a directory with no files in it/);
    expect(() => inputFiles(["/dev/null"])).toThrow(/\/dev\/null: not a file or a directory/);
  });
});
