// Every dbt model declares its grain and its keys as data tests, so a model cannot be added (or
// lose its tests) without them: read from dbt's own manifest (`dbt parse`), not from the yml.
// A grain test is `unique` on one column or hcc_unique_combination_of_columns, with no `where`;
// every column of it needs an unconditional not_null unless listed below with the reason. The
// tests themselves run in `dbt build` (tests/integration/dbt.test.ts, nightly.test.ts).
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const root = fileURLToPath(new URL("../..", import.meta.url));
const dbtBin = join(root, ".venv", "bin", "dbt");

/** Grain columns that may be null by design (null groups with null in the grain test). */
const NULLABLE_GRAIN_COLUMNS: Record<string, Record<string, string>> = {
  stg_risk_score_gap_values: {
    hcc_code: "null on add_all rows (every candidate of the model together)",
  },
  stg_plan_base_rates: {
    county_code: "null = the plan's rate in every county without its own row",
  },
  int_score_run_change_sums: { plan_id: "members without a plan are one group" },
  fact_score_run_changes_by_plan: { plan_id: "members without a plan are one group" },
  stg_hcc_opportunities: {
    opportunity_source: "free text a plan may leave empty",
    evidence: "free text a plan may leave empty",
  },
  dim_hcc: { segment: "an HCC no segment scores has no coefficient row" },
};

/**
 * Views whose grain holds by construction: the model's rows come from one `select distinct` over
 * exactly these columns (plus columns that are functions of them), so a grain test could not
 * fail and would only re-evaluate a 12M-row view (docs/dbt.md "Performance"). Checked below:
 * the model is a view, its SQL has the `select distinct`, and names every grain column.
 */
const GRAIN_BY_CONSTRUCTION: Record<string, { columns: string[]; reason: string }> = {
  stg_diagnosis_codes: {
    columns: ["participant_id", "diagnosis_code_raw", "service_date", "diagnosis_source"],
    reason: "select distinct over the source row; diagnosis_code is a function of diagnosis_code_raw",
  },
  int_hcc_dx_codes_unnested: {
    columns: ["participant_id", "payment_year", "model", "hcc", "diagnosis_code"],
    reason: "select distinct over the grain columns, null codes filtered after it",
  },
};

/**
 * Models whose grain follows from tested grains upstream: every row is one row of `from` (tested
 * unique on `fromGrain`, which maps column for column onto the model's grain, except where
 * `mapped` names a one-to-one function checked by the singular test `test`), joined to at most
 * one row of `joinedUnique` (tested unique on `joinedGrain`). A grain test on the model itself
 * would re-evaluate a 7M-row view (docs/dbt.md "Performance"). Checked below.
 */
const GRAIN_BY_DERIVATION: Record<
  string,
  { from: string; fromGrain: string[]; joinedUnique: string; joinedGrain: string[]; test: string }
> = {
  patient_risk_factors: {
    from: "int_hcc_calculations",
    fromGrain: ["participant_id", "payment_year", "model", "factor"], // person_id, payment_year, model_version, factor
    joinedUnique: "fact_patient_risk_scores",
    joinedGrain: ["participant_id", "payment_year"],
    test: "assert_tuva_model_versions_are_distinct", // model → model_version one-to-one
  },
};

interface ManifestNode {
  resource_type: string;
  name: string;
  original_file_path: string;
  attached_node?: string | null;
  column_name?: string | null;
  test_metadata?: { name: string; kwargs: Record<string, unknown> };
  config: { where?: string | null; severity?: string; enabled?: boolean; materialized?: string };
  raw_code?: string;
  depends_on?: { nodes?: string[] };
}

interface ModelTests {
  grains: string[][];
  notNull: Set<string>;
}

