// A local HTTP server speaking the slice of the BigQuery REST API (v2) that @google-cloud/bigquery
// uses for this project: datasets.get, tables.get/delete, jobs.insert (copy, query, dry-run
// query), jobs.get, and load jobs through the multipart media upload. Tables live in memory as
// Arrow tables (FakeWarehouse, shared with the Storage Read server). Every request is recorded so
// tests can assert on what the client sent.
//
// Limits (docs/bigquery.md "Emulators"): jobs finish synchronously (state DONE at insert); a load
// keeps the Parquet file's Arrow types (no INT32→INT64 widening); queries are not SQL-evaluated:
// a registered handler recognizes the statement (the member-grouping query by its marker
// comment) and computes its result in JavaScript.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { DataType, Field, List, Table, Utf8, tableFromIPC, vectorFromArray, type Schema, type Vector } from "apache-arrow";
import { readParquet } from "parquet-wasm";

export interface TableRef {
  projectId: string;
  datasetId: string;
  tableId: string;
}

const key = (r: TableRef): string => `${r.projectId}.${r.datasetId}.${r.tableId}`;

/** Tables held as Arrow tables, keyed `project.dataset.table`. */
export class FakeWarehouse {
  readonly datasets = new Set<string>();
  readonly tables = new Map<string, Table>();
  addDataset(projectId: string, datasetId: string): void {
    this.datasets.add(`${projectId}.${datasetId}`);
  }
  put(ref: TableRef, t: Table): void {
    this.datasets.add(`${ref.projectId}.${ref.datasetId}`);
    this.tables.set(key(ref), t);
  }
  get(ref: TableRef): Table | undefined {
    return this.tables.get(key(ref));
  }
  delete(ref: TableRef): boolean {
    return this.tables.delete(key(ref));
  }
  /** Rows of a table as plain objects (for assertions on small tables). */
  rows(ref: TableRef): Record<string, unknown>[] {
    const t = this.get(ref);
    if (!t) return [];
    return t.toArray().map((r: { toJSON(): Record<string, unknown> }) => r.toJSON());
  }
}

export interface RecordedRequest {
  method: string;
  path: string;
  query: Record<string, string>;
  headers: Record<string, string | string[] | undefined>;
  /** Parsed JSON body, or for a media upload the job resource (first multipart part). */
  body: unknown;
  /** Upload bytes (second multipart part). */
  media?: Uint8Array;
}

export interface JobFault {
  reason: string;
  message: string;
}

/** Computes a query's result; undefined = not recognized (the job fails with invalidQuery). */
export type QueryHandler = (sql: string, warehouse: FakeWarehouse) => Table | undefined;

export interface RestFaults {
  /** Fail a job at insert time (status DONE with errorResult), e.g. a load or a copy. */
  job?: (configuration: Record<string, unknown>) => JobFault | undefined;
  /** Answer a request with an HTTP error before it is handled. */
  http?: (method: string, path: string) => { status: number; reason: string; message: string } | undefined;
}

type Json = Record<string, unknown>;

export class FakeRestServer {
  readonly requests: RecordedRequest[] = [];
  readonly jobs = new Map<string, Json>();
  faults: RestFaults = {};
  private readonly server: Server;
  private readonly queryHandlers: QueryHandler[] = [];
  private anonCounter = 0;

  constructor(readonly warehouse: FakeWarehouse) {
    this.server = createServer((req, res) => {
      this.handle(req, res).catch((e: unknown) => {
        send(res, 500, errorBody(500, "backendError", e instanceof Error ? e.message : String(e)));
      });
    });
    this.queryHandlers.push(groupMembersQuery);
  }

  onQuery(h: QueryHandler): void {
    this.queryHandlers.unshift(h);
  }

