// `hcc diff --from-run/--to-run` results in the warehouse (docs/attribution.md "Runs"): the
// attribution rows of a run pair in `<schema>.risk_score_changes`, keyed by (from_run_id,
// to_run_id, participant_id). Rows go to a CSV working file beside the warehouse through the
// same writer as `hcc diff --out`, then replace the pair's rows in one transaction.
import { rmSync } from "node:fs";
import { basename, dirname, join, resolve as resolvePath } from "node:path";
import { DuckDBInstance } from "@duckdb/node-api";
import type { AttributionRow } from "../attribution/attribute.js";
import { UnavailableError } from "../errors.js";
import { ATTRIBUTION_COLUMNS, AttributionFileWriter } from "./attribution-file.js";
import { checkIdent, commitInTransaction, sqlString } from "./duckdb-warehouse.js";
import type { SnapshotRun } from "./run-snapshots.js";
import { sweepLeftovers, workName } from "./leftovers.js";

export const RUN_CHANGES_TABLE = "risk_score_changes";

const TEXT = new Set(["participant_id", "dominant_cause", "status", "error"]);
const columnType = (c: string): string => (TEXT.has(c) ? "VARCHAR" : "DOUBLE");
const columnTypes = (): string => `{${ATTRIBUTION_COLUMNS.map((c) => `'${c}': '${columnType(c)}'`).join(", ")}}`;

export class RunChangesWriter {
  private readonly file: AttributionFileWriter;
  private readonly csv: string;
  private readonly schema: string;

  constructor(
    private readonly warehouse: string,
    schema: string,
    private readonly from: SnapshotRun,
    private readonly to: SnapshotRun,
  ) {
    this.schema = checkIdent(schema, "schema");
    const abs = resolvePath(warehouse);
    const prefix = `.hcc-changes-${basename(abs)}`;
    sweepLeftovers(dirname(abs), prefix); // a killed diff's working file
    this.csv = join(dirname(abs), workName(prefix, "csv"));
    this.file = new AttributionFileWriter(this.csv, "csv", [from.snapshot, to.snapshot]);
  }

  write(rows: readonly AttributionRow[]): void {
    this.file.write(rows);
  }

  /** Replaces the run pair's rows in risk_score_changes (one transaction); returns the rows. */
  async commit(): Promise<number> {
    const rows = this.file.commit();
    let db: DuckDBInstance;
    try {
      db = await DuckDBInstance.create(this.warehouse);
    } catch (e) {
      rmSync(this.csv, { force: true });
      throw new UnavailableError(`${this.warehouse}: cannot open the warehouse for writing (${(e as Error).message})`, e);
    }
    const c = await db.connect();
    const t = `${this.schema}.${RUN_CHANGES_TABLE}`;
    const pair = `from_run_id = ${sqlString(this.from.runId)} AND to_run_id = ${sqlString(this.to.runId)}`;
    try {
      await c.run(`CREATE TABLE IF NOT EXISTS ${t} (from_run_id VARCHAR NOT NULL, to_run_id VARCHAR NOT NULL,
        from_payment_year INTEGER, to_payment_year INTEGER,
        ${ATTRIBUTION_COLUMNS.map((col) => `${col} ${columnType(col)}`).join(", ")})`);
      await commitInTransaction(c, async () => {
        await c.run(`DELETE FROM ${t} WHERE ${pair}`);
        await c.run(
          `INSERT INTO ${t} SELECT ${sqlString(this.from.runId)}, ${sqlString(this.to.runId)}, ${this.from.paymentYear}, ${this.to.paymentYear},
             ${ATTRIBUTION_COLUMNS.join(", ")}
           FROM read_csv(${sqlString(this.csv)}, header = true, columns = ${columnTypes()})`,
        );
      });
      return rows;
    } finally {
      c.closeSync();
      db.closeSync();
      rmSync(this.csv, { force: true });
    }
  }

  abort(): void {
    this.file.abort();
  }
}
