// Sources and sinks from CLI strings: `duckdb:<file>` or `*.duckdb` (the warehouse), a member file
// by extension (.parquet, .arrow/.arrows/.ipc, .csv, .ndjson/.jsonl), or a directory (source:
// participants.parquet + participant_diagnosis_codes.parquet, long layout; sink: one file per
// result table). Directory sinks write to temporary names and rename on commit.
import { randomBytes } from "node:crypto";
import { sweepLeftovers, workName } from "./leftovers.js";
import {
  createWriteStream,
  existsSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readlinkSync,
  renameSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
  type WriteStream,
} from "node:fs";
import { once } from "node:events";
import { basename, join } from "node:path";
import {
  RecordBatchFileWriter,
  makeData,
  Field,
  Int64,
  RecordBatch,
  Schema,
  Struct,
  Utf8,
  vectorFromArray,
  type Data,
} from "apache-arrow";
import { DuckDBInstance } from "@duckdb/node-api";
import { DataError, UsageError } from "../errors.js";
import { DuckDBWarehouseSource, checkIdent, sqlString, type Layout } from "./duckdb-warehouse.js";
import { DuckDBWarehouseSink, type ResultStorage } from "./duckdb-sink.js";
import { ArrowIpcSource } from "./arrow-ipc.js";
import { MemberRecordSource } from "./member-records.js";
import { encodeText } from "./record-text.js";
import { encodeParquet } from "./parquet.js";
import { StagedParts } from "./staged-parts.js";
import type { MemberSource, PartStagingSink, ResultSink, ResultTable, ScoreRunRow, StagedPart } from "./types.js";

export interface OpenOptions {
  schema?: string;
  layout?: Layout;
  /** Output format of a directory sink (default parquet). */
  format?: FileFormat;
  /** How a warehouse sink publishes results (default parquet: views over Parquet parts). */
  resultStorage?: ResultStorage;
  /** A warehouse source joins each member's gap candidates from this table (docs/gap-values.md). */
  gaps?: { table: string; paymentYear: number };
}

export type FileFormat = "parquet" | "arrow" | "csv" | "ndjson";

const EXT: Record<string, FileFormat> = {
  parquet: "parquet",
  arrow: "arrow",
  arrows: "arrow",
  ipc: "arrow",
  feather: "arrow",
  csv: "csv",
  ndjson: "ndjson",
  jsonl: "ndjson",
};

export { isWarehouseSpec, warehousePath } from "./warehouse-spec.js";
import { warehousePath } from "./warehouse-spec.js";

const extOf = (spec: string): string => (spec.includes(".") ? (spec.split(".").pop() ?? "").toLowerCase() : "");

/** The member source a CLI string names (errors reject, as a later async source may need I/O to open). */
export function openSource(spec: string, o: OpenOptions = {}): Promise<MemberSource> {
  return new Promise((resolve) => resolve(sourceOf(spec, o)));
}

function sourceOf(spec: string, o: OpenOptions): MemberSource {
  const schema = checkIdent(o.schema ?? "sgv_reporting", "schema");
  const layout = o.layout ?? "auto";
  const wh = warehousePath(spec);
  if (wh) {
    // a read never creates: DuckDB would make an empty warehouse of a mistyped name
    if (!existsSync(wh)) throw new DataError(`${wh}: warehouse not found`, { file: wh });
    return new DuckDBWarehouseSource({ path: wh, schema, layout, ...(o.gaps ? { gaps: o.gaps } : {}) });
  }
  if (o.gaps) {
    throw new UsageError(
      `--gaps opportunities reads ${o.gaps.table} from a warehouse; ${spec} is not one (name the gaps: --gaps HCC17,… or --gaps all)`,
    );
  }
  if (existsSync(spec) && statSync(spec).isDirectory()) {
    const participants = join(spec, "participants.parquet");
    const dx = join(spec, "participant_diagnosis_codes.parquet");
    return new DuckDBWarehouseSource({
      path: spec,
      schema,
      layout,
      parquet: { participants, ...(existsSync(dx) ? { diagnoses: dx } : {}) },
    });
  }
  const fmt = EXT[extOf(spec)];
  switch (fmt) {
    case "parquet":
      return new DuckDBWarehouseSource({ path: spec, schema, layout: "grouped", parquet: { participants: spec } });
    case "arrow":
      return new ArrowIpcSource(spec);
    case "csv":
    case "ndjson":
      return new MemberRecordSource(spec, fmt);
    default:
      throw new UsageError(
        `${spec}: cannot tell the source kind; use duckdb:<file>, a .duckdb/.parquet/.arrow/.csv/.ndjson file or a directory`,
      );
  }
}