  async start(): Promise<string> {
    await new Promise<void>((resolve) => this.server.listen(0, "127.0.0.1", resolve));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  /** Requests whose path matches, e.g. /\/jobs$/. */
  find(method: string, path: RegExp): RecordedRequest[] {
    return this.requests.filter((r) => r.method === method && path.test(r.path));
  }

  /** Job configurations inserted, in order (uploads and plain jobs.insert). */
  jobConfigurations(): Json[] {
    return this.requests
      .filter((r) => r.method === "POST" && /\/projects\/[^/]+\/jobs$/.test(r.path))
      .map((r) => ((r.body as Json)["configuration"] ?? {}) as Json);
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? "/", "http://localhost");
    const raw = await readBody(req);
    const rec: RecordedRequest = {
      method: req.method ?? "GET",
      path: url.pathname,
      query: Object.fromEntries(url.searchParams),
      headers: req.headers,
      body: undefined,
    };
    const ctype = req.headers["content-type"] ?? "";
    if (ctype.startsWith("multipart/related")) {
      const parts = parseMultipart(raw, ctype);
      rec.body = JSON.parse(Buffer.from(parts[0] ?? new Uint8Array()).toString("utf8")) as unknown;
      if (parts[1]) rec.media = parts[1];
    } else if (raw.length > 0) {
      rec.body = JSON.parse(raw.toString("utf8")) as unknown;
    }
    this.requests.push(rec);
    const fault = this.faults.http?.(rec.method, rec.path);
    if (fault) return send(res, fault.status, errorBody(fault.status, fault.reason, fault.message));

    let m: RegExpExecArray | null;
    if ((m = /^\/upload\/bigquery\/v2\/projects\/([^/]+)\/jobs$/.exec(url.pathname)) && rec.method === "POST") {
      return send(res, 200, this.insertJob(m[1] ?? "", rec.body as Json, rec.media));
    }
    const p = url.pathname.replace(/^\/bigquery\/v2/, "");
    if ((m = /^\/projects\/([^/]+)\/jobs$/.exec(p)) && rec.method === "POST") {
      return send(res, 200, this.insertJob(m[1] ?? "", rec.body as Json, undefined));
    }
    if ((m = /^\/projects\/([^/]+)\/jobs\/([^/]+)$/.exec(p)) && rec.method === "GET") {
      const job = this.jobs.get(`${m[1]}:${m[2]}`);
      return job ? send(res, 200, job) : send(res, 404, errorBody(404, "notFound", `Not found: Job ${m[1]}:${m[2]}`));
    }
    if ((m = /^\/projects\/([^/]+)\/datasets\/([^/]+)$/.exec(p)) && rec.method === "GET") {
      const id = `${m[1]}.${m[2]}`;
      if (!this.warehouse.datasets.has(id))
        return send(res, 404, errorBody(404, "notFound", `Not found: Dataset ${m[1]}:${m[2]}`));
      return send(res, 200, {
        kind: "bigquery#dataset",
        id: `${m[1]}:${m[2]}`,
        datasetReference: { projectId: m[1], datasetId: m[2] },
        location: "US",
      });
    }
    if ((m = /^\/projects\/([^/]+)\/datasets\/([^/]+)\/tables\/([^/]+)$/.exec(p))) {
      const ref = { projectId: m[1] ?? "", datasetId: m[2] ?? "", tableId: m[3] ?? "" };
      const t = this.warehouse.get(ref);
      if (!t)
        return send(res, 404, errorBody(404, "notFound", `Not found: Table ${ref.projectId}:${ref.datasetId}.${ref.tableId}`));
      if (rec.method === "GET") return send(res, 200, tableResource(ref, t));
      if (rec.method === "DELETE") {
        this.warehouse.delete(ref);
        res.writeHead(204).end();
        return;
      }
    }
    send(res, 400, errorBody(400, "invalid", `fake BigQuery: unsupported ${rec.method} ${url.pathname}`));
  }

  private insertJob(projectId: string, body: Json, media: Uint8Array | undefined): Json {
    const config = (body["configuration"] ?? {}) as Json;
    const jobRef = (body["jobReference"] ?? {}) as Json;
    const jobId = typeof jobRef["jobId"] === "string" ? jobRef["jobId"] : `job_${this.jobs.size + 1}`;
    const location = typeof jobRef["location"] === "string" ? jobRef["location"] : "US";
    const job: Json = {
      kind: "bigquery#job",
      id: `${projectId}:${location}.${jobId}`,
      jobReference: { projectId, jobId, location },
      configuration: config,
      statistics: { creationTime: String(Date.now()) },
      status: { state: "DONE" },
    };
    const fail = (reason: string, message: string): Json => {
      job["status"] = { state: "DONE", errorResult: { reason, message }, errors: [{ reason, message }] };
      this.jobs.set(`${projectId}:${jobId}`, job);
      return job;
    };
    const injected = this.faults.job?.(config);
    if (injected) return fail(injected.reason, injected.message);
    try {
      if (config["load"]) this.runLoad(config["load"] as Json, media);
      else if (config["copy"]) this.runCopy(config["copy"] as Json);
      else if (config["query"]) {
        const q = config["query"] as Json;
        const sql = typeof q["query"] === "string" ? q["query"] : "";
        const result = this.runQuery(sql);
        if (!result) return fail("invalidQuery", "fake BigQuery: query not recognized by any handler");
        if (config["dryRun"] === true) {
          job["statistics"] = {
            query: { totalBytesProcessed: String(estimateBytes(result)) },
            totalBytesProcessed: String(estimateBytes(result)),
          };
          return job; // dry runs are not stored, as in BigQuery
        }
        let dest = q["destinationTable"] as TableRef | undefined;
        if (!dest) {
          dest = { projectId, datasetId: "_anon_fake", tableId: `anon_${++this.anonCounter}` };
          q["destinationTable"] = dest;
        }
        this.warehouse.put(dest, result);
        job["statistics"] = { query: { totalBytesProcessed: String(estimateBytes(result)) } };
      } else return fail("invalid", "fake BigQuery: unsupported job type");
    } catch (e) {
      const err = e as { reason?: string; message: string };
      return fail(err.reason ?? "invalid", err.message);
    }
    this.jobs.set(`${projectId}:${jobId}`, job);
    return job;
  }

