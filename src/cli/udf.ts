// `hcc udf build` and `hcc udf deploy`: the engine as a BigQuery JavaScript UDF (docs/bigquery-udf.md).
import type { Command } from "commander";
import { engineOptions, type EngineFlags } from "./options.js";
import { buildUdfBundleFromData, readUdfBundle, writeUdfBundle } from "../udf/artifacts.js";
import type { UdfDeployFlags } from "../udf/deploy.js";
import type { UdfBundle } from "../udf/bundle.js";
import { UsageError } from "../errors.js";

interface UdfBuildFlags extends EngineFlags {
  out?: string;
  factors: boolean;
  name?: string;
  init?: string;
}

function bundleFrom(o: UdfBuildFlags & { dir?: string }): UdfBundle {
  if (o.dir !== undefined) return readUdfBundle(o.dir);
  return buildUdfBundleFromData({
    ...engineOptions(o),
    factors: o.factors,
    ...(o.name !== undefined ? { functionName: o.name } : {}),
  });
}

const engineFlags = (c: Command): Command =>
  c
    .option("--year <year>", "payment year", "2026")
    .option("--models <list>", "comma list of models (default: what the payment year uses per member)")
    .option("--no-mce-edits", "turn off MCE plausibility edits")
    .option("--rounding <policy>", "round3 | none", "round3")
    .option("--coefficients <set>", "alternative coefficient set (proposed-2027)")
    .option("--no-factors", "leave the factors array out of the result")
    .option("--name <function>", "function name (default hcc_score_<year>)")
    .option("--init <mode>", "kernel initialisation in the DDL: sync (default) or async (one Promise per JS context)");

export function registerUdf(program: Command): void {
  const udf = program.command("udf").description("the scoring kernel as a BigQuery JavaScript UDF (docs/bigquery-udf.md)");
  engineFlags(
    udf
      .command("build")
      .description("write the UDF bundle: library files (kernel, packed tables, runtime), manifest.json and the DDL")
      .requiredOption("--out <dir>", "output directory"),
  ).action(async (o: UdfBuildFlags & { out: string }) => {
    const { parseUdfInit } = await import("../udf/deploy.js"); // the Google clients load on use
    const init = parseUdfInit(o.init);
    const b = bundleFrom(o);
    writeUdfBundle(b, o.out, init);
    const total = b.files.reduce((s, f) => s + f.bytes, 0);
    process.stderr.write(
      `udf: ${b.functionName} for PY${b.paymentYear}: ${b.files.length} library files, ${total.toLocaleString("en-US")} bytes → ${o.out}\n`,
    );
  });
  engineFlags(
    udf
      .command("deploy")
      .description("upload the library files to Cloud Storage (content-hashed names) and create the function with a query job")
      .option("--project <id>", "BigQuery project (or BIGQUERY_PROJECT)")
      .option("--dataset <name>", "dataset that will hold the function (or BIGQUERY_DATASET)")
      .option("--location <loc>", "BigQuery job location")
      .requiredOption("--bucket <gs://bucket/prefix>", "where the library files go")
      .option("--dir <dir>", "a bundle written by `hcc udf build` (default: build one from --year and the options)")
      .option("--dry-run", "print the objects and the DDL, then stop"),
  ).action(async (o: UdfBuildFlags & UdfDeployFlags & { dir?: string }) => {
    const { deployUdf, describeUdfDeploy, parseUdfDeployConfig } = await import("../udf/deploy.js");
    const cfg = parseUdfDeployConfig(o, process.env);
    if (o.dir !== undefined && (o.models !== undefined || o.coefficients !== undefined || o.name !== undefined)) {
      throw new UsageError("--dir takes the bundle as built; give --models/--coefficients/--name to `hcc udf build` instead");
    }
    const b = bundleFrom(o);
    if (cfg.dryRun) {
      process.stdout.write(describeUdfDeploy(b, cfg) + "\n");
      return;
    }
    const r = await deployUdf(b, cfg);
    process.stderr.write(
      `udf: ${r.functionName} created (${cfg.init} initialisation, job ${r.jobId}); ` +
        `${r.uploaded.length} library files uploaded, ${r.present.length} already present\n`,
    );
  });
}