/** The result sink a CLI string names. */
export function openSink(spec: string, o: OpenOptions = {}): Promise<ResultSink> {
  return new Promise((resolve) => resolve(sinkOf(spec, o)));
}

function sinkOf(spec: string, o: OpenOptions): ResultSink {
  const wh = warehousePath(spec);
  if (wh) {
    const schema = checkIdent(o.schema ?? "sgv_reporting", "schema");
    return new DuckDBWarehouseSink({ path: wh, schema, ...(o.resultStorage ? { storage: o.resultStorage } : {}) });
  }
  const fmt = EXT[extOf(spec)];
  if (fmt && !(existsSync(spec) && statSync(spec).isDirectory())) {
    throw new UsageError(
      `${spec}: a result sink is a warehouse (duckdb:<file>) or a directory (risk_scores.${fmt} etc. are written in it)`,
    );
  }
  return new DirectorySink(spec, o.format ?? "parquet");
}

// ---------------------------------------------------------------------------------------------
// Directory sink

const RUN_FIELDS: readonly (readonly [keyof ScoreRunRow, "utf8" | "int"])[] = [
  ["run_id", "utf8"],
  ["started_at", "utf8"],
  ["finished_at", "utf8"],
  ["engine_version", "utf8"],
  ["payment_year", "int"],
  ["models", "utf8"],
  ["data_version", "utf8"],
  ["data_manifest_sha256", "utf8"],
  ["source", "utf8"],
  ["members_in", "int"],
  ["rows_out", "int"],
  ["members_errored", "int"],
  ["orphan_dx_rows", "int"],
  ["null_dx_codes", "int"],
  ["status", "utf8"],
  ["error", "utf8"],
];

/** score_runs as a one-row batch. */
export function scoreRunBatch(run: ScoreRunRow): RecordBatch {
  const cols = RUN_FIELDS.map(([name, kind]): [string, Data] => {
    const v = run[name];
    return [
      name,
      kind === "utf8"
        ? (vectorFromArray([v === null ? null : String(v)], new Utf8()).data[0] as Data)
        : (vectorFromArray([BigInt(v ?? 0)], new Int64()).data[0] as Data),
    ];
  });
  const fields = cols.map(([n, d]) => new Field(n, d.type, n === "error"));
  return new RecordBatch(
    new Schema(fields),
    makeData({ type: new Struct(fields), length: 1, nullCount: 0, children: cols.map(([, d]) => d) }),
  );
}

/** Where a directory sink keeps its runs; `current` names the published one. */
const RUNS_DIR = ".hcc-runs";

/** Removes run directories `current` does not point to (earlier runs, killed runs). */
function sweepRuns(runs: string): void {
  let current = "";
  try {
    current = readlinkSync(join(runs, "current"));
  } catch {
    return;
  }
  for (const d of readdirSync(runs)) {
    if (d === "current" || d === current) continue;
    const full = join(runs, d);
    if (d.startsWith("current.")) {
      // a link of a killed commit (by process id)
      const pid = Number(d.split(".")[1]);
      if (pid !== process.pid) rmSync(full, { force: true });
      continue;
    }
    rmSync(full, { recursive: true, force: true });
  }
}

/** Writes one file per table (parquet parts are merged by DuckDB on commit; others stream). */
export class DirectorySink implements PartStagingSink {
  private tmp: string | null = null;
  private parts: StagedParts | null = null;
  private readonly streams = new Map<ResultTable, { out: WriteStream; arrow: RecordBatchFileWriter | null; header: boolean }>();
  private failure: Error | null = null;
  /** Whether dir existed before begin(): a failed run removes what it created. */
  private existed = true;

  constructor(
    readonly dir: string,
    readonly format: FileFormat,
  ) {}

  describe(): string {
    return `dir:${this.dir} (${this.format})`;
  }

  private file(table: string): string {
    return join(this.dir, `${table}.${this.format}`);
  }

  begin(): Promise<void> {
    this.existed = existsSync(this.dir);
    mkdirSync(this.dir, { recursive: true });
    sweepLeftovers(this.dir, ".hcc-sink"); // a killed run's staging (by process id)
    sweepRuns(join(this.dir, RUNS_DIR)); // a killed commit's unpublished run directory
    this.tmp = join(this.dir, workName(".hcc-sink", randomBytes(4).toString("hex")));
    mkdirSync(this.tmp, { mode: 0o700 });
    if (this.format === "parquet") this.parts = new StagedParts(this.tmp, this.dir);
    return Promise.resolve();
  }

  /** Parquet output stages parts (workers may write them); other formats stream through write(). */
  partDir(): string | null {
    return this.parts ? this.tmp : null;
  }

