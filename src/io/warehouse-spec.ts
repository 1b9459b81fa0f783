// What a --source / --output string names, decided from the text alone (no warehouse opened, no
// database library loaded): the CLI asks before it knows whether the run needs DuckDB.

/** Whether a --source/--output string names a DuckDB warehouse file (duckdb:<file> or *.duckdb). */
export function isWarehouseSpec(spec: string): boolean {
  return warehousePath(spec) !== null;
}

/** The warehouse file a --source/--output string names, or null when it names none. */
export function warehousePath(spec: string): string | null {
  if (spec.startsWith("duckdb:")) return spec.slice("duckdb:".length) || "./warehouse.duckdb";
  return spec.endsWith(".duckdb") ? spec : null;
}
