// BigQuery MemberSource over the Storage Read API (BigQueryReadClient): one read session in Arrow
// format with selected fields and a row restriction, its streams read concurrently into a bounded
// queue (backpressure reaches gRPC flow control), each stream resumed at its row offset after a
// retryable error. Members come grouped: by default a query job first materializes participants
// joined with ARRAY_AGG(diagnosis_code) into its anonymous result table, which the session reads
// (docs/bigquery.md "Grouping"); --members-table reads an already grouped table instead.
import { BigQuery } from "@google-cloud/bigquery";
import { BigQueryReadClient } from "@google-cloud/bigquery-storage";
import * as grpc from "@grpc/grpc-js";
import {
  Int32,
  RecordBatch,
  RecordBatchReader,
  Table,
  makeData,
  makeVector,
  type Data,
  type List,
  type Vector,
} from "apache-arrow";
import type { MemberSource, ReadOptions, SourceStats } from "../types.js";
import {
  bigQueryClientOptions,
  classifyBigQueryError,
  isRetryableReadError,
  qualifiedName,
  readClientOptions,
  type BigQueryConfig,
} from "./config.js";
import { MEMBER_TEXT_FIELDS } from "../../engine/member-fields.js";

/** Member columns the engine understands (docs/pipeline.md "Member batches"), besides participant_id. */
export const MEMBER_COLUMNS = MEMBER_TEXT_FIELDS;

export interface TableRef {
  projectId: string;
  datasetId: string;
  tableId: string;
}

/** What one read session reads; also what --dry-run prints. */
export interface ReadPlan {
  table: TableRef;
  selectedFields: string[];
  rowRestriction: string;
  /** What the session reads, for messages: the input tables, never the query's anonymous result table. */
  label: string;
}

/**
 * The grouping statement (marked for the local emulator): participants deduplicated by id
 * (`_copies` = rows that had the id), FULL OUTER JOIN the diagnosis rows aggregated per id
 * (`_dx_rows`, of which `_null_dx` had a null code); diagnosis groups with no participant are
 * kept with `_copies` = 0 so the orphan count costs no second scan.
 */
export function buildGroupMembersSql(c: BigQueryConfig, participantColumns: readonly string[]): string {
  const cols = participantColumns.filter((x) => x !== "participant_id" && x !== "diagnosis_codes");
  const pSelect = ["p.participant_id", ...cols.map((x) => `p.${x}`)].join(", ");
  return [
    "-- hcc-wasm:group-members v1",
    "WITH p AS (",
    `  SELECT ${pSelect}, COUNT(*) OVER (PARTITION BY p.participant_id) AS _copies`,
    `  FROM \`${qualifiedName(c, c.tables.participants)}\` AS p`,
    "  WHERE p.participant_id IS NOT NULL",
    "  QUALIFY ROW_NUMBER() OVER (PARTITION BY p.participant_id ORDER BY TO_JSON_STRING(p)) = 1",
    "), dx AS (",
    "  SELECT d.participant_id, ARRAY_AGG(d.diagnosis_code IGNORE NULLS) AS diagnosis_codes, COUNT(*) AS _dx_rows,",
    "    COUNTIF(d.diagnosis_code IS NULL) AS _null_dx",
    `  FROM \`${qualifiedName(c, c.tables.diagnosisCodes)}\` AS d`,
    "  GROUP BY d.participant_id",
    ")",
    `SELECT COALESCE(p.participant_id, dx.participant_id) AS participant_id, ${cols.map((x) => `p.${x}`).join(", ")}${cols.length > 0 ? ", " : ""}` +
      "dx.diagnosis_codes, IFNULL(dx._dx_rows, 0) AS _dx_rows, IFNULL(dx._null_dx, 0) AS _null_dx, IFNULL(p._copies, 0) AS _copies",
    "FROM p FULL OUTER JOIN dx ON dx.participant_id = p.participant_id",
  ].join("\n");
}

/** Schema column names of a table (tables.get), for choosing selected_fields. */
export async function readTableColumns(bq: BigQuery, ref: TableRef, label?: string): Promise<string[]> {
  try {
    const [meta] = (await bq
      .dataset(ref.datasetId, { projectId: ref.projectId })
      .table(ref.tableId)
      .getMetadata()) as unknown as [{ schema?: { fields?: { name: string }[] } }];
    return (meta.schema?.fields ?? []).map((f) => f.name);
  } catch (e) {
    throw classifyBigQueryError(e, `reading the schema of ${label ?? `${ref.projectId}.${ref.datasetId}.${ref.tableId}`}`);
  }
}

const restrictionWith = (base: string, where: string | undefined): string =>
  where === undefined ? base : base === "" ? where : `${base} AND (${where})`;

