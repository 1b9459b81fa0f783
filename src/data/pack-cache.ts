// A disk cache of built model packs. Building a payment year's pack compiles every model's rules
// and dispatch tables (≈ 0.25 s, about a tenth of scoring a 300k-member file); the pack is a pure
// function of the year's tables and of the builder's code, so it is cached under a key over both:
// the tables as loaded (v8-serialized, so Maps and every number count) and the source text of the
// builder's modules. An entry carries a sha256 of its contents; a missing, unreadable, corrupt or
// stale entry is rebuilt, and a cache directory that cannot be written only costs the rebuild.
// No member data is involved: a pack holds CMS reference tables only.
//
// Location: $HCC_CACHE_DIR, else $XDG_CACHE_HOME/hcc-wasm, else ~/.cache/hcc-wasm; HCC_CACHE_DIR=off
// turns it off.
import { createHash, randomBytes } from "node:crypto";
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { homedir } from "node:os";
import { join, resolve } from "node:path";
import { deserialize, serialize } from "node:v8";
import type { Pack } from "../engine/pack-builder.js";
import type { PaymentYearTables } from "../engine/tables.js";
import { recordReads } from "./reads.js";

/** Entries kept; the oldest beyond this are removed when one is written. */
const MAX_ENTRIES = 24;
const FORMAT = "hcc-pack-cache-1";
/** The engine modules a pack's bytes depend on (pack-builder.ts and what it imports). */
const BUILDER_MODULES = ["pack-builder", "dispatch", "clauses", "layout"];
/** The data modules that turn data/ files into tables (load.ts and what it reads them with). */
const LOADER_MODULES = ["load", "rules", "reads", "sources", "manifest"];

export function packCacheDir(env: NodeJS.ProcessEnv = process.env): string | null {
  const set = env["HCC_CACHE_DIR"];
  if (set === "off") return null;
  if (set) return set;
  const base = env["XDG_CACHE_HOME"] || join(homedir(), ".cache");
  return join(base, "hcc-wasm");
}

/** sha256 of `seed` and the source of `modules` under `dir` (the built .js, or the .ts under the tests). */
function sourceDigest(seed: string, dir: string, modules: readonly string[]): string {
  const ext = import.meta.url.endsWith(".ts") ? ".ts" : ".js";
  const h = createHash("sha256").update(seed);
  for (const m of modules) h.update(readFileSync(new URL(`${dir}${m}${ext}`, import.meta.url)));
  return h.digest("hex");
}

let builderFingerprint: string | null = null;

/** sha256 of the builder modules' source. */
function fingerprint(): string {
  builderFingerprint ??= sourceDigest(FORMAT + process.versions.v8, "../engine/", BUILDER_MODULES);
  return builderFingerprint;
}

let loaderFingerprint: string | null = null;

/** sha256 of the builder's and the table loader's modules. */
function loaderPrint(): string {
  loaderFingerprint ??= sourceDigest(fingerprint(), "./", LOADER_MODULES);
  return loaderFingerprint;
}

export function packCacheKey(tables: PaymentYearTables): string {
  return createHash("sha256").update(fingerprint()).update(serialize(tables)).digest("hex").slice(0, 40);
}

interface Entry {
  format: string;
  key: string;
  sha256: string;
  bytes: Uint8Array;
  /** The meta v8-serialized on its own, so the digest covers the exact bytes read back. */
  meta: Uint8Array;
}

function digest(bytes: Uint8Array, meta: Uint8Array): string {
  return createHash("sha256").update(bytes).update(meta).digest("hex");
}

function read(file: string, key: string): Pack | null {
  try {
    const e = deserialize(readFileSync(file)) as Partial<Entry>;
    if (e.format !== FORMAT || e.key !== key || !(e.bytes instanceof Uint8Array) || !(e.meta instanceof Uint8Array)) return null;
    if (digest(e.bytes, e.meta) !== e.sha256) return null;
    return { bytes: e.bytes, meta: deserialize(e.meta) as Pack["meta"] };
  } catch {
    return null;
  }
}

function write(dir: string, file: string, key: string, pack: Pack): void {
  const meta = serialize(pack.meta);
  const entry: Entry = { format: FORMAT, key, sha256: digest(pack.bytes, meta), bytes: pack.bytes, meta };
  store(dir, file, serialize(entry), ".pack");
}

