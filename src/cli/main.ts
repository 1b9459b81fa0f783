// The `hcc` command: the composition root and the only place that calls process.exit.
import { Command } from "commander";
import { HccError } from "../errors.js";

type Register = (program: Command) => void;

// Each command's module is loaded only when that command runs (or for help): the scoring path
// does not pay for loading the BigQuery and DuckDB client libraries it does not use (start-up is
// part of every run: bench/README.md "Member-record files").
const COMMANDS: Record<string, () => Promise<Register>> = {
  explain: async () => (await import("./explain.js")).registerExplain,
  score: async () => (await import("./score.js")).registerScore,
  models: async () => (await import("./models.js")).registerModels,
  data: async () => (await import("./data.js")).registerData,
  generate: async () => (await import("./generate.js")).registerGenerate,
  validate: async () => (await import("./validate.js")).registerValidate,
  nightly: async () => (await import("./nightly.js")).registerNightly,
  ingest: async () => (await import("./ingest.js")).registerIngest,
  udf: async () => (await import("./udf.js")).registerUdf,
  diff: async () => (await import("./diff.js")).registerDiff,
};

/** The program with the command `argv` names, or with every command (help, an unknown name). */
export async function buildProgram(argv: readonly string[] = []): Promise<Command> {
  const program = new Command();
  program
    .name("hcc")
    .description("WebAssembly CMS-HCC, ESRD and RxHCC risk adjustment engine")
    .version("0.1.0")
    .showHelpAfterError();
  const named = argv[2];
  const only = named !== undefined && Object.hasOwn(COMMANDS, named) ? COMMANDS[named] : undefined;
  for (const load of only ? [only] : Object.values(COMMANDS)) (await load())(program);
  return program;
}

export async function main(argv: string[]): Promise<void> {
  try {
    await (await buildProgram(argv)).parseAsync(argv);
  } catch (e) {
    if (e instanceof HccError) {
      process.stderr.write(`hcc: ${e.message}\n`);
      process.exit(e.exitCode);
    }
    process.stderr.write(`hcc: internal error: ${(e as Error).stack ?? String(e)}\n`);
    process.exit(70);
  }
}