/** Grouped-table mode: the table's member columns as they are, the --where as the restriction. */
export function planGroupedTableRead(c: BigQueryConfig, table: TableRef, columns: readonly string[]): ReadPlan {
  if (!columns.includes("participant_id")) throw new Error(`${table.tableId} has no participant_id column`);
  const wanted = new Set<string>(["participant_id", ...MEMBER_COLUMNS, "diagnosis_codes"]);
  return {
    table,
    selectedFields: columns.filter((x) => wanted.has(x)),
    rowRestriction: restrictionWith("", c.where),
    label: `${table.projectId}.${table.datasetId}.${table.tableId}`,
  };
}

interface SessionSpec {
  streams: string[];
  schema: Uint8Array;
}

/** A bounded FIFO between the stream readers and the consumer (the pipeline's backpressure). */
class BoundedQueue<T> {
  private readonly items: T[] = [];
  private wakePull: (() => void) | null = null;
  private wakePush: (() => void)[] = [];
  private failure: Error | null = null;
  private ended = false;
  cancelled = false;
  constructor(private readonly capacity: number) {}
  async push(x: T): Promise<void> {
    while (this.items.length >= this.capacity && !this.cancelled) await new Promise<void>((r) => this.wakePush.push(r));
    if (this.cancelled) throw new Error("read cancelled");
    this.items.push(x);
    this.wakePull?.();
  }
  async pull(): Promise<T | undefined> {
    for (;;) {
      if (this.failure !== null) throw this.failure;
      const x = this.items.shift();
      if (x !== undefined) {
        this.wakePush.shift()?.();
        return x;
      }
      if (this.ended) return undefined;
      await new Promise<void>((r) => (this.wakePull = r));
      this.wakePull = null;
    }
  }
  end(): void {
    this.ended = true;
    this.wakePull?.();
  }
  fail(e: unknown): void {
    this.failure ??= e instanceof Error ? e : new Error(String(e));
    this.wakePull?.();
  }
  cancel(): void {
    this.cancelled = true;
    for (const w of this.wakePush.splice(0)) w();
  }
}

interface ReadRowsResponse {
  arrowRecordBatch?: { serializedRecordBatch?: Uint8Array | null } | null;
  rowCount?: number | string | { toString(): string } | null;
}
interface ReadRowsCall extends AsyncIterable<ReadRowsResponse> {
  cancel?: () => void;
  destroy: (e?: Error) => void;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Decodes one serialized record batch against the session's serialized schema. */
function decodeBatches(schema: Uint8Array, body: Uint8Array): RecordBatch[] {
  const bytes = new Uint8Array(schema.length + body.length);
  bytes.set(schema, 0);
  bytes.set(body, schema.length);
  return RecordBatchReader.from(bytes).readAll();
}

export class BigQueryMemberSource implements MemberSource {
  private readonly stats_: SourceStats = {
    membersRead: 0,
    dxRowsRead: 0,
    orphanDxRows: 0,
    duplicateParticipants: 0,
    nullDxCodes: 0,
  };
  private bq: BigQuery | null = null;
  private rc: BigQueryReadClient | null = null;
  /** Retries each stream took (for tests and progress). */
  readonly streamRetries: { stream: number; offset: number; code: number }[] = [];

  constructor(private readonly c: BigQueryConfig) {}

  describe(): string {
    const from = this.c.tables.members
      ? qualifiedName(this.c, this.c.tables.members)
      : `${qualifiedName(this.c, this.c.tables.participants)} + ${this.c.tables.diagnosisCodes} (grouped by a query job)`;
    return `bigquery ${from} via Storage Read API${this.c.where !== undefined ? " with a row restriction" : ""}`;
  }

  stats(): SourceStats {
    return { ...this.stats_ };
  }

  async close(): Promise<void> {
    const rc = this.rc;
    this.rc = null;
    if (rc) await rc.close();
  }

  private clients(): { bq: BigQuery; rc: BigQueryReadClient } {
    this.bq ??= new BigQuery(bigQueryClientOptions(this.c));
    this.rc ??= new BigQueryReadClient(
      readClientOptions(this.c, () => grpc.credentials.createInsecure()) as ConstructorParameters<typeof BigQueryReadClient>[0],
    );
    return { bq: this.bq, rc: this.rc };
  }

