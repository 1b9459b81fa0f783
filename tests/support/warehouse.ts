// Test helpers shared by the CLI integration tests: run the real `hcc` bin, and inspect a
// warehouse (or ":memory:" with read_parquet) with DuckDB afterwards.
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { DuckDBInstance } from "@duckdb/node-api";

export const bin = fileURLToPath(new URL("../../bin/hcc.js", import.meta.url));
export const hcc = (...args: string[]) => spawnSync("node", [bin, ...args], { encoding: "utf8" });

/** Run statements in order; the rows of the last, as JSON-friendly objects. */
export async function sql<T = Record<string, unknown>>(wh: string, ...statements: string[]): Promise<T[]> {
  const db = await DuckDBInstance.create(wh);
  const c = await db.connect();
  try {
    let last: T[] = [];
    for (const s of statements) last = (await c.runAndReadAll(s)).getRowObjectsJson() as T[];
    return last;
  } finally {
    c.closeSync();
    db.closeSync();
  }
}
