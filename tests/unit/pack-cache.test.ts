// The pack cache (src/data/pack-cache.ts): a second load reads the stored pack instead of
// building, and gives the same bytes and meta; a corrupt entry is rebuilt; other tables get
// another key; an unwritable directory only costs the build; HCC_CACHE_DIR=off turns it off.
// Keyed by the data files (cachedPackFor): a later load with unchanged files takes the pack
// without loading the tables; a changed, removed or added-to file loads them again.
import { afterAll, describe, expect, it } from "vitest";
import { cpSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { cachedPack, cachedPackFor, packCacheDir, packCacheKey } from "../../src/data/pack-cache.js";
import { defaultDataDir, loadPaymentYear } from "../../src/data/load.js";
import { recordReads } from "../../src/data/reads.js";
import { buildPack } from "../../src/engine/pack-builder.js";

const dir = mkdtempSync(join(tmpdir(), "hcc-pack-cache-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const tables = loadPaymentYear(2026, {});

describe("pack cache", () => {
  it("builds once, then reads back the same pack; a corrupt entry is rebuilt", () => {
    let builds = 0;
    const build = () => (builds++, buildPack(tables));
    const a = cachedPack(tables, build, dir);
    const b = cachedPack(tables, build, dir);
    expect(builds).toBe(1);
    expect(Buffer.from(b.bytes).equals(Buffer.from(a.bytes))).toBe(true);
    expect(b.meta).toEqual(a.meta);
    const files = readdirSync(dir).filter((f) => f.endsWith(".pack"));
    expect(files).toHaveLength(1);
    writeFileSync(join(dir, files[0]!), "not a pack");
    const c = cachedPack(tables, build, dir);
    expect(builds).toBe(2);
    expect(Buffer.from(c.bytes).equals(Buffer.from(a.bytes))).toBe(true);
  });

  it("other tables get another key; an unwritable place and HCC_CACHE_DIR=off only cost the build", () => {
    const other = { ...tables, maci: tables.maci + 0.001 };
    expect(packCacheKey(other)).not.toBe(packCacheKey(tables));
    let builds = 0;
    const build = () => (builds++, buildPack(tables));
    const file = join(dir, "a-file");
    writeFileSync(file, "x");
    cachedPack(tables, build, join(file, "sub")); // a directory under a file cannot be made
    cachedPack(tables, build, join(file, "sub"));
    expect(builds).toBe(2);
    expect(packCacheDir({ HCC_CACHE_DIR: "off" })).toBeNull();
    expect(packCacheDir({ HCC_CACHE_DIR: "/x/y" })).toBe("/x/y");
    expect(packCacheDir({ XDG_CACHE_HOME: "/c" })).toBe(join("/c", "hcc-wasm"));
  });

  it("keyed by the data files: unchanged files skip the table load; a changed one loads again and gives its own pack", () => {
    const cache = mkdtempSync(join(dir, "by-files-"));
    const data = join(cache, "data"); // a copy of data/ to change (outside the cache's own files)
    cpSync(defaultDataDir(), data, { recursive: true });
    const src = { paymentYear: 2026, coefficientSet: "final", dataDir: data };
    let loads = 0;
    const load = () => (loads++, loadPaymentYear(2026, { dataDir: data }));
    const a = cachedPackFor(src, load, buildPack, join(cache, "c"));
    const b = cachedPackFor(src, load, buildPack, join(cache, "c"));
    expect(loads).toBe(1);
    expect(Buffer.from(b.bytes).equals(Buffer.from(a.bytes))).toBe(true);
    expect(b.meta).toEqual(a.meta);
    // the same pack as the tables give when loaded and built directly
    expect(Buffer.from(a.bytes).equals(Buffer.from(buildPack(loadPaymentYear(2026, { dataDir: data })).bytes))).toBe(true);

    // one coefficient changed: the tables are loaded again, and the pack is theirs
    const coef = join(data, "py2026", "V28", "coefficients.tsv");
    const text = readFileSync(coef, "utf8");
    const lines = text.split("\n");
    const cells = lines[1]!.split("\t");
    cells[2] = String(Number(cells[2]) + 0.125);
    lines[1] = cells.join("\t");
    writeFileSync(coef, lines.join("\n"));
    const c = cachedPackFor(src, load, buildPack, join(cache, "c"));
    expect(loads).toBe(2);
    expect(Buffer.from(c.bytes).equals(Buffer.from(a.bytes))).toBe(false);
    expect(Buffer.from(c.bytes).equals(Buffer.from(buildPack(loadPaymentYear(2026, { dataDir: data })).bytes))).toBe(true);
    cachedPackFor(src, load, buildPack, join(cache, "c"));
    expect(loads).toBe(2);

    // a file the tables came from removed: loaded again (and the load's own error surfaces)
    rmSync(join(data, "rules", "v28.json"));
    expect(() => cachedPackFor(src, load, buildPack, join(cache, "c"))).toThrow(/v28\.json/);
    expect(loads).toBe(3);

    // another coefficient set or payment year is another source
    writeFileSync(coef, text);
    cpSync(join(defaultDataDir(), "rules", "v28.json"), join(data, "rules", "v28.json"));
    cachedPackFor(
      { ...src, paymentYear: 2025 },
      () => (loads++, loadPaymentYear(2025, { dataDir: data })),
      buildPack,
      join(cache, "c"),
    );
    expect(loads).toBe(4);
  });

  it("records every data file a table load reads", () => {
    const { value, files } = recordReads(() => loadPaymentYear(2026, {}));
    expect(value.paymentYear).toBe(2026);
    const names = files.map((f) => f.slice(defaultDataDir().length + 1));
    for (const f of [
      "MANIFEST.json",
      "parameters.json",
      "py2026/V28/coefficients.tsv",
      "py2026/V28/crosswalk.tsv",
      "rules/v28.json",
    ])
      expect(names).toContain(f);
    expect(names.every((f) => !f.startsWith("py2025/"))).toBe(true);
  });
});