  async *read(opts: ReadOptions): AsyncIterable<RecordBatch> {
    const { bq } = this.clients();
    let plan: ReadPlan;
    let grouped = false;
    if (this.c.tables.members !== undefined) {
      const table = { projectId: this.c.project, datasetId: this.c.dataset, tableId: this.c.tables.members };
      plan = planGroupedTableRead(this.c, table, await readTableColumns(bq, table));
    } else {
      const table = await this.materializeGroups(bq);
      grouped = true;
      const label = this.groupedLabel();
      const all = await readTableColumns(bq, table, label);
      const cols = all.filter((x) => !x.startsWith("_"));
      plan = {
        table,
        selectedFields: [...cols, "_dx_rows", ...(all.includes("_null_dx") ? ["_null_dx"] : []), "_copies"],
        rowRestriction: restrictionWith("_copies > 0", this.c.where),
        label,
      };
    }
    for await (const rb of this.readSession(plan, this.c.maxStreams, opts.signal)) {
      const out = this.toMemberBatch(rb, grouped);
      for (let s = 0; s < out.numRows; s += opts.batchSize) {
        yield s === 0 && out.numRows <= opts.batchSize ? out : out.slice(s, Math.min(out.numRows, s + opts.batchSize));
      }
    }
    if (grouped) {
      // Orphan diagnosis rows: the groups the join kept without a participant.
      const orphanPlan: ReadPlan = {
        table: plan.table,
        selectedFields: ["_dx_rows"],
        rowRestriction: "_copies = 0",
        label: `${plan.label}, diagnosis rows without a participant`,
      };
      for await (const rb of this.readSession(orphanPlan, 1, opts.signal)) {
        this.stats_.orphanDxRows += sumInt(rb.getChild("_dx_rows"));
      }
    }
  }

  /** The input tables the grouping query reads, for messages about its result table. */
  private groupedLabel(): string {
    return `the members grouped from ${qualifiedName(this.c, this.c.tables.participants)} and ${qualifiedName(this.c, this.c.tables.diagnosisCodes)} (the grouping query's result table)`;
  }

  /** Runs the grouping query; its anonymous result table (expires in ~24 h) is what we read. */
  private async materializeGroups(bq: BigQuery): Promise<TableRef> {
    const participants = { projectId: this.c.project, datasetId: this.c.dataset, tableId: this.c.tables.participants };
    const cols = (await readTableColumns(bq, participants, qualifiedName(this.c, this.c.tables.participants))).filter(
      (x) => x === "participant_id" || (MEMBER_COLUMNS as readonly string[]).includes(x),
    );
    if (!cols.includes("participant_id"))
      throw classifyBigQueryError(new Error("no participant_id column"), `reading ${this.c.tables.participants}`);
    try {
      const [job] = await bq.createQueryJob({
        query: buildGroupMembersSql(this.c, cols),
        useLegacySql: false,
        jobPrefix: "hcc_group_members_",
        labels: { app: "hcc-wasm", step: "group-members" },
        ...(this.c.location !== undefined ? { location: this.c.location } : {}),
      });
      await job.promise();
      const [meta] = (await job.getMetadata()) as unknown as [{ configuration?: { query?: { destinationTable?: TableRef } } }];
      const dest = meta.configuration?.query?.destinationTable;
      if (!dest) throw new Error("the grouping query job reported no destination table");
      return dest;
    } catch (e) {
      throw classifyBigQueryError(
        e,
        `grouping ${qualifiedName(this.c, this.c.tables.participants)} and ${qualifiedName(this.c, this.c.tables.diagnosisCodes)} (query job)`,
        { hint: "check the input tables' columns: participant_id and diagnosis_code as STRING" },
      );
    }
  }

  /** One read session, its streams read concurrently into a bounded queue. */
  private async *readSession(plan: ReadPlan, maxStreams: number, signal?: AbortSignal): AsyncIterable<RecordBatch> {
    const { rc } = this.clients();
    const where = plan.label;
    let spec: SessionSpec;
    try {
      const [session] = await rc.createReadSession({
        parent: `projects/${this.c.project}`,
        readSession: {
          table: `projects/${plan.table.projectId}/datasets/${plan.table.datasetId}/tables/${plan.table.tableId}`,
          dataFormat: "ARROW",
          readOptions: { selectedFields: plan.selectedFields, rowRestriction: plan.rowRestriction },
        },
        maxStreamCount: maxStreams,
      });
      spec = {
        streams: (session.streams ?? []).map((s) => s.name ?? ""),
        schema: toBytes(session.arrowSchema?.serializedSchema),
      };
    } catch (e) {
      throw classifyBigQueryError(e, `creating a read session on ${where}`, { hint: "check --where and the table columns" });
    }
    if (spec.streams.length === 0) return; // an empty result has no streams
    const queue = new BoundedQueue<RecordBatch>(Math.max(2, spec.streams.length * 2));
    const onAbort = (): void => queue.fail(signal?.reason ?? new Error("read aborted"));
    signal?.addEventListener("abort", onAbort, { once: true });
    let running = spec.streams.length;
    spec.streams.forEach((name, i) => {
      this.readStream(rc, name, i, spec.schema, queue, where)
        .then(() => {
          if (--running === 0) queue.end();
        })
        .catch((e: unknown) => {
          if (!queue.cancelled) queue.fail(e);
        });
    });
    try {
      for (;;) {
        const rb = await queue.pull();
        if (rb === undefined) return;
        yield rb;
      }
    } finally {
      queue.cancel();
      signal?.removeEventListener("abort", onAbort);
    }
  }

