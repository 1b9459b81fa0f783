// The hcc_parquet materialization (dbt/macros/materializations/hcc_parquet.sql) on a small dbt
// project of its own that uses the real macros: slots a/b, a failed build that leaves the previous
// view and file, a table of the same name replaced in one transaction, empty results with their
// column types, and the refusal of a relative directory. Needs the venv (dbt).
import { afterAll, describe, expect, it } from "vitest";
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { sql } from "../support/warehouse.js";

const dbt = new URL("../../.venv/bin/dbt", import.meta.url).pathname;
const macros = new URL("../../dbt/macros", import.meta.url).pathname;
// an apostrophe in the path: the views hold it as a SQL literal, the quote doubled
const dir = mkdtempSync(join(tmpdir(), "hcc-dbt-parquet-o'q-"));
const db = join(dir, "w.duckdb");
const files = `${db}.dbt/parquet`;

function project(): void {
  mkdirSync(join(dir, "models"), { recursive: true });
  writeFileSync(
    join(dir, "dbt_project.yml"),
    [
      "name: parquet_check",
      "version: '1.0.0'",
      "config-version: 2",
      "profile: parquet_check",
      "model-paths: ['models']",
      `macro-paths: ['${macros}']`,
      "models:",
      "  parquet_check:",
      "    +materialized: \"{{ var('materialized', 'hcc_parquet') }}\"",
      "",
    ].join("\n"),
  );
  writeFileSync(
    join(dir, "profiles.yml"),
    [
      "parquet_check:",
      "  target: duckdb",
      "  outputs:",
      "    duckdb:",
      "      type: duckdb",
      "      path: \"{{ env_var('CHECK_DB') }}\"",
      "      threads: 1",
      "",
    ].join("\n"),
  );
  // value v for ids 1..n; n = 0 gives no rows; fail makes the query fail while DuckDB writes it
  writeFileSync(
    join(dir, "models", "scores.sql"),
    `select i::integer as id, {{ var('v', 1) }}::double as score, 'p' || i as member, [i, i + 1] as codes
     from range(1, {{ var('n', 3) }} + 1) t(i)
     {% if var('fail', false) %}where error('boom at ' || i) is null{% endif %}`,
  );
}

function build(vars: Record<string, unknown>, dbPath = db): { status: number | null; stdout: string; stderr: string } {
  return spawnSync(
    dbt,
    ["build", "--project-dir", dir, "--profiles-dir", dir, "--vars", JSON.stringify(vars), "--no-partial-parse"],
    { encoding: "utf8", cwd: dir, env: { ...process.env, CHECK_DB: dbPath, DBT_SEND_ANONYMOUS_USAGE_STATS: "false" } },
  );
}

async function state(): Promise<{ kind: string; sql: string; total: number }> {
  const [t] = await sql(
    db,
    "SELECT table_type AS kind, coalesce(v.sql, '') AS sql FROM information_schema.tables t LEFT JOIN duckdb_views() v ON v.view_name = t.table_name AND v.schema_name = t.table_schema WHERE t.table_name = 'scores'",
  );
  const [s] = await sql(db, "SELECT coalesce(sum(score), 0)::DOUBLE AS total FROM main.scores");
  return { kind: String(t?.["kind"]), sql: String(t?.["sql"]), total: Number(s?.["total"]) };
}

/** The view reads slot `slot`'s file and holds `total` as the sum of its scores. */
async function expectView(slot: "a" | "b", total: number): Promise<void> {
  const s = await state();
  expect(s.kind).toBe("VIEW");
  expect(s.sql).toContain(`'${files.replaceAll("'", "''")}/main.scores.${slot}.parquet'`);
  expect(s.total).toBe(total);
}

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe.skipIf(!existsSync(dbt) && !process.env["CI"])("hcc_parquet materialization", () => {
  it("writes slot a, then b, then a again; a failed build leaves the view and its file", async () => {
    project();
    mkdirSync(files, { recursive: true });
    const first = build({ v: 2 });
    expect(first.stdout + first.stderr).toContain("Completed successfully");
    await expectView("a", 6);

    expect(build({ v: 5 }).status).toBe(0);
    await expectView("b", 15);

    // the query fails while DuckDB writes slot a: the view still reads b, with its rows
    const failed = build({ v: 9, fail: true });
    expect(failed.status).not.toBe(0);
    expect(failed.stdout).toContain("boom at");
    await expectView("b", 15);

    expect(build({ v: 7 }).status).toBe(0);
    await expectView("a", 21);
  });

  it("replaces a table of the same name, keeps the column types, and writes an empty result", async () => {
    expect(build({ v: 1, materialized: "table" }).status).toBe(0);
    expect((await state()).kind).toBe("BASE TABLE");
    const columnTypes = (): Promise<Record<string, unknown>[]> =>
      sql(db, "SELECT column_name, data_type FROM duckdb_columns() WHERE table_name = 'scores' ORDER BY column_index");
    const tableTypes = await columnTypes();

    expect(build({ v: 1, n: 0 }).status).toBe(0);
    const s = await state();
    expect(s.kind).toBe("VIEW");
    expect(s.total).toBe(0);
    const [n] = await sql(db, "SELECT count(*)::INTEGER AS n FROM main.scores");
    expect(n?.["n"]).toBe(0);
    expect(await columnTypes()).toEqual(tableTypes);
    expect(tableTypes.map((c) => c["data_type"])).toEqual(["INTEGER", "DOUBLE", "VARCHAR", "BIGINT[]"]);
  });

  it("refuses a relative directory: the views would name a different file from elsewhere", () => {
    const r = build({ v: 1 }, "w.duckdb");
    expect(r.status).not.toBe(0);
    expect(r.stdout).toContain("is not an absolute path");
  });
});
