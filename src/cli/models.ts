// `hcc models`: models, payment years and data versions available.
import type { Command } from "commander";
import { availableYears, defaultDataDir } from "../data/load.js";
import { loadPack } from "../load.js";
import { readManifest } from "../data/manifest.js";

export function registerModels(program: Command): void {
  program
    .command("models")
    .description("list models, payment years and reference data versions")
    .option("--json", "machine-readable output")
    .action((o: { json?: boolean }) => {
      const dataDir = defaultDataDir();
      const manifest = readManifest(dataDir);
      const years = availableYears(dataDir).map((y) => {
        const p = loadPack({ paymentYear: y });
        return {
          paymentYear: y,
          asOf: p.meta.asOf,
          dataVersion: p.meta.dataVersion,
          models: p.meta.models.map((m) => ({
            id: m.id,
            name: m.name,
            hccs: m.ccNumbers.length,
            segments: m.segments.map((s) => s.id),
            whatIfOnly: m.whatIfOnly,
          })),
          populations: p.meta.populations.map((x) => ({
            part: x.part,
            name: x.name,
            models: x.models.map((i) => p.meta.models[i]?.id),
          })),
        };
      });
      if (o.json) {
        process.stdout.write(JSON.stringify({ sources: manifest.sources, years }, null, 2) + "\n");
        return;
      }
      for (const y of years) {
        process.stdout.write(`PY${y.paymentYear} (age as of ${y.asOf}; data ${y.dataVersion})\n`);
        for (const m of y.models) {
          process.stdout.write(
            `  ${m.id.padEnd(7)} ${m.name}; ${m.hccs} HCCs; ${m.segments.length} segments${m.whatIfOnly ? "; what-if only" : ""}\n`,
          );
        }
        for (const p of y.populations) process.stdout.write(`  Part ${p.part} ${p.name}: ${p.models.join(" + ")}\n`);
      }
      process.stdout.write(`sources: ${manifest.sources.length} curated files (see data/MANIFEST.json)\n`);
    });
}
