// A local gRPC server implementing google.cloud.bigquery.storage.v1.BigQueryRead, built from the
// .proto files @google-cloud/bigquery-storage ships: CreateReadSession (ARROW only, selected_fields,
// a row_restriction subset, max_stream_count), ReadRows (Arrow IPC schema + record batches from
// the FakeWarehouse, honoring offset, with flow control) and SplitReadStream (never splits).
// Fault hooks let a test fail a session, cut a stream after some rows, or answer UNAVAILABLE.
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";
import { DataType, RecordBatch, Table, tableToIPC, vectorFromArray, type Schema, type Vector } from "apache-arrow";
import type { FakeWarehouse, TableRef } from "./fake-rest-server.js";

const require = createRequire(import.meta.url);
const storageRoot = dirname(require.resolve("@google-cloud/bigquery-storage/package.json"));
// google/api and google/rpc imports come from google-gax, the storage client's own dependency.
const gaxProtos = join(dirname(createRequire(join(storageRoot, "package.json")).resolve("google-gax")), "..", "protos");

function loadService(): grpc.ServiceDefinition {
  const def = protoLoader.loadSync("google/cloud/bigquery/storage/v1/storage.proto", {
    includeDirs: [join(storageRoot, "build", "protos"), gaxProtos],
    keepCase: true,
    longs: Number,
    enums: String,
    defaults: true,
    oneofs: true,
  });
  const svc = def["google.cloud.bigquery.storage.v1.BigQueryRead"] as grpc.ServiceDefinition | undefined;
  if (!svc) throw new Error("BigQueryRead service not found in the shipped protos");
  return svc;
}

export interface CreateSessionRecord {
  parent: string;
  table: string;
  dataFormat: string;
  selectedFields: string[];
  rowRestriction: string;
  maxStreamCount: number;
  metadata: Record<string, unknown>;
}

export interface ReadRowsRecord {
  stream: string;
  offset: number;
}

export interface GrpcFault {
  code: grpc.status;
  details: string;
}

export interface StorageFaults {
  /** Fail CreateReadSession (e.g. PERMISSION_DENIED). */
  createReadSession?: (r: CreateSessionRecord) => GrpcFault | undefined;
  /**
   * Called at the start of each ReadRows call; return a fault and `afterRows` to cut the stream
   * after that many rows of this call (0 = before any row).
   */
  readRows?: (r: ReadRowsRecord & { attempt: number }) => (GrpcFault & { afterRows: number }) | undefined;
}

interface Session {
  schemaBytes: Uint8Array;
  /** One Arrow table per stream (contiguous row ranges of the filtered, projected table). */
  streams: Table[];
}

interface ReadSessionRequest {
  parent: string;
  max_stream_count: number;
  read_session: {
    table: string;
    data_format: string;
    read_options: { selected_fields: string[]; row_restriction: string } | null;
  } | null;
}

export class FakeStorageServer {
  readonly sessions: CreateSessionRecord[] = [];
  readonly reads: ReadRowsRecord[] = [];
  faults: StorageFaults = {};
  /** Rows per ReadRowsResponse. */
  batchRows = 1000;
  private readonly server = new grpc.Server();
  private readonly live = new Map<string, Session>();
  private readonly attempts = new Map<string, number>();
  private sessionCounter = 0;

  constructor(readonly warehouse: FakeWarehouse) {
    this.server.addService(loadService(), {
      CreateReadSession: (call: grpc.ServerUnaryCall<ReadSessionRequest, unknown>, cb: grpc.sendUnaryData<unknown>) => {
        try {
          cb(null, this.createReadSession(call.request, call.metadata));
        } catch (e) {
          cb(e as grpc.ServiceError);
        }
      },
      ReadRows: (call: grpc.ServerWritableStream<{ read_stream: string; offset: number }, unknown>) => {
        this.readRows(call).catch((e: unknown) => call.emit("error", e as Error));
      },
      SplitReadStream: (_call: unknown, cb: grpc.sendUnaryData<unknown>) => cb(null, {}),
    });
  }

