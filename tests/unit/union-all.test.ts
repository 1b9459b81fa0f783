// unionAll (src/io/sql-text.ts): operands in order, nested as a balanced tree, so that DuckDB takes
// thousands of them — a stored view too, read back by a new connection with default settings.
import { describe, expect, it } from "vitest";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DuckDBInstance } from "@duckdb/node-api";
import { unionAll } from "../../src/io/sql-text.js";

describe("unionAll", () => {
  it("keeps one operand as it is and the operands' order", () => {
    expect(unionAll(["SELECT 1"])).toBe("SELECT 1");
    const text = unionAll(["SELECT 'a'", "SELECT 'b'", "SELECT 'c'", "SELECT 'd'", "SELECT 'e'"]);
    const at = ["a", "b", "c", "d", "e"].map((x) => text.indexOf(`'${x}'`));
    expect(at.every((p, i) => p >= 0 && (i === 0 || p > at[i - 1]!))).toBe(true);
    expect(() => unionAll([])).toThrow(RangeError);
  });

  it("nests 5,000 operands about 13 deep, and DuckDB reads a view of them after a reopen", async () => {
    const n = 5000;
    const text = unionAll(Array.from({ length: n }, (_, i) => `SELECT ${i} AS x`));
    let depth = 0;
    let deepest = 0;
    for (const ch of text) {
      if (ch === "(") deepest = Math.max(deepest, ++depth);
      else if (ch === ")") depth--;
    }
    expect(deepest).toBe(Math.ceil(Math.log2(n)));
    const db = join(mkdtempSync(join(tmpdir(), "hcc-union-")), "w.duckdb");
    let inst = await DuckDBInstance.create(db);
    let c = await inst.connect();
    await c.run(`CREATE VIEW v AS ${text}`);
    c.closeSync();
    inst.closeSync();
    inst = await DuckDBInstance.create(db);
    c = await inst.connect();
    try {
      const [row] = (await c.runAndReadAll("SELECT CAST(count(*) AS INTEGER), CAST(sum(x) AS INTEGER) FROM v")).getRows();
      expect(row).toEqual([n, (n * (n - 1)) / 2]);
    } finally {
      c.closeSync();
      inst.closeSync();
    }
  });
});
