// --keep-inputs N keeps the run just committed and the N - 1 newest others. Run ids are a
// timestamp in seconds and a random suffix: two runs in the same second must be ordered by when
// their snapshots were written, not by the suffix (a nightly that scored twice within a second
// used to lose the newer run's snapshot about half the time).
import { mkdirSync, mkdtempSync, readdirSync, rmSync, utimesSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { pruneRunSnapshots } from "../../src/io/run-snapshots.js";

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** Run directories created in this order, each one second newer than the previous (mtime). */
function runs(ids: string[]): string {
  const dir = mkdtempSync(join(tmpdir(), "hcc-prune-"));
  dirs.push(dir);
  const t0 = Date.now() / 1000 - 100;
  ids.forEach((id, i) => {
    mkdirSync(join(dir, id));
    utimesSync(join(dir, id), t0 + i, t0 + i);
  });
  return dir;
}

describe("pruneRunSnapshots", () => {
  it("same second, suffixes in the opposite order: keeps the run just committed", () => {
    const dir = runs(["20261206120000-ffffffff", "20261206120000-00000000"]);
    const removed = pruneRunSnapshots({ dir, keep: 1 }, "20261206120000-00000000");
    expect(removed).toEqual(["20261206120000-ffffffff"]);
    expect(readdirSync(dir)).toEqual(["20261206120000-00000000"]);
  });

  it("keeps the newest others by time, then by write time within a second", () => {
    const ids = [
      "20261206115959-00000001", // oldest second
      "20261206120000-eeeeeeee", // same second, written first
      "20261206120000-11111111", // same second, written second
      "20261206120001-aaaaaaaa", // the run just committed
    ];
    const dir = runs(ids);
    expect(pruneRunSnapshots({ dir, keep: 2 }, ids[3]!)).toEqual([ids[0], ids[1]]);
    expect(readdirSync(dir).sort()).toEqual([ids[2], ids[3]].sort());
  });

  it("ignores what is not a run directory, and a missing directory", () => {
    const dir = runs(["20261206120000-00000000", "notes"]);
    expect(pruneRunSnapshots({ dir, keep: 1 }, "20261206120001-12345678")).toEqual(["20261206120000-00000000"]);
    expect(readdirSync(dir)).toEqual(["notes"]);
    expect(pruneRunSnapshots({ dir: join(dir, "none"), keep: 1 }, "x")).toEqual([]);
  });
});
