// `hcc score`: score a member file (NDJSON or CSV) into an output file, one row per member.
import type { Command } from "commander";
import { loadEngine } from "../load.js";
import { engineOptions, type EngineFlags } from "./options.js";
import { formatOf, readMemberFile } from "../io/member-files.js";
import { RecordWriter } from "../io/record-writer.js";
import { UsageError } from "../errors.js";

interface ScoreFlags extends EngineFlags {
  input?: string;
  output?: string;
  format?: string;
  quiet?: boolean;
}

export interface ScoreSummary {
  membersIn: number;
  rowsOut: number;
  errored: number;
  seconds: number;
}

export async function runScore(o: ScoreFlags): Promise<ScoreSummary> {
  if (!o.input) throw new UsageError("score needs --input <file>");
  if (!o.output) throw new UsageError("score needs --output <file>");
  const engine = loadEngine(engineOptions(o));
  const inFormat = formatOf(o.input, o.format);
  const writer = new RecordWriter(o.output, formatOf(o.output));
  const t0 = performance.now();
  let membersIn = 0;
  let errored = 0;
  try {
    for await (const batch of readMemberFile(o.input, inFormat)) {
      membersIn += batch.length;
      const recs = engine.scoreMembers(batch);
      errored += recs.filter((r) => r.error !== null).length;
      await writer.write(recs);
    }
    await writer.commit();
  } catch (e) {
    writer.abort();
    throw e;
  }
  return { membersIn, rowsOut: writer.rows, errored, seconds: (performance.now() - t0) / 1000 };
}

export function registerScore(program: Command): void {
  program
    .command("score")
    .description("score a member file (NDJSON or CSV) into an output file (NDJSON or CSV)")
    .option("--input <file>", "member records (.ndjson or .csv)")
    .option("--output <file>", "results (.ndjson or .csv); written atomically")
    .option("--format <fmt>", "input format when the extension does not say (ndjson | csv)")
    .option("--year <year>", "payment year", "2026")
    .option("--models <list>", "comma list of models (default: what the payment year uses per member)")
    .option("--no-mce-edits", "turn off MCE plausibility edits")
    .option("--rounding <policy>", "round3 | none", "round3")
    .option("--coefficients <set>", "alternative coefficient set (proposed-2027)")
    .option("--quiet", "no summary")
    .action(async (o: ScoreFlags) => {
      const s = await runScore(o);
      if (!o.quiet) {
        process.stderr.write(
          `scored ${s.membersIn} members → ${s.rowsOut} rows (${s.errored} with errors) in ${s.seconds.toFixed(2)} s` +
            ` (${Math.round(s.membersIn / Math.max(s.seconds, 1e-9))} members/s) → ${o.output}\n`,
        );
      }
    });
}
