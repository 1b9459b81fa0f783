// Shared helpers for the ingest tests: run an ingest into a temp warehouse and read it back.
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DuckDBInstance } from "@duckdb/node-api";
import { runIngest, type IngestOptions, type IngestResult } from "../../src/ingest/run.js";

export const ROOT = new URL("../..", import.meta.url).pathname;
export const DATA = join(ROOT, "data");
export const SAMPLES = join(ROOT, "..", "shared", "samples");

/** The tables an ingest publishes that the serial-against-parallel tests compare row by row. */
export const PUBLISHED_TABLES = [
  "claims_diagnosis_provenance",
  "claims_diagnoses",
  "claims_ingest_outcomes",
  "participant_diagnosis_codes",
  "participants",
  "participants_provenance",
];

/** The ICD-10 codes V28 maps (PY2026): the generator's codes that reach an HCC. */
export function hccCodes(): string[] {
  return readFileSync(join(DATA, "py2026", "V28", "crosswalk.tsv"), "utf8")
    .split("\n")
    .slice(1)
    .map((l) => l.split("\t")[0] ?? "")
    .filter((c) => c !== "");
}

export function tempDir(): string {
  return mkdtempSync(join(tmpdir(), "hcc-ingest-"));
}

export function writeFile(dir: string, name: string, text: string | Buffer): string {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
}

export async function ingest(files: string[], db: string, o: Partial<IngestOptions> = {}): Promise<IngestResult> {
  return runIngest({ files, db, paymentYear: 2026, dataDir: DATA, ...o });
}

export async function query(db: string, sql: string): Promise<Record<string, unknown>[]> {
  const inst = await DuckDBInstance.create(db);
  const c = await inst.connect();
  try {
    const r = await c.runAndReadAll(sql);
    return r.getRowObjectsJS() as Record<string, unknown>[];
  } finally {
    c.closeSync();
    inst.closeSync();
  }
}

/** Rows of `table` in one warehouse and not in the other (both directions), run ids left out. */
export async function differences(a: string, b: string, table: string): Promise<number> {
  const inst = await DuckDBInstance.create(":memory:");
  const c = await inst.connect();
  try {
    await c.run(`ATTACH '${a}' AS a (READ_ONLY); ATTACH '${b}' AS b (READ_ONLY)`);
    const cols = (
      await c.runAndReadAll(
        `SELECT string_agg('"' || column_name || '"', ', ' ORDER BY ordinal_position) FROM information_schema.columns
         WHERE table_catalog = 'a' AND table_schema = 'sgv_reporting' AND table_name = '${table}' AND column_name <> 'ingest_run_id'`,
      )
    ).getRows()[0]![0] as string;
    const q = (x: string, y: string): string =>
      `SELECT count(*) FROM (SELECT ${cols} FROM ${x}.sgv_reporting.${table} EXCEPT ALL SELECT ${cols} FROM ${y}.sgv_reporting.${table})`;
    const n = (await c.runAndReadAll(`SELECT (${q("a", "b")}) + (${q("b", "a")})`)).getRows()[0]![0];
    return Number(n);
  } finally {
    c.closeSync();
    inst.closeSync();
  }
}

/** A minimal 837P interchange around the given claim loops (each: CLM … lines), '*' '~' ':'. */
export function x12P(claims: string[][], opts: { se?: boolean; ge?: boolean; iea?: boolean; seCount?: number } = {}): string {
  const body = [
    "BHT*0019*00*1*20250101*1200*CH",
    "NM1*41*2*SUB*****46*1",
    "HL*1**20*1",
    "NM1*85*2*BILLING*****XX*1111111111",
    "HL*2*1*22*0",
    "NM1*IL*1*DOE*J****MI*MEMBER1",
    ...claims.flat(),
  ];
  const segs = ["ST*837*0001*005010X222A1", ...body];
  const se = `SE*${opts.seCount ?? segs.length + 1}*0001`;
  return [
    "ISA*00*          *00*          *ZZ*SUBMITTER      *ZZ*RECEIVER       *250101*1200*^*00501*000000001*0*P*:",
    "GS*HC*S*R*20250101*1200*1*X*005010X222A1",
    ...segs,
    ...(opts.se === false ? [] : [se]),
    ...(opts.ge === false ? [] : ["GE*1*1"]),
    ...(opts.iea === false ? [] : ["IEA*1*000000001"]),
  ]
    .map((s) => s + "~\n")
    .join("");
}

/** A professional claim loop with one E/M line (99213, eligible) on 2025-03-01. */
export function claimP(
  id: string,
  dx: string[],
  opts: { freq?: string; ref?: string; code?: string; date?: string } = {},
): string[] {
  return [
    `CLM*${id}*100***11:B:${opts.freq ?? "1"}*Y*A*Y*Y`,
    ...(opts.ref ? [`REF*F8*${opts.ref}`] : []),
    `HI*${dx.map((d, i) => `${i === 0 ? "ABK" : "ABF"}:${d}`).join("*")}`,
    "LX*1",
    `SV1*HC:${opts.code ?? "99213"}*100*UN*1***1`,
    `DTP*472*D8*${opts.date ?? "20250301"}`,
  ];
}