  async start(): Promise<string> {
    const port = await new Promise<number>((resolve, reject) =>
      this.server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))),
    );
    return `127.0.0.1:${port}`;
  }

  async stop(): Promise<void> {
    this.server.forceShutdown();
    await Promise.resolve();
  }

  private createReadSession(req: ReadSessionRequest, md: grpc.Metadata): unknown {
    const rs = req.read_session;
    const rec: CreateSessionRecord = {
      parent: req.parent,
      table: rs?.table ?? "",
      dataFormat: rs?.data_format ?? "",
      selectedFields: rs?.read_options?.selected_fields ?? [],
      rowRestriction: rs?.read_options?.row_restriction ?? "",
      maxStreamCount: req.max_stream_count,
      metadata: md.getMap(),
    };
    this.sessions.push(rec);
    const fault = this.faults.createReadSession?.(rec);
    if (fault) throw statusError(fault);
    if (rec.dataFormat !== "ARROW") throw statusError({ code: grpc.status.INVALID_ARGUMENT, details: "only ARROW is emulated" });
    const m = /^projects\/([^/]+)\/datasets\/([^/]+)\/tables\/([^/]+)$/.exec(rec.table);
    if (!m) throw statusError({ code: grpc.status.INVALID_ARGUMENT, details: `invalid table name ${rec.table}` });
    const ref: TableRef = { projectId: m[1] ?? "", datasetId: m[2] ?? "", tableId: m[3] ?? "" };
    const table = this.warehouse.get(ref);
    if (!table)
      throw statusError({
        code: grpc.status.NOT_FOUND,
        details: `Not found: Table ${ref.projectId}:${ref.datasetId}.${ref.tableId}`,
      });
    for (const f of rec.selectedFields) {
      if (!table.schema.fields.some((x) => x.name === f)) {
        throw statusError({ code: grpc.status.INVALID_ARGUMENT, details: `request failed: column '${f}' not found in table` });
      }
    }
    let t = table;
    if (rec.rowRestriction !== "") {
      let pred: (row: Record<string, unknown>) => boolean;
      try {
        pred = compileRowRestriction(rec.rowRestriction);
      } catch (e) {
        throw statusError({ code: grpc.status.INVALID_ARGUMENT, details: `row_restriction: ${(e as Error).message}` });
      }
      t = filterTable(t, pred);
    }
    if (rec.selectedFields.length > 0) t = projectTable(t, rec.selectedFields);
    const n = Math.max(1, Math.min(rec.maxStreamCount > 0 ? rec.maxStreamCount : 1000, Math.ceil(t.numRows / this.batchRows)));
    const streams: Table[] = [];
    for (let i = 0; i < n; i++) streams.push(t.slice(Math.floor((i * t.numRows) / n), Math.floor(((i + 1) * t.numRows) / n)));
    const name = `projects/${ref.projectId}/locations/us/sessions/s${++this.sessionCounter}`;
    const schemaIpc = tableToIPC(new Table(t.schema), "stream");
    this.live.set(name, { schemaBytes: schemaIpc.subarray(0, schemaIpc.length - 8), streams });
    return {
      name,
      data_format: "ARROW",
      arrow_schema: { serialized_schema: Buffer.from(schemaIpc.subarray(0, schemaIpc.length - 8)) },
      table: rec.table,
      streams: streams.map((_, i) => ({ name: `${name}/streams/${i}` })),
      estimated_row_count: t.numRows,
      estimated_total_bytes_scanned: 0,
    };
  }

  private async readRows(call: grpc.ServerWritableStream<{ read_stream: string; offset: number }, unknown>): Promise<void> {
    const { read_stream: stream, offset } = call.request;
    this.reads.push({ stream, offset });
    const m = /^(.*)\/streams\/(\d+)$/.exec(stream);
    const session = m ? this.live.get(m[1] ?? "") : undefined;
    const data = session?.streams[Number(m?.[2])];
    if (!session || !data) {
      call.emit("error", statusError({ code: grpc.status.NOT_FOUND, details: `Not found: stream ${stream}` }));
      return;
    }
    const attempt = this.attempts.get(stream) ?? 0;
    this.attempts.set(stream, attempt + 1);
    const fault = this.faults.readRows?.({ stream, offset, attempt });
    if (offset < 0 || offset > data.numRows) {
      call.emit("error", statusError({ code: grpc.status.OUT_OF_RANGE, details: `offset ${offset} out of range` }));
      return;
    }
    let sent = 0;
    for (let start = offset; start < data.numRows; start += this.batchRows) {
      const end = Math.min(data.numRows, start + this.batchRows);
      if (fault && sent + (end - start) > fault.afterRows) break;
      const ipc = tableToIPC(data.slice(start, end), "stream");
      const body = ipc.subarray(session.schemaBytes.length, ipc.length - 8);
      const ok = call.write({
        arrow_record_batch: { serialized_record_batch: Buffer.from(body), row_count: end - start },
        row_count: end - start,
        stats: { progress: { at_response_start: start / data.numRows, at_response_end: end / data.numRows } },
      });
      sent += end - start;
      if (!ok) await new Promise((resolve) => call.once("drain", resolve));
      if (call.cancelled) return;
    }
    if (fault) {
      call.emit("error", statusError(fault));
      return;
    }
    call.end();
  }
}

function statusError(f: GrpcFault): grpc.ServiceError {
  return Object.assign(new Error(f.details), { code: f.code, details: f.details, metadata: new grpc.Metadata() });
}

function projectTable(t: Table, fields: string[]): Table {
  const keep = t.schema.fields.map((f) => f.name).filter((n) => fields.includes(n));
  return t.select(keep);
}