/**
 * Writes `data` as `file` in `dir`, atomically (a reader sees the old file, the new one, or
 * none), and keeps the newest MAX_ENTRIES files of the directory ending in `suffix`. An
 * unwritable cache costs a rebuild next time, nothing else.
 */
function store(dir: string, file: string, data: Uint8Array | string, suffix: string): void {
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const tmp = `${file}.${randomBytes(6).toString("hex")}.tmp`;
    writeFileSync(tmp, data, { mode: 0o600 });
    renameSync(tmp, file);
    const kept = readdirSync(dir)
      .filter((f) => f.endsWith(suffix))
      .map((f) => ({ f, t: statSync(join(dir, f)).mtimeMs }))
      .sort((a, b) => b.t - a.t);
    for (const { f } of kept.slice(MAX_ENTRIES)) rmSync(join(dir, f), { force: true });
  } catch {
    // see above
  }
}

/** What selects a payment year's tables: the year, the coefficient set and the data directory. */
export interface TableSource {
  paymentYear: number;
  coefficientSet: string;
  dataDir: string;
}

/**
 * A source's index: the pack key its tables gave, and each data file they were read from with its
 * sha256. The tables are a function of those files' bytes and of the loader's code (in the key).
 */
interface SourceIndex {
  format: string;
  key: string;
  packKey: string;
  files: [string, string][];
}

function sourceKey(src: TableSource): string {
  return createHash("sha256")
    .update(loaderPrint())
    .update(JSON.stringify([src.paymentYear, src.coefficientSet, resolve(src.dataDir)]))
    .digest("hex")
    .slice(0, 40);
}

const fileSha = (path: string): string => createHash("sha256").update(readFileSync(path)).digest("hex");

/** The pack key of an index whose files all still have the recorded bytes, else null. */
function readIndex(file: string, key: string): string | null {
  try {
    const ix = JSON.parse(readFileSync(file, "utf8")) as Partial<SourceIndex>;
    if (ix.format !== FORMAT || ix.key !== key || typeof ix.packKey !== "string" || !Array.isArray(ix.files)) return null;
    if (ix.files.length === 0) return null;
    for (const [path, sha] of ix.files) if (fileSha(path) !== sha) return null;
    return ix.packKey;
  } catch {
    return null;
  }
}

/**
 * The pack of a payment year's tables, taken from the cache without loading the tables when the
 * data files they were read from last time are unchanged (their sha256, ≈ 1 MB hashed: a few
 * milliseconds, where parsing the tables and keying the pack by them took ≈ 90 ms of every run's
 * start, before the scoring workers could start). Otherwise the tables are loaded (`load`, its
 * data file reads recorded), the pack taken from the cache by the tables' key or built, and the
 * files recorded for the next run.
 */
export function cachedPackFor(
  src: TableSource,
  load: () => PaymentYearTables,
  build: (tables: PaymentYearTables) => Pack,
  dir = packCacheDir(),
): Pack {
  if (dir === null) return build(load());
  const key = sourceKey(src);
  const indexFile = join(dir, `py${src.paymentYear}-${key}.source.json`);
  const packKey = readIndex(indexFile, key);
  if (packKey) {
    const hit = read(join(dir, `py${src.paymentYear}-${packKey}.pack`), packKey);
    if (hit) return hit;
  }
  const { value: tables, files } = recordReads(load);
  const tablesKey = packCacheKey(tables);
  const pack = packByKey(tables, tablesKey, () => build(tables), dir);
  const index: SourceIndex = { format: FORMAT, key, packKey: tablesKey, files: files.map((f) => [f, fileSha(f)]) };
  store(dir, indexFile, JSON.stringify(index), ".source.json");
  return pack;
}

/** The pack for `tables`: from the cache when an intact entry for the same tables and builder exists, else built and stored. */
export function cachedPack(tables: PaymentYearTables, build: () => Pack, dir = packCacheDir()): Pack {
  if (dir === null) return build();
  return packByKey(tables, packCacheKey(tables), build, dir);
}

/** The cached pack stored under `key` (the tables' packCacheKey), else built and stored. */
function packByKey(tables: PaymentYearTables, key: string, build: () => Pack, dir: string): Pack {
  const file = join(dir, `py${tables.paymentYear}-${key}.pack`);
  const hit = read(file, key);
  if (hit) return hit;
  const pack = build();
  write(dir, file, key, pack);
  return pack;
}
