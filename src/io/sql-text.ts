// SQL text helpers with no database behind them: checked identifiers, string literals, unions. Kept
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

/**
 * `selects` combined with UNION ALL as a balanced tree, `((a UNION ALL b) UNION ALL (c UNION ALL d))`,
 * in their order. DuckDB nests a chain `a UNION ALL b UNION ALL …` one level per operand and
 * refuses more than `max_expression_depth` (1000) levels — a stored view too, whenever it is read;
 * balanced, 10,000 operands nest 14 deep.
 */
export function unionAll(selects: readonly string[]): string {
  if (selects.length === 0) throw new RangeError("unionAll: no operands");
  const tree = (from: number, to: number): string => {
    if (to - from === 1) return selects[from]!;
    const mid = (from + to) >>> 1;
    return `(${tree(from, mid)}\nUNION ALL ${tree(mid, to)})`;
  };
  return tree(0, selects.length);
}