function filterTable(t: Table, pred: (row: Record<string, unknown>) => boolean): Table {
  const keep: number[] = [];
  const schema: Schema = t.schema;
  const rows = t.toArray() as { toJSON(): Record<string, unknown> }[];
  rows.forEach((r, i) => {
    const o = r.toJSON();
    for (const f of schema.fields) o[f.name] = comparable(o[f.name], f.type as DataType);
    if (pred(o)) keep.push(i);
  });
  const cols: Record<string, Vector> = {};
  for (const f of schema.fields) {
    const v = t.getChild(f.name);
    cols[f.name] = vectorFromArray(
      keep.map((i) => {
        const x: unknown = v?.get(i);
        return x !== null && typeof x === "object" && "toArray" in x ? [...(x as { toArray(): unknown[] }).toArray()] : x;
      }),
      f.type,
    );
  }
  return keep.length === 0 ? new Table(schema) : new Table([new Table(cols).batches].flat() as RecordBatch[]);
}

/** Row values as the restriction compares them: dates as 'YYYY-MM-DD', int64 as number. */
function comparable(v: unknown, type: DataType): unknown {
  if (v === null || v === undefined) return null;
  if (DataType.isDate(type)) {
    const ms = v instanceof Date ? v.getTime() : Number(v);
    return new Date(ms).toISOString().slice(0, 10);
  }
  if (typeof v === "bigint") return Number(v);
  return v;
}

// ---- row_restriction: the subset the tests use ---------------------------------------------
// expr := or;  or := and (OR and)*;  and := not (AND not)*;  not := NOT not | cmp
// cmp := primary [(= | != | <> | < | <= | > | >=) primary | IS [NOT] NULL | [NOT] IN (primary, …)]
// primary := identifier | 'string' | number | TRUE | FALSE | NULL | DATE 'YYYY-MM-DD' | (expr)

type Row = Record<string, unknown>;
type Ev = (r: Row) => unknown;

export function compileRowRestriction(src: string): (row: Row) => boolean {
  const toks = src.match(/'(?:[^'\\]|\\.)*'|<=|>=|<>|!=|[=<>(),]|[A-Za-z_][A-Za-z0-9_]*|-?\d+(?:\.\d+)?|\S/g) ?? [];
  let i = 0;
  const peek = (): string => (toks[i] ?? "").toUpperCase();
  const take = (): string => {
    const t = toks[i++];
    if (t === undefined) throw new Error("unexpected end of restriction");
    return t;
  };
  const expect = (t: string): void => {
    if (take().toUpperCase() !== t) throw new Error(`expected ${t}`);
  };
  const or = (): Ev => {
    let l = and();
    while (peek() === "OR") {
      take();
      const a = l;
      const b = and();
      l = (r) => a(r) === true || b(r) === true;
    }
    return l;
  };
  const and = (): Ev => {
    let l = not();
    while (peek() === "AND") {
      take();
      const a = l;
      const b = not();
      l = (r) => a(r) === true && b(r) === true;
    }
    return l;
  };
  const not = (): Ev => {
    if (peek() === "NOT") {
      take();
      const a = not();
      return (r) => {
        const v = a(r);
        return v === null ? null : v !== true;
      };
    }
    return cmp();
  };
  const primary = (): Ev => {
    const t = take();
    const u = t.toUpperCase();
    if (t === "(") {
      const e = or();
      expect(")");
      return e;
    }
    if (t.startsWith("'")) {
      const s = t.slice(1, -1).replace(/\\(.)/g, "$1");
      return () => s;
    }
    if (/^-?\d/.test(t)) return () => Number(t);
    if (u === "TRUE" || u === "FALSE") return () => u === "TRUE";
    if (u === "NULL") return () => null;
    if (u === "DATE") {
      const lit = take();
      return () => lit.slice(1, -1);
    }
    if (/^[A-Za-z_]/.test(t))
      return (r) =>
        t in r
          ? r[t]
          : (() => {
              throw new Error(`unknown column ${t}`);
            })();
    throw new Error(`unexpected '${t}'`);
  };
  const cmp = (): Ev => {
    const l = primary();
    const op = peek();
    if (["=", "!=", "<>", "<", "<=", ">", ">="].includes(op)) {
      take();
      const rgt = primary();
      return (r) => {
        const a = l(r) as number | string | boolean | null;
        const b = rgt(r) as number | string | boolean | null;
        if (a === null || b === null) return null;
        switch (op) {
          case "=":
            return a === b;
          case "!=":
          case "<>":
            return a !== b;
          case "<":
            return a < b;
          case "<=":
            return a <= b;
          case ">":
            return a > b;
          default:
            return a >= b;
        }
      };
    }
    if (op === "IS") {
      take();
      const negate = peek() === "NOT";
      if (negate) take();
      expect("NULL");
      return (r) => (l(r) === null) !== negate;
    }
    if (op === "IN" || (op === "NOT" && (toks[i + 1] ?? "").toUpperCase() === "IN")) {
      const negate = op === "NOT";
      if (negate) take();
      take();
      expect("(");
      const items: Ev[] = [primary()];
      while (peek() === ",") {
        take();
        items.push(primary());
      }
      expect(")");
      return (r) => {
        const v = l(r);
        if (v === null) return null;
        return items.some((e) => e(r) === v) !== negate;
      };
    }
    return l;
  };
  const e = or();
  if (i !== toks.length) throw new Error(`unexpected '${toks[i] ?? ""}'`);
  return (row) => e(row) === true;
}