  /** Reads one stream to its end, resuming at the row offset after retryable errors. */
  private async readStream(
    rc: BigQueryReadClient,
    name: string,
    index: number,
    schema: Uint8Array,
    queue: BoundedQueue<RecordBatch>,
    where: string,
  ): Promise<void> {
    let offset = 0;
    let failures = 0;
    for (;;) {
      // gax's own stream retry restarts at the original offset: off; resumption is ours.
      const call = rc.readRows(
        { readStream: name, offset },
        { retryRequestOptions: { retries: 0, noResponseRetries: 0 } },
      ) as unknown as ReadRowsCall;
      try {
        for await (const resp of call) {
          const body = resp.arrowRecordBatch?.serializedRecordBatch;
          if (!body || body.length === 0) continue;
          const batches = decodeBatches(schema, body);
          for (const rb of batches) {
            offset += rb.numRows;
            failures = 0;
            await queue.push(rb);
          }
        }
        return;
      } catch (e) {
        if (queue.cancelled) {
          call.cancel?.();
          return;
        }
        const code = (e as { code?: unknown }).code;
        if (!isRetryableReadError(e) || ++failures > this.c.maxStreamRetries) {
          throw classifyBigQueryError(e, `reading stream ${index} of ${where} at row ${offset}`, {
            hint: "check --where and the table columns",
          });
        }
        this.streamRetries.push({ stream: index, offset, code: typeof code === "number" ? code : -1 });
        await sleep(Math.min(5000, 50 * 2 ** failures));
      }
    }
  }

  /** Member batch schema: drop helper columns, Int64 → Int32 where the contract says Int32. */
  private toMemberBatch(rb: RecordBatch, grouped: boolean): RecordBatch {
    const n = rb.numRows;
    if (grouped) {
      forEachInt(rb.getChild("_copies"), (x) => {
        if (x > 1) this.stats_.duplicateParticipants++;
      });
      this.stats_.dxRowsRead += sumInt(rb.getChild("_dx_rows"));
      this.stats_.nullDxCodes = (this.stats_.nullDxCodes ?? 0) + sumInt(rb.getChild("_null_dx"));
    } else {
      const codes = rb.getChild("diagnosis_codes");
      // list items = last offset − first offset, per chunk (no per-row objects); null items are
      // counted (read) and skipped by the engine
      for (const d of (codes?.data ?? []) as Data<List>[]) {
        const offs = d.valueOffsets as Int32Array;
        const from = offs[d.offset] ?? 0;
        const to = offs[d.offset + d.length] ?? 0;
        this.stats_.dxRowsRead += to - from;
        const items = d.children[0];
        if (items && items.nullCount > 0) {
          for (let i = from; i < to; i++) if (!items.getValid(i)) this.stats_.nullDxCodes = (this.stats_.nullDxCodes ?? 0) + 1;
        }
      }
    }
    this.stats_.membersRead += n;
    const cols: Record<string, Vector> = {};
    for (const f of rb.schema.fields) {
      if (f.name.startsWith("_")) continue;
      const v = rb.getChild(f.name);
      if (!v) continue;
      cols[f.name] = (f.name === "graft_months" || f.name === "age") && String(f.type) === "Int64" ? int64ToInt32(v) : v;
    }
    const [out] = new Table(cols).batches;
    return out ?? rb;
  }
}

function toBytes(b: string | Uint8Array | null | undefined): Uint8Array {
  if (b === null || b === undefined) return new Uint8Array();
  return typeof b === "string" ? Buffer.from(b, "base64") : b;
}

/** Visits the values of a non-null INT64 helper column straight from its buffers. */
function forEachInt(v: Vector | null, f: (x: number) => void): void {
  for (const d of v?.data ?? []) {
    const vals = d.values as BigInt64Array;
    for (let i = d.offset; i < d.offset + d.length; i++) f(Number(vals[i] ?? 0n));
  }
}

function sumInt(v: Vector | null): number {
  let s = 0;
  forEachInt(v, (x) => (s += x));
  return s;
}

function int64ToInt32(v: Vector): Vector {
  const out = new Int32Array(v.length);
  for (let i = 0; i < v.length; i++) {
    const x: unknown = v.get(i);
    out[i] = x === null ? 0 : Number(x as bigint);
  }
  const d = v.data[0];
  return makeVector(
    makeData({
      type: new Int32(),
      length: v.length,
      nullCount: v.nullCount,
      nullBitmap: v.data.length === 1 && d ? d.nullBitmap : null,
      data: out,
    }),
  );
}

export function openBigQuerySource(config: BigQueryConfig): BigQueryMemberSource {
  return new BigQueryMemberSource(config);
}
