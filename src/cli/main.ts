// The `hcc` command: the composition root and the only place that calls process.exit.
import { Command } from "commander";
import { registerExplain } from "./explain.js";
import { registerScore } from "./score.js";
import { registerModels } from "./models.js";
import { registerData } from "./data.js";
import { registerGenerate } from "./generate.js";
import { registerValidate } from "./validate.js";
import { registerNightly } from "./nightly.js";
import { registerIngest } from "./ingest.js";
import { registerUdf } from "./udf.js";
import { registerDiff } from "./diff.js";
import { HccError } from "../errors.js";

export function buildProgram(): Command {
  const program = new Command();
  program
    .name("hcc")
    .description("WebAssembly CMS-HCC, ESRD and RxHCC risk adjustment engine")
    .version("0.1.0")
    .showHelpAfterError();
  registerExplain(program);
  registerScore(program);
  registerModels(program);
  registerData(program);
  registerGenerate(program);
  registerValidate(program);
  registerNightly(program);
  registerIngest(program);
  registerUdf(program);
  registerDiff(program);
  return program;
}

export async function main(argv: string[]): Promise<void> {
  try {
    await buildProgram().parseAsync(argv);
  } catch (e) {
    if (e instanceof HccError) {
      process.stderr.write(`hcc: ${e.message}\n`);
      process.exit(e.exitCode);
    }
    process.stderr.write(`hcc: internal error: ${(e as Error).stack ?? String(e)}\n`);
    process.exit(70);
  }
}
