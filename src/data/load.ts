// Load one payment year's tables from data/ (written by `hcc data import`).
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { DataError, UsageError } from "../errors.js";
import { MODEL_IDS, type ModelId } from "./sources.js";
import { readEdits, readRules, type When } from "./rules.js";
import { sha256 } from "./manifest.js";
import { readDataBytes, readDataText } from "./reads.js";
import type { ModelTables, PaymentYearTables, PopulationSpec } from "../engine/tables.js";

/** data/ shipped with the package (../../data from dist/data). */
export function defaultDataDir(): string {
  return join(dirname(fileURLToPath(import.meta.url)), "..", "..", "data");
}

interface ParametersFile {
  years: Record<
    string,
    {
      asOf: string;
      maci: number;
      models: Partial<Record<ModelId, { whatIfOnly?: boolean; variants?: { id: string; when: When }[] }>>;
      populations: PopulationSpec[];
    }
  >;
}

function readTsv(path: string): string[][] {
  if (!existsSync(path)) throw new DataError(`${path}: not found; run 'hcc data import <dir>'`, { file: path });
  const lines = readDataText(path).split("\n");
  lines.shift();
  return lines.filter((l) => l !== "").map((l) => l.split("\t"));
}

export function readParameters(dataDir: string): ParametersFile {
  return JSON.parse(readDataText(join(dataDir, "parameters.json"))) as ParametersFile;
}

export function availableYears(dataDir: string): number[] {
  return Object.keys(readParameters(dataDir).years).map(Number).sort();
}

export function loadPaymentYear(paymentYear: number, opts: { dataDir?: string; coefficientSet?: string } = {}): PaymentYearTables {
  const dataDir = opts.dataDir ?? defaultDataDir();
  const params = readParameters(dataDir);
  const y = params.years[String(paymentYear)];
  if (!y) {
    throw new UsageError(`payment year ${paymentYear} is not available (have ${Object.keys(params.years).join(", ")})`);
  }
  const coefficientSet = opts.coefficientSet ?? "final";
  const models: ModelTables[] = [];
  for (const id of MODEL_IDS) {
    const cfg = y.models[id];
    if (!cfg) continue;
    const dir = join(dataDir, `py${paymentYear}`, id);
    const rules = readRules(dataDir, id);
    let coefFile = join(dir, "coefficients.tsv");
    if (coefficientSet !== "final" && id === "V28") {
      coefFile = join(dir, `coefficients.${coefficientSet}.tsv`);
      if (!existsSync(coefFile)) throw new UsageError(`coefficient set '${coefficientSet}' is not available for V28 in PY${paymentYear}`);
    }
    const m: ModelTables = {
      id,
      rules,
      edits: readEdits(dataDir, rules.edits),
      crosswalk: readTsv(join(dir, "crosswalk.tsv")).map(([c, cc]) => [c ?? "", Number(cc)]),
      coefficients: readTsv(coefFile).map(([s, v, x]) => [s ?? "", v ?? "", Number(x)]),
      hierarchy: readTsv(join(dir, "hierarchy.tsv")).map(([p, c]) => [Number(p), (c ?? "").split(",").filter((s) => s !== "").map(Number)]),
      labels: new Map(readTsv(join(dir, "labels.tsv")).map(([h, l]) => [Number(h), l ?? ""])),
    };
    if (cfg.variants) m.variants = cfg.variants;
    if (cfg.whatIfOnly) m.whatIfOnly = true;
    models.push(m);
  }
  if (coefficientSet !== "final" && !models.some((m) => m.id === "V28")) {
    throw new UsageError(`coefficient set '${coefficientSet}' needs V28`);
  }
  return {
    paymentYear,
    asOf: y.asOf,
    maci: y.maci,
    coefficientSet,
    models,
    populations: y.populations,
    dataVersion: sha256(readDataBytes(join(dataDir, "MANIFEST.json"))).slice(0, 16),
  };
}
