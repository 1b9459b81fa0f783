// dbt seeds generated from data/ (one source of truth for CMS reference data): labels,
// hierarchies, coefficients, payment-year parameters and the dx → CC crosswalk, for every
// payment year in data/parameters.json. `hcc data export-seeds` writes them; `--check` lists
// drift between data/ and the committed copy in dbt/seeds/.
import { existsSync, mkdirSync, readFileSync, readdirSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { availableYears, loadPaymentYear, readParameters } from "../data/load.js";
import type { NfRule, PaymentYearTables } from "../engine/tables.js";

type Cell = string | number | null;

/** One seed file: name (without .csv), header and rows. */
interface SeedTable {
  name: string;
  header: string[];
  rows: Cell[][];
}

export const SEED_NAMES = [
  "hcc_labels",
  "hcc_hierarchies",
  "hcc_coefficients",
  "hcc_payment_year_parameters",
  "hcc_crosswalk",
] as const;

function csvCell(v: Cell): string {
  if (v === null) return "";
  const s = String(v);
  return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

function renderCsv(t: SeedTable): string {
  return [t.header, ...t.rows].map((r) => r.map(csvCell).join(",")).join("\n") + "\n";
}

function hccNumber(prefix: string, variable: string): number | null {
  const m = new RegExp(`^${prefix}(\\d+)$`).exec(variable);
  return m ? Number(m[1]) : null;
}

function addYear(t: Record<(typeof SEED_NAMES)[number], SeedTable>, y: PaymentYearTables): void {
  for (const m of y.models) {
    const prefix = m.rules.hccPrefix;
    for (const [hcc, label] of [...m.labels.entries()].sort((a, b) => a[0] - b[0]))
      t.hcc_labels.rows.push([y.paymentYear, m.id, hcc, `${prefix}${hcc}`, label]);
    m.hierarchy.forEach(([parent, children], order) => {
      for (const child of children)
        t.hcc_hierarchies.rows.push([y.paymentYear, m.id, parent, `${prefix}${parent}`, child, `${prefix}${child}`, order + 1]);
    });
    for (const [segment, variable, value] of m.coefficients)
      t.hcc_coefficients.rows.push([
        y.paymentYear,
        m.id,
        segment === "" ? null : segment,
        variable,
        hccNumber(prefix, variable),
        value,
      ]);
    for (const [code, cc] of m.crosswalk) t.hcc_crosswalk.rows.push([y.paymentYear, m.id, code, cc, `${prefix}${cc}`]);
  }
}

/** NF rules flattened to one row per listed segment (none listed = every segment). */
function nfRows(rule: NfRule): { segment: string | null; prefix: string | null; value: number | null }[] {
  const value = rule.value;
  if (rule.segments && rule.segments.length > 0) return rule.segments.map((segment) => ({ segment, prefix: null, value }));
  return [{ segment: null, prefix: rule.segmentsPrefix ?? null, value }];
}

/** Build every seed table from data/ (reads only). */
export function buildSeeds(dataDir: string): SeedTable[] {
  const t: Record<(typeof SEED_NAMES)[number], SeedTable> = {
    hcc_labels: { name: "hcc_labels", header: ["payment_year", "model", "hcc", "hcc_code", "label"], rows: [] },
    hcc_hierarchies: {
      name: "hcc_hierarchies",
      header: ["payment_year", "model", "parent_hcc", "parent_hcc_code", "child_hcc", "child_hcc_code", "hierarchy_order"],
      rows: [],
    },
    hcc_coefficients: {
      name: "hcc_coefficients",
      header: ["payment_year", "model", "segment", "variable", "hcc", "coefficient"],
      rows: [],
    },
    hcc_payment_year_parameters: {
      name: "hcc_payment_year_parameters",
      header: [
        "payment_year",
        "as_of_date",
        "population_order",
        "population",
        "part",
        "population_when",
        "model",
        "model_weight",
        "nf_segment",
        "nf_segment_prefix",
        "normalization_factor",
        "maci",
        "source",
      ],
      rows: [],
    },
    hcc_crosswalk: { name: "hcc_crosswalk", header: ["payment_year", "model", "diagnosis_code", "cc", "hcc_code"], rows: [] },
  };
  const params = readParameters(dataDir);
  for (const year of availableYears(dataDir)) {
    const y = loadPaymentYear(year, { dataDir });
    addYear(t, y);
    const maciOfYear = params.years[String(year)]?.maci ?? y.maci;
    y.populations.forEach((p, order) => {
      for (const c of p.components)
        for (const rule of c.nf)
          for (const nf of nfRows(rule))
            t.hcc_payment_year_parameters.rows.push([
              year,
              y.asOf,
              order + 1,
              p.name,
              p.part,
              JSON.stringify(p.when),
              c.model,
              c.weight,
              nf.segment,
              nf.prefix,
              nf.value,
              p.maci ?? maciOfYear,
              p.source,
            ]);
    });
  }
  return SEED_NAMES.map((n) => t[n]);
}

/** Write the seed CSVs into outDir (each atomically: temp file + rename). */
export function exportSeeds(dataDir: string, outDir: string): { files: string[] } {
  mkdirSync(outDir, { recursive: true });
  const files: string[] = [];
  for (const s of buildSeeds(dataDir)) {
    const file = join(outDir, `${s.name}.csv`);
    writeFileSync(`${file}.tmp`, renderCsv(s));
    renameSync(`${file}.tmp`, file);
    files.push(file);
  }
  return { files };
}

/** Drift between data/ and the seeds in seedsDir: missing, different or unexpected CSVs. */
export function checkSeeds(dataDir: string, seedsDir: string): string[] {
  const problems: string[] = [];
  const expected = new Set<string>();
  for (const s of buildSeeds(dataDir)) {
    const name = `${s.name}.csv`;
    expected.add(name);
    const file = join(seedsDir, name);
    if (!existsSync(file)) problems.push(`${file}: missing; run 'hcc data export-seeds'`);
    else if (readFileSync(file, "utf8") !== renderCsv(s))
      problems.push(`${file}: differs from data/; run 'hcc data export-seeds' (seeds are generated, never edited by hand)`);
  }
  if (existsSync(seedsDir))
    for (const f of readdirSync(seedsDir))
      if (f.endsWith(".csv") && !expected.has(f)) problems.push(`${join(seedsDir, f)}: not generated from data/; remove it`);
  return problems;
}