  addPart(part: StagedPart): void {
    if (!this.parts) throw new UsageError("directory sink: parts are staged only for parquet output, after begin()");
    this.parts.add(part);
  }

  async write(table: ResultTable, batch: RecordBatch): Promise<void> {
    if (!this.tmp) throw new UsageError("directory sink used before begin()");
    if (this.parts) {
      this.parts.write(table, batch);
      return;
    }
    if (this.failure) throw this.failure;
    let s = this.streams.get(table);
    if (!s) {
      const out = createWriteStream(join(this.tmp, `${table}.${this.format}`));
      out.on("error", (e) => (this.failure ??= e)); // surfaced by the next write or commit
      const arrow = this.format === "arrow" ? new RecordBatchFileWriter() : null;
      if (arrow) arrow.pipe(out);
      s = { out, arrow, header: true };
      this.streams.set(table, s);
    }
    if (s.arrow) s.arrow.write(batch);
    else {
      const text = encodeText(batch, this.format === "csv" ? "csv" : "ndjson", { header: s.header });
      s.header = false;
      if (!s.out.write(text)) await once(s.out, "drain");
    }
  }

  async commit(run: ScoreRunRow): Promise<void> {
    const tmp = this.tmp;
    if (!tmp) throw new UsageError("directory sink committed before begin()");
    const runBatch = scoreRunBatch(run);
    const done = new Map<string, string>(); // final name → staged file
    if (this.parts) {
      this.parts.flushAll();
      const runsFile = join(tmp, "score_runs-0.parquet");
      writeFileSync(runsFile, encodeParquet([runBatch]));
      const db = await DuckDBInstance.create(":memory:");
      const c = await db.connect();
      try {
        for (const [t, files] of [...this.parts.tables(), ["score_runs", [runsFile]] as const]) {
          const staged = join(tmp, `${t}.parquet`);
          await c.run(
            `COPY (SELECT * FROM read_parquet([${files.map(sqlString).join(", ")}])) TO ${sqlString(staged)} (FORMAT parquet, COMPRESSION zstd)`,
          );
          done.set(this.file(t), staged);
        }
      } finally {
        c.closeSync();
        db.closeSync();
      }
    } else {
      for (const [t, s] of this.streams) {
        if (s.arrow) s.arrow.finish();
        else s.out.end();
        await once(s.out, "finish");
        if (this.failure) throw this.failure;
        done.set(this.file(t), join(tmp, `${t}.${this.format}`));
      }
      const runs = join(tmp, `score_runs.${this.format}`);
      if (this.format === "arrow") writeFileSync(runs, RecordBatchFileWriter.writeAll([runBatch]).toUint8Array(true));
      else writeFileSync(runs, encodeText(runBatch, this.format === "csv" ? "csv" : "ndjson", { header: true }));
      done.set(this.file("score_runs"), runs);
    }
    // Publish all tables at once (the commit-marker pattern): the run's files move into
    // .hcc-runs/<run>/, one rename of the `current` symlink switches every table, and the
    // top-level names are stable symlinks into `current`.
    const runs = join(this.dir, RUNS_DIR);
    mkdirSync(runs, { recursive: true });
    const runDir = join(runs, run.run_id.replace(/[^A-Za-z0-9_-]/g, "_"));
    mkdirSync(runDir);
    for (const [final, staged] of done) renameSync(staged, join(runDir, basename(final)));
    const link = join(runs, workName("current", "link"));
    symlinkSync(basename(runDir), link);
    renameSync(link, join(runs, "current"));
    for (const [final] of done) this.linkTopLevel(final);
    rmSync(tmp, { recursive: true, force: true });
    this.tmp = null;
    this.parts = null;
    sweepRuns(runs);
  }

  /** `<dir>/<table>.<fmt>` → `.hcc-runs/current/<table>.<fmt>` (replacing an older layout's plain file). */
  private linkTopLevel(final: string): void {
    const target = join(RUNS_DIR, "current", basename(final));
    try {
      if (lstatSync(final).isSymbolicLink() && readlinkSync(final) === target) return;
    } catch {
      /* absent */
    }
    const tmpLink = `${final}.${process.pid}.link`;
    rmSync(tmpLink, { force: true });
    symlinkSync(target, tmpLink);
    renameSync(tmpLink, final);
  }

  async abort(_err: unknown): Promise<void> {
    for (const s of this.streams.values()) {
      const closed = once(s.out, "close");
      s.out.destroy();
      await closed; // an fd still opening would otherwise land in the removed directory
    }
    this.streams.clear();
    if (this.tmp) rmSync(this.tmp, { recursive: true, force: true });
    if (this.tmp && !this.existed) rmSync(this.dir, { recursive: true, force: true });
    this.tmp = null;
    this.parts = null;
  }
}