describe.skipIf(!existsSync(dbtBin) && !process.env["CI"])("dbt models: grain and key tests", () => {
  let dir: string;
  let models: ManifestNode[];
  let singular: ManifestNode[] = [];
  let disabled: string[] = [];
  const tests = new Map<string, ModelTests>();

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), "hcc-dbt-parse-"));
    const r = spawnSync("bash", [join(root, "scripts", "dbt.sh"), "parse", "--no-partial-parse"], {
      cwd: root,
      encoding: "utf8",
      env: { ...process.env, DBT_TARGET_PATH: join(dir, "target"), DBT_LOG_PATH: join(dir, "logs") },
    });
    if (r.status !== 0) throw new Error(`dbt parse failed:\n${r.stdout}\n${r.stderr}`);
    const manifest = JSON.parse(readFileSync(join(dir, "target", "manifest.json"), "utf8")) as {
      nodes: Record<string, ManifestNode>;
      disabled?: Record<string, ManifestNode[]>;
    };
    // models disabled on this target (the BigQuery UDF models on DuckDB) are listed, not tested
    disabled = Object.values(manifest.disabled ?? {})
      .flat()
      .filter((n) => n.resource_type === "model")
      .map((n) => n.name);
    const nodes = Object.values(manifest.nodes);
    models = nodes.filter((n) => n.resource_type === "model");
    singular = nodes.filter((n) => n.resource_type === "test" && !n.test_metadata);
    for (const m of models) tests.set(m.name, { grains: [], notNull: new Set() });
    for (const t of nodes) {
      if (t.resource_type !== "test" || !t.test_metadata || !t.attached_node) continue;
      if (t.config.where || t.config.enabled === false || t.config.severity?.toLowerCase() === "warn") continue;
      const entry = tests.get(t.attached_node.split(".").at(-1) ?? "");
      if (!entry) continue;
      const { name, kwargs } = t.test_metadata;
      if (name === "not_null" && t.column_name) entry.notNull.add(t.column_name);
      if (name === "unique" && t.column_name) entry.grains.push([t.column_name]);
      if (name === "hcc_unique_combination_of_columns") entry.grains.push(kwargs["combination_of_columns"] as string[]);
    }
  });

  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("the manifest holds every .sql model under dbt/models", () => {
    const files = readdirSync(join(root, "dbt", "models"), { recursive: true, encoding: "utf8" })
      .filter((f) => f.endsWith(".sql"))
      .map((f) => basename(f, ".sql"))
      .sort();
    expect([...models.map((m) => m.name), ...disabled].sort()).toEqual(files);
    expect(files.length).toBeGreaterThanOrEqual(20);
  });

  it("every model has an unconditional grain test over its natural key columns", () => {
    const missing = models
      .filter((m) => !(m.name in GRAIN_BY_CONSTRUCTION) && !(m.name in GRAIN_BY_DERIVATION))
      .filter((m) => !tests.get(m.name)?.grains.some((cols) => cols.every((c) => !c.endsWith("_key"))))
      .map((m) => `${m.name} (${m.original_file_path})`);
    expect(missing).toEqual([]);
  });

  it("a grain held by construction: a view with one select distinct naming every grain column, and no test", () => {
    for (const [name, { columns }] of Object.entries(GRAIN_BY_CONSTRUCTION)) {
      const m = models.find((x) => x.name === name);
      expect(m, name).toBeDefined();
      expect(m?.config.materialized, name).toBe("view");
      const sql = (m?.raw_code ?? "").toLowerCase();
      expect(sql.match(/select distinct/g)?.length, name).toBe(1);
      for (const c of columns) expect(sql, `${name}.${c}`).toContain(c);
      // a model that has its grain test again belongs in the tested list, not here
      expect(tests.get(name)?.grains ?? [], name).toEqual([]);
    }
  });

  it("a grain held by derivation: the upstream grains are tested, the model reads them, the mapping has its test", () => {
    const sameCols = (a: string[], b: string[]): boolean => a.length === b.length && a.every((c) => b.includes(c));
    for (const [name, d] of Object.entries(GRAIN_BY_DERIVATION)) {
      const m = models.find((x) => x.name === name);
      expect(m, name).toBeDefined();
      const deps = m?.depends_on?.nodes ?? [];
      expect(deps, name).toContain(`model.hcc_wasm.${d.from}`);
      expect(deps, name).toContain(`model.hcc_wasm.${d.joinedUnique}`);
      expect(
        tests.get(d.from)?.grains.some((g) => sameCols(g, d.fromGrain)),
        d.from,
      ).toBe(true);
      expect(
        tests.get(d.joinedUnique)?.grains.some((g) => sameCols(g, d.joinedGrain)),
        d.joinedUnique,
      ).toBe(true);
      const t = singular.find((x) => x.name === d.test);
      expect(t, d.test).toBeDefined();
      expect(t?.config.severity?.toLowerCase(), d.test).not.toBe("warn");
      expect(t?.depends_on?.nodes ?? [], d.test).toContain(`model.hcc_wasm.${d.from}`);
      // a model that has its grain test again belongs in the tested list, not here
      expect(tests.get(name)?.grains ?? [], name).toEqual([]);
    }
  });

  it("every grain column has an unconditional not_null test, or a documented reason to be nullable", () => {
    const gaps: string[] = [];
    for (const [model, { grains, notNull }] of tests) {
      for (const cols of grains) {
        for (const c of cols) {
          if (!notNull.has(c) && !NULLABLE_GRAIN_COLUMNS[model]?.[c]) gaps.push(`${model}.${c}`);
        }
      }
    }
    expect(gaps).toEqual([]);
  });

  it("the documented nullable grain columns still exist in a grain test (the list cannot rot)", () => {
    const stale: string[] = [];
    for (const [model, cols] of Object.entries(NULLABLE_GRAIN_COLUMNS)) {
      for (const c of Object.keys(cols)) {
        if (!tests.get(model)?.grains.some((g) => g.includes(c))) stale.push(`${model}.${c}`);
      }
    }
    expect(stale).toEqual([]);
  });
});

