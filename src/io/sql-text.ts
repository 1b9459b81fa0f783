// SQL text helpers with no database behind them: checked identifiers and string literals. Kept
// apart from the DuckDB modules so that paths which never open a warehouse (member-record files)
// do not load the DuckDB bindings to validate a name.
import { UsageError } from "../errors.js";

export const IDENT = /^[A-Za-z_][A-Za-z0-9_]{0,127}$/;

/** A schema or table name checked before it is put in SQL. */
export function checkIdent(name: string, what: string): string {
  if (!IDENT.test(name)) throw new UsageError(`${what} '${name}' is not a valid identifier (letters, digits, _; ≤128)`);
  return name;
}

/** SQL string literal. */
export const sqlString = (s: string): string => `'${s.replace(/'/g, "''")}'`;