  private runLoad(load: Json, media: Uint8Array | undefined): void {
    if (!media) throw jobError("invalid", "load without uploaded data (only media uploads are emulated)");
    if (load["sourceFormat"] !== "PARQUET")
      throw jobError("invalid", `sourceFormat ${String(load["sourceFormat"])} is not emulated`);
    const t = tableFromIPC(readParquet(media).intoIPCStream());
    this.writeTable(load["destinationTable"] as TableRef, t, load);
  }

  private runCopy(copy: Json): void {
    const sources = (copy["sourceTables"] as TableRef[] | undefined) ?? [copy["sourceTable"] as TableRef];
    const tables = sources.map((s) => {
      const t = this.warehouse.get(s);
      if (!t) throw jobError("notFound", `Not found: Table ${s.projectId}:${s.datasetId}.${s.tableId}`);
      return t;
    });
    const first = tables[0];
    if (!first) throw jobError("invalid", "copy without a source table");
    this.writeTable(copy["destinationTable"] as TableRef, tables.length === 1 ? first : first.concat(...tables.slice(1)), copy);
  }

  private writeTable(dest: TableRef, t: Table, cfg: Json): void {
    if (!this.warehouse.datasets.has(`${dest.projectId}.${dest.datasetId}`)) {
      throw jobError("notFound", `Not found: Dataset ${dest.projectId}:${dest.datasetId}`);
    }
    const existing = this.warehouse.get(dest);
    const write = typeof cfg["writeDisposition"] === "string" ? cfg["writeDisposition"] : "WRITE_APPEND";
    const create = typeof cfg["createDisposition"] === "string" ? cfg["createDisposition"] : "CREATE_IF_NEEDED";
    if (!existing && create === "CREATE_NEVER") throw jobError("notFound", `Not found: Table ${key(dest)}`);
    if (existing && write === "WRITE_EMPTY" && existing.numRows > 0)
      throw jobError("duplicate", `Already Exists: Table ${key(dest)}`);
    if (existing && write === "WRITE_APPEND") {
      const a = existing.schema.fields.map((f) => f.name).join(",");
      const b = t.schema.fields.map((f) => f.name).join(",");
      if (a !== b) throw jobError("invalid", `Provided Schema does not match Table ${key(dest)}`);
      this.warehouse.put(dest, existing.concat(t));
    } else this.warehouse.put(dest, t);
  }

  private runQuery(sql: string): Table | undefined {
    for (const h of this.queryHandlers) {
      const r = h(sql, this.warehouse);
      if (r) return r;
    }
    return undefined;
  }
}

function jobError(reason: string, message: string): Error & { reason: string } {
  return Object.assign(new Error(message), { reason });
}

function send(res: ServerResponse, status: number, body: unknown): void {
  const s = JSON.stringify(body);
  res.writeHead(status, { "content-type": "application/json; charset=UTF-8", "content-length": Buffer.byteLength(s) }).end(s);
}

function errorBody(code: number, reason: string, message: string): Json {
  return { error: { code, message, errors: [{ reason, message, domain: "global" }], status: reason } };
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

/** Bodies of a multipart/related payload, in order. */
function parseMultipart(raw: Buffer, contentType: string): Uint8Array[] {
  const b = /boundary="?([^";]+)"?/.exec(contentType)?.[1];
  if (!b) throw new Error("multipart without boundary");
  const delim = Buffer.from(`--${b}`);
  const parts: Uint8Array[] = [];
  let pos = raw.indexOf(delim);
  while (pos >= 0) {
    const start = pos + delim.length;
    if (raw.subarray(start, start + 2).toString() === "--") break;
    const next = raw.indexOf(delim, start);
    if (next < 0) break;
    const part = raw.subarray(start, next);
    const headerEnd = part.indexOf("\r\n\r\n");
    let body = part.subarray(headerEnd + 4);
    if (body.subarray(body.length - 2).toString() === "\r\n") body = body.subarray(0, body.length - 2);
    parts.push(body);
    pos = next;
  }
  return parts;
}