// The grain test's DuckDB body groups by a 64-bit hash first and by the columns only where a hash
// repeats: it must report exactly the duplicates the plain body reports (nulls group together).
describe.skipIf(!existsSync(dbtBin) && !process.env["CI"])("hcc_unique_combination_of_columns on DuckDB", () => {
  const show = (macro: string): unknown => {
    const dir = mkdtempSync(join(tmpdir(), "hcc-dbt-show-"));
    try {
      const rows =
        "(values (1, chr(97)), (1, chr(97)), (2, null), (2, null), (3, chr(98)), (4, chr(99)), (4, chr(100)), (5, chr(101)), (5, chr(101)), (5, chr(101)))";
      const inline = `{{ hcc_wasm.${macro}('(select * from ${rows} as t(x, y))', ['x', 'y']) }} order by x`;
      const r = spawnSync(
        "bash",
        [join(root, "scripts", "dbt.sh"), "show", "--inline", inline, "--output", "json", "--limit", "-1", "--quiet"],
        {
          cwd: root,
          encoding: "utf8",
          env: {
            ...process.env,
            HCC_WAREHOUSE: join(dir, "w.duckdb"),
            DBT_TARGET_PATH: join(dir, "target"),
            DBT_LOG_PATH: join(dir, "logs"),
          },
        },
      );
      if (r.status !== 0) throw new Error(`dbt show failed:\n${r.stdout}\n${r.stderr}`);
      return (JSON.parse(r.stdout) as { show: unknown }).show;
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  };

  it("reports the same duplicate combinations as the plain group-by", () => {
    const expected = [
      { x: 1, y: "a", n_rows: 2 },
      { x: 2, y: null, n_rows: 2 },
      { x: 5, y: "e", n_rows: 3 },
    ];
    expect(show("duckdb__test_hcc_unique_combination_of_columns")).toEqual(expected);
    expect(show("default__test_hcc_unique_combination_of_columns")).toEqual(expected);
  });
});
