// --dry-run for --warehouse bigquery: what would be read (tables, selected fields, restriction,
// the grouping statement) and written (staging, load jobs, the commit transaction), with BigQuery's
// own estimates when it can be asked: table sizes (tables.get) and the bytes the grouping query
// would bill (a dry-run query job, which is free). Never reads rows; never prints member data.
import { BigQuery } from "@google-cloud/bigquery";
import { bigQueryClientOptions, qualifiedName, type BigQueryConfig } from "./config.js";
import { MEMBER_COLUMNS, buildGroupMembersSql, readTableColumns, type TableRef } from "./source.js";
import { parquetLoadConfig } from "./sink.js";

export interface DryRunOptions {
  /** Ask BigQuery for table sizes and a dry-run query estimate (needs read access). Default true. */
  probe?: boolean;
}

const TIB = 2 ** 40;

function fmtBytes(n: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let v = n;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return `${v.toFixed(u === 0 ? 0 : 1)} ${units[u]}`;
}

async function tableSize(bq: BigQuery, ref: TableRef): Promise<string> {
  try {
    const [meta] = (await bq
      .dataset(ref.datasetId, { projectId: ref.projectId })
      .table(ref.tableId)
      .getMetadata()) as unknown as [{ numRows?: string; numBytes?: string }];
    return `${Number(meta.numRows ?? 0).toLocaleString("en-US")} rows, ${fmtBytes(Number(meta.numBytes ?? 0))}`;
  } catch (e) {
    return `unavailable (${(e as Error).message})`;
  }
}

export async function describeBigQueryRun(c: BigQueryConfig, opts: DryRunOptions = {}): Promise<string> {
  const probe = opts.probe ?? true;
  const bq = probe ? new BigQuery(bigQueryClientOptions(c)) : null;
  const ref = (tableId: string): TableRef => ({ projectId: c.project, datasetId: c.dataset, tableId });
  const lines: string[] = ["BigQuery dry run: nothing is read or written.", ""];
  lines.push(`project ${c.project}, dataset ${c.dataset}${c.location !== undefined ? `, location ${c.location}` : ""}`);
  lines.push(`REST endpoint: ${c.apiEndpoint ?? "https://bigquery.googleapis.com"}`);
  const se = c.storageEndpoint;
  lines.push(
    `Storage Read endpoint: ${se ? `${se.host}:${se.port}${se.plaintext ? " (plaintext, loopback)" : " (TLS)"}` : "bigquerystorage.googleapis.com:443"}`,
  );
  lines.push(
    `auth: ${c.auth.kind === "adc" ? "application default credentials" : c.auth.kind === "token" ? "BIGQUERY_ACCESS_TOKEN" : "none (loopback endpoints)"}`,
  );
  lines.push("", "Read:");
  if (c.tables.members !== undefined) {
    const t = ref(c.tables.members);
    lines.push(`  grouped members table ${qualifiedName(c, c.tables.members)}${bq ? ` (${await tableSize(bq, t)})` : ""}`);
    const cols = bq
      ? (await readTableColumns(bq, t).catch(() => [])).filter((x) =>
          ["participant_id", "diagnosis_codes", ...MEMBER_COLUMNS].includes(x),
        )
      : [];
    lines.push(`  selected fields: ${cols.length > 0 ? cols.join(", ") : "(member columns present in the table)"}`);
  } else {
    for (const t of [c.tables.participants, c.tables.diagnosisCodes]) {
      lines.push(`  ${qualifiedName(c, t)}${bq ? ` (${await tableSize(bq, ref(t))})` : ""}`);
    }
    const cols = bq
      ? await readTableColumns(bq, ref(c.tables.participants)).catch(() => ["participant_id", ...MEMBER_COLUMNS])
      : ["participant_id", ...MEMBER_COLUMNS];
    const sql = buildGroupMembersSql(
      c,
      cols.filter((x) => x === "participant_id" || (MEMBER_COLUMNS as readonly string[]).includes(x)),
    );
    lines.push("  1. query job grouping diagnosis codes per participant into its anonymous result table:");
    lines.push(...sql.split("\n").map((l) => `       ${l}`));
    if (bq) {
      try {
        const [job] = await bq.createQueryJob({
          query: sql,
          dryRun: true,
          useLegacySql: false,
          ...(c.location !== undefined ? { location: c.location } : {}),
        });
        const bytes = Number(
          (job.metadata as { statistics?: { totalBytesProcessed?: string } }).statistics?.totalBytesProcessed ?? 0,
        );
        lines.push(
          `     estimated bytes billed by the query: ${fmtBytes(bytes)} (≈ ${(bytes / TIB).toFixed(4)} TiB at on-demand pricing)`,
        );
      } catch (e) {
        lines.push(`     query estimate unavailable (${(e as Error).message})`);
      }
    }
    lines.push("  2. Storage Read session (Arrow) on that table, then a second one-column session for the orphan count");
  }
  lines.push(`  row restriction: ${c.where ?? "(none)"}`);
  lines.push(`  up to ${c.maxStreams} concurrent streams; resume at offset up to ${c.maxStreamRetries} times per stream`);
  lines.push("", "Write:");
  for (const t of [c.tables.riskScores, c.tables.riskScoreFactors]) {
    lines.push(
      `  ${qualifiedName(c, t)}: Parquet parts of ${c.loadPartRows.toLocaleString("en-US")} rows → resumable uploads as load jobs into ${t}__staging_<runId>`,
    );
  }
  lines.push(
    `  load configuration (first part; later parts WRITE_APPEND, CREATE_NEVER): ${JSON.stringify(parquetLoadConfig("WRITE_TRUNCATE"))}`,
  );
  lines.push(
    `  commit: one query job (job id hcc_commit_<runId>${c.location !== undefined ? `, location ${c.location}` : ""}) running a script: new columns added first`,
    `    (ALTER TABLE … ADD COLUMN IF NOT EXISTS), then one transaction — BEGIN TRANSACTION; TRUNCATE TABLE and`,
    `    INSERT … SELECT from staging for ${c.tables.riskScores} and ${c.tables.riskScoreFactors} (also to empty); INSERT INTO ${c.tables.scoreRuns}; COMMIT TRANSACTION`,
    "    bills the bytes the INSERT … SELECTs read from staging (about the size of this run's results); TRUNCATE and the checks read no column data",
    `  then the staging tables are dropped, and staging tables of runs that died before committing are swept`,
    "  a failed run drops its staging tables and appends a failed score_runs row; the previous results stay in place",
  );
  return lines.join("\n");
}