function bqType(f: Field): { type: string; mode: string } {
  const t = f.type as DataType;
  if (DataType.isList(t)) {
    const child = t.children[0] ?? f;
    return { type: bqType(child).type, mode: "REPEATED" };
  }
  const mode = f.nullable ? "NULLABLE" : "REQUIRED";
  if (DataType.isUtf8(t) || DataType.isLargeUtf8(t)) return { type: "STRING", mode };
  if (DataType.isInt(t)) return { type: "INTEGER", mode };
  if (DataType.isFloat(t)) return { type: "FLOAT", mode };
  if (DataType.isBool(t)) return { type: "BOOLEAN", mode };
  if (DataType.isDate(t)) return { type: "DATE", mode };
  if (DataType.isTimestamp(t)) return { type: "TIMESTAMP", mode };
  return { type: "STRING", mode };
}

export function bqSchema(schema: Schema): { fields: { name: string; type: string; mode: string }[] } {
  return { fields: schema.fields.map((f) => ({ name: f.name, ...bqType(f) })) };
}

function estimateBytes(t: Table): number {
  let n = 0;
  for (const b of t.batches) for (const c of b.data.children) n += c.byteLength;
  return n;
}

function tableResource(ref: TableRef, t: Table): Json {
  return {
    kind: "bigquery#table",
    id: `${ref.projectId}:${ref.datasetId}.${ref.tableId}`,
    tableReference: ref,
    schema: bqSchema(t.schema),
    numRows: String(t.numRows),
    numBytes: String(estimateBytes(t)),
    type: "TABLE",
    location: "US",
  };
}

// ---- the member-grouping query (src/io/bigquery/source.ts), computed in JavaScript ------------

/**
 * Emulates the statement marked `hcc-wasm:group-members`: participants deduplicated by id
 * (`_copies` = how many rows had it), FULL OUTER JOIN the diagnosis rows grouped per id
 * (`diagnosis_codes` ARRAY_AGG, `_dx_rows`); diagnosis groups without a participant become rows
 * with `_copies` = 0.
 */
function groupMembersQuery(sql: string, wh: FakeWarehouse): Table | undefined {
  if (!sql.includes("hcc-wasm:group-members")) return undefined;
  const names = [...sql.matchAll(/FROM `([^`]+)`/g)].map((m) => m[1] ?? "");
  const [pName, dName] = names;
  const ref = (n: string | undefined): TableRef => {
    const [projectId = "", datasetId = "", tableId = ""] = (n ?? "").split(".");
    return { projectId, datasetId, tableId };
  };
  const p = wh.get(ref(pName));
  const d = wh.get(ref(dName));
  if (!p || !d) throw jobError("notFound", `Not found: Table ${!p ? pName : dName}`);
  const cols = [...sql.matchAll(/\bp\.(\w+)\b/g)]
    .map((m) => m[1] ?? "")
    .filter((c, i, a) => a.indexOf(c) === i && c !== "participant_id");
  const byId = new Map<string | null, { row: Record<string, unknown> | null; copies: number; codes: string[]; dx: number }>();
  for (const r of p.toArray() as { toJSON(): Record<string, unknown> }[]) {
    const o = r.toJSON();
    const id = o["participant_id"] as string | null;
    if (id === null) continue;
    const g = byId.get(id);
    if (g) g.copies++;
    else byId.set(id, { row: o, copies: 1, codes: [], dx: 0 });
  }
  const idCol = d.getChild("participant_id");
  const codeCol = d.getChild("diagnosis_code");
  for (let i = 0; i < d.numRows; i++) {
    const id = (idCol?.get(i) ?? null) as string | null;
    const code = (codeCol?.get(i) ?? null) as string | null;
    let g = byId.get(id);
    if (!g) {
      g = { row: null, copies: 0, codes: [], dx: 0 };
      byId.set(id, g);
    }
    g.dx++;
    if (code !== null) g.codes.push(code);
  }
  const groups = [...byId.entries()];
  const columns: Record<string, Vector> = {
    participant_id: vectorFromArray(
      groups.map(([id]) => id),
      new Utf8(),
    ),
  };
  for (const c of cols) {
    const type: DataType | undefined = p.schema.fields.find((f) => f.name === c)?.type as DataType | undefined;
    const values: unknown[] = groups.map(([, g]) => (g.row ? (g.row[c] ?? null) : null));
    columns[c] = type ? vectorFromArray(values as never[], type) : vectorFromArray(values as string[]);
  }
  columns["diagnosis_codes"] = vectorFromArray(
    groups.map(([, g]) => g.codes),
    new List(new Field("item", new Utf8(), true)),
  );
  columns["_dx_rows"] = vectorFromArray(groups.map(([, g]) => BigInt(g.dx)));
  columns["_copies"] = vectorFromArray(groups.map(([, g]) => BigInt(g.copies)));
  return new Table(columns);
}
