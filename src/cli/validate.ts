// `hcc validate`: prove the dbt marts agree 100% with the engine's own results in the embedded
// warehouse — every participant present in fact_patient_risk_scores, identical scores, identical
// kept HCC sets per model. Prints counts only (no member ids or codes).
import { existsSync } from "node:fs";
import type { Command } from "commander";
import { DuckDBInstance } from "@duckdb/node-api";
import { DataError, UsageError } from "../errors.js";
import { checkIdent } from "../io/duckdb-warehouse.js";
import { MODEL_IDS } from "../data/sources.js";

export interface ValidationResult {
  paymentYear: number;
  participants: number;
  missingFromMart: number;
  scoreMismatches: number;
  hccMismatches: number;
  modelsChecked: string[];
}

export async function validateWarehouse(
  path: string,
  o: { schema?: string; martsSchema?: string } = {},
): Promise<ValidationResult> {
  const src = checkIdent(o.schema ?? "sgv_reporting", "schema");
  const marts = checkIdent(o.martsSchema ?? `${process.env["HCC_DBT_SCHEMA"] ?? "hcc"}_marts`, "marts schema");
  if (!existsSync(path))
    throw new DataError(`${path}: warehouse not found; run hcc nightly or hcc generate + hcc score first`, { file: path });
  const inst = await DuckDBInstance.create(path, { access_mode: "READ_ONLY" });
  const conn = await inst.connect();
  const one = async (sql: string): Promise<number> => {
    const r = await conn.runAndReadAll(sql);
    const v = r.getRows()[0]?.[0];
    return Number(v ?? 0);
  };
  try {
    const has = async (schema: string, table: string): Promise<boolean> =>
      (await one(
        `select count(*) from information_schema.tables where lower(table_schema) = lower('${schema}') and table_name = '${table}'`,
      )) > 0;
    if (!(await has(src, "risk_scores")))
      throw new DataError(`${path}: ${src}.risk_scores not found; run hcc score first`, { file: path });
    if (!(await has(marts, "fact_patient_risk_scores"))) {
      throw new DataError(`${path}: ${marts}.fact_patient_risk_scores not found; run dbt build (hcc nightly) first`, {
        file: path,
      });
    }
    const py = await one(`select max(payment_year) from ${src}.risk_scores`);
    if (!py) throw new DataError(`${path}: ${src}.risk_scores is empty; run hcc score first`);
    const cols = (
      await conn.runAndReadAll(
        `select column_name from information_schema.columns where lower(table_schema) = lower('${src}') and table_name = 'risk_scores'`,
      )
    )
      .getRows()
      .map((r) => String(r[0]));
    const models = MODEL_IDS.filter((m) => cols.includes(`${m.toLowerCase()}_hccs`));
    const participants = await one(`select count(*) from ${src}.participants`);
    const missingFromMart = await one(
      `select count(*) from (select distinct participant_id from ${src}.participants) p
       where not exists (select 1 from ${marts}.fact_patient_risk_scores f where f.participant_id = p.participant_id and f.payment_year = ${py})`,
    );
    const scoreCols = ["risk_score", "payment_score", "rx_risk_score", ...models.map((m) => `${m.toLowerCase()}_raw_score`)];
    const scoreMismatches = await one(
      `select count(*) from ${src}.risk_scores r join ${marts}.fact_patient_risk_scores f using (participant_id, payment_year)
       where ${scoreCols.map((c) => `r.${c} is distinct from f.${c}`).join(" or ")}`,
    );
    let hccMismatches = 0;
    for (const m of models) {
      const c = `${m.toLowerCase()}_hccs`;
      hccMismatches += await one(
        `with ours as (select participant_id, unnest(${c}) as hcc_code from ${src}.risk_scores where payment_year = ${py}),
              mart as (select participant_id, hcc_code from ${marts}.fact_member_hccs where model = '${m}' and hcc_status = 'kept' and payment_year = ${py})
         select (select count(*) from (select * from ours except select * from mart)) + (select count(*) from (select * from mart except select * from ours))`,
      );
    }
    return { paymentYear: py, participants, missingFromMart, scoreMismatches, hccMismatches, modelsChecked: models };
  } finally {
    conn.closeSync();
    inst.closeSync();
  }
}

export function registerValidate(program: Command): void {
  program
    .command("validate")
    .description("check that the dbt marts agree 100% with the engine's results in the warehouse")
    .option("--db <file>", "warehouse file", "./warehouse.duckdb")
    .option("--schema <name>", "source schema", "sgv_reporting")
    .action(async (o: { db: string; schema: string }) => {
      if (!o.db.endsWith(".duckdb")) throw new UsageError("--db: expected a *.duckdb warehouse file");
      const v = await validateWarehouse(o.db, { schema: o.schema });
      process.stdout.write(
        `PY${v.paymentYear}: ${v.participants} participants; missing from fact_patient_risk_scores: ${v.missingFromMart}; ` +
          `score mismatches: ${v.scoreMismatches}; HCC set differences: ${v.hccMismatches} (models ${v.modelsChecked.join(", ")})\n`,
      );
      if (v.missingFromMart + v.scoreMismatches + v.hccMismatches > 0)
        throw new DataError("marts disagree with the engine's results");
    });
}
