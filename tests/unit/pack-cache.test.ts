// The pack cache (src/data/pack-cache.ts): a second load reads the stored pack instead of
// building, and gives the same bytes and meta; a corrupt entry is rebuilt; other tables get
// another key; an unwritable directory only costs the build; HCC_CACHE_DIR=off turns it off.
import { afterAll, describe, expect, it } from "vitest";
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { cachedPack, packCacheDir, packCacheKey } from "../../src/data/pack-cache.js";
import { loadPaymentYear } from "../../src/data/load.js";
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
});
