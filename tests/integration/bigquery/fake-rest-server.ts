// A local HTTP server speaking the slice of the BigQuery REST API (v2) that this project uses:
// datasets.get, tables.get/list/delete, jobs.insert (load, copy, query, dry-run query, and
// multi-statement scripts with a transaction), jobs.get, and load jobs through the resumable
// upload protocol (and the multipart one the Node client uses by itself). Tables live in memory
// as Arrow tables (FakeWarehouse, shared with the Storage Read server). Every request is recorded
// so tests can assert on what the client sent.
//
// Like the real service it: rejects a `location` field inside configuration.load/copy/query (the
// location belongs in jobReference); fails a job whose jobReference.location is not the dataset's;
// answers 409 to a second jobs.insert with the same job id; stores a NULL array as [] (REPEATED
// columns cannot be NULL); refuses DDL on permanent tables inside a transaction; applies a
// transaction's changes all at once at COMMIT TRANSACTION and none on an error; finishes a job
// after `jobLatencyMs` whether or not the client is still there.
//
// Limits (docs/bigquery.md "Emulators"): loads keep the Parquet file's Arrow types (no
// INT32→INT64 widening); queries are not SQL-evaluated: the member-grouping query is recognized
// by its marker comment and computed in JavaScript, and scripts are interpreted statement by
// statement for exactly the statement shapes hcc emits (anything else fails the job).
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import {
  Bool,
  DataType,
  DateDay,
  Field,
  Float64,
  Int64,
  List,
  RecordBatch,
  Schema,
  Struct,
  Table,
  TimestampMicrosecond,
  Utf8,
  makeData,
  tableFromIPC,
  vectorFromArray,
  type Vector,
} from "apache-arrow";
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
  /** Dataset location by `project.dataset` (default US). */
  readonly locations = new Map<string, string>();
  readonly tables = new Map<string, Table>();
  readonly created = new Map<string, number>();
  addDataset(projectId: string, datasetId: string, location = "US"): void {
    this.datasets.add(`${projectId}.${datasetId}`);
    this.locations.set(`${projectId}.${datasetId}`, location);
  }
  put(ref: TableRef, t: Table): void {
    if (!this.datasets.has(`${ref.projectId}.${ref.datasetId}`)) this.addDataset(ref.projectId, ref.datasetId);
    this.set(key(ref), t);
  }
  set(k: string, t: Table): void {
    if (!this.tables.has(k)) this.created.set(k, Date.now());
    this.tables.set(k, t);
  }
  get(ref: TableRef): Table | undefined {
    return this.tables.get(key(ref));
  }
  delete(ref: TableRef): boolean {
    this.created.delete(key(ref));
    return this.tables.delete(key(ref));
  }
  location(projectId: string, datasetId: string): string | undefined {
    return this.locations.get(`${projectId}.${datasetId}`);
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
  /** Upload bytes (second multipart part, or a resumable PUT's body). */
  media?: Uint8Array;
  /** When the request arrived (Date.now()). */
  at: number;
}

export interface JobFault {
  reason: string;
  message: string;
}

/** Computes a query's result; undefined = not recognized (then scripts are tried, else the job fails). */
export type QueryHandler = (sql: string, warehouse: FakeWarehouse) => Table | undefined;

export interface UploadFault {
  /** HTTP status to answer with (e.g. 503), after keeping `keepBytes` of this request's bytes. */
  status: number;
  keepBytes?: number;
}

export interface RestFaults {
  /** Fail a job when it runs (status DONE with errorResult), e.g. a load, a copy or a script. */
  job?: (configuration: Record<string, unknown>, jobId: string) => JobFault | undefined;
  /** Answer a request with an HTTP error before it is handled. */
  http?: (method: string, path: string) => { status: number; reason: string; message: string } | undefined;
  /** Handle a request, then answer with this HTTP error instead (the answer is "lost"). */
  loseAnswer?: (method: string, path: string) => number | undefined;
  /** Fail a script at one of its statements (after the ones before it ran). */
  statement?: (stmt: string) => JobFault | undefined;
  /** A resumable upload's data request (PUT with bytes): answer with an error after keeping some bytes. */
  upload?: (u: { uploadId: string; jobId: string; offset: number; attempt: number }) => UploadFault | undefined;
}

type Json = Record<string, unknown>;

interface UploadSession {
  id: string;
  projectId: string;
  body: Json;
  size: number;
  data: Buffer;
  job: Json | null;
  attempts: number;
}

export class FakeRestServer {
  readonly requests: RecordedRequest[] = [];
  readonly jobs = new Map<string, Json>();
  /** Scripts that ran (SQL text, in order of completion) with their outcome. */
  readonly scripts: { jobId: string; sql: string; error: string | null }[] = [];
  faults: RestFaults = {};
  /** Jobs stay RUNNING this long after insert; their effects happen when they finish. */
  jobLatencyMs = 0;
  private readonly server: Server;
  private readonly queryHandlers: QueryHandler[] = [];
  private readonly uploads = new Map<string, UploadSession>();
  private readonly running = new Set<Promise<void>>();
  private anonCounter = 0;
  private uploadCounter = 0;
  private base = "";

  constructor(readonly warehouse: FakeWarehouse) {
    this.server = createServer((req, res) => {
      this.handle(req, res).catch((e: unknown) => {
        if (!res.headersSent) send(res, 500, errorBody(500, "backendError", e instanceof Error ? e.message : String(e)));
      });
    });
    this.queryHandlers.push(groupMembersQuery);
  }

  onQuery(h: QueryHandler): void {
    this.queryHandlers.unshift(h);
  }

  async start(): Promise<string> {
    await new Promise<void>((resolve) => this.server.listen(0, "127.0.0.1", resolve));
    this.base = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this.base;
  }

  async stop(): Promise<void> {
    await this.idle();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  /** Resolves when every job inserted so far has finished (latency elapsed, effects applied). */
  async idle(): Promise<void> {
    while (this.running.size > 0) await Promise.all([...this.running]);
  }

  /** Requests whose path matches, e.g. /\/jobs$/. */
  find(method: string, path: RegExp): RecordedRequest[] {
    return this.requests.filter((r) => r.method === method && path.test(r.path));
  }

  /** Job configurations inserted, in order (uploads and plain jobs.insert). */
  jobConfigurations(): Json[] {
    return this.requests
      .filter(
        (r) =>
          r.method === "POST" &&
          /\/projects\/[^/]+\/jobs$/.test(r.path) &&
          r.body !== undefined &&
          (r.body as Json)["configuration"] !== undefined,
      )
      .map((r) => ((r.body as Json)["configuration"] ?? {}) as Json);
  }

  /** Job resources as inserted (jobReference + configuration), in order. */
  jobBodies(): Json[] {
    return this.requests
      .filter((r) => r.method === "POST" && /\/projects\/[^/]+\/jobs$/.test(r.path) && r.body !== undefined)
      .map((r) => r.body as Json);
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
      at: Date.now(),
    };
    const ctype = req.headers["content-type"] ?? "";
    if (ctype.startsWith("multipart/related")) {
      const parts = parseMultipart(raw, ctype);
      rec.body = JSON.parse(Buffer.from(parts[0] ?? new Uint8Array()).toString("utf8")) as unknown;
      if (parts[1]) rec.media = parts[1];
    } else if (ctype.startsWith("application/json") && raw.length > 0) {
      rec.body = JSON.parse(raw.toString("utf8")) as unknown;
    } else if (raw.length > 0) {
      rec.media = raw;
    }
    this.requests.push(rec);
    const fault = this.faults.http?.(rec.method, rec.path);
    if (fault) return send(res, fault.status, errorBody(fault.status, fault.reason, fault.message));
    const lose = this.faults.loseAnswer?.(rec.method, rec.path);
    const reply =
      lose === undefined ? send : (r: ServerResponse): void => send(r, lose, errorBody(lose, "backendError", "answer lost"));

    let m: RegExpExecArray | null;
    if ((m = /^\/upload\/bigquery\/v2\/projects\/([^/]+)\/jobs$/.exec(url.pathname))) {
      const projectId = m[1] ?? "";
      const uploadType = url.searchParams.get("uploadType");
      if (rec.method === "POST" && uploadType === "resumable")
        return this.startUpload(projectId, rec.body as Json, Number(req.headers["x-upload-content-length"] ?? NaN), res, lose);
      if (rec.method === "PUT" && url.searchParams.has("upload_id"))
        return this.putUpload(url.searchParams.get("upload_id") ?? "", req, rec.media ?? new Uint8Array(), res);
      if (rec.method === "POST") {
        const r = this.insertJob(projectId, rec.body as Json, rec.media);
        return reply(res, r.status, r.body);
      }
    }
    const p = url.pathname.replace(/^\/bigquery\/v2/, "");
    if ((m = /^\/projects\/([^/]+)\/jobs$/.exec(p)) && rec.method === "POST") {
      const r = this.insertJob(m[1] ?? "", rec.body as Json, undefined);
      return reply(res, r.status, r.body);
    }
    if ((m = /^\/projects\/([^/]+)\/jobs\/([^/]+)$/.exec(p)) && rec.method === "GET") {
      const job = this.jobs.get(`${m[1]}:${m[2]}`);
      const loc = url.searchParams.get("location");
      const jobLoc = ((job?.["jobReference"] ?? {}) as Json)["location"];
      if (!job || (loc !== null && typeof jobLoc === "string" && loc.toUpperCase() !== jobLoc.toUpperCase()))
        return send(res, 404, errorBody(404, "notFound", `Not found: Job ${m[1]}:${loc ?? "US"}.${m[2]}`));
      return send(res, 200, job);
    }
    if ((m = /^\/projects\/([^/]+)\/datasets\/([^/]+)$/.exec(p)) && rec.method === "GET") {
      const id = `${m[1]}.${m[2]}`;
      if (!this.warehouse.datasets.has(id))
        return send(res, 404, errorBody(404, "notFound", `Not found: Dataset ${m[1]}:${m[2]}`));
      return send(res, 200, {
        kind: "bigquery#dataset",
        id: `${m[1]}:${m[2]}`,
        datasetReference: { projectId: m[1], datasetId: m[2] },
        location: this.warehouse.location(m[1] ?? "", m[2] ?? "") ?? "US",
      });
    }
    if ((m = /^\/projects\/([^/]+)\/datasets\/([^/]+)\/tables$/.exec(p)) && rec.method === "GET") {
      const prefix = `${m[1]}.${m[2]}.`;
      if (!this.warehouse.datasets.has(`${m[1]}.${m[2]}`))
        return send(res, 404, errorBody(404, "notFound", `Not found: Dataset ${m[1]}:${m[2]}`));
      const tables = [...this.warehouse.tables.keys()]
        .filter((k) => k.startsWith(prefix) && !k.slice(prefix.length).includes("."))
        .map((k) => {
          const tableId = k.slice(prefix.length);
          return {
            kind: "bigquery#table",
            id: `${m?.[1]}:${m?.[2]}.${tableId}`,
            tableReference: { projectId: m?.[1], datasetId: m?.[2], tableId },
            type: "TABLE",
            creationTime: String(this.warehouse.created.get(k) ?? 0),
          };
        });
      return send(res, 200, { kind: "bigquery#tableList", tables, totalItems: tables.length });
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

  // ---- jobs ----------------------------------------------------------------------------------

  /** Checks a job resource as jobs.insert does; an HTTP error (status, body) or null. */
  private rejectJob(projectId: string, body: Json): { status: number; body: Json } | null {
    const config = (body["configuration"] ?? {}) as Json;
    for (const kind of ["load", "copy", "query", "extract"]) {
      const c = config[kind] as Json | undefined;
      if (c && "location" in c) {
        return {
          status: 400,
          body: errorBody(
            400,
            "invalid",
            `Invalid JSON payload received. Unknown name "location" at 'job.configuration.${kind}': Cannot find field.`,
          ),
        };
      }
    }
    const jobRef = (body["jobReference"] ?? {}) as Json;
    const jobId = jobRef["jobId"];
    if (typeof jobId === "string" && this.jobs.has(`${projectId}:${jobId}`)) {
      const loc = typeof jobRef["location"] === "string" ? jobRef["location"] : "US";
      return { status: 409, body: errorBody(409, "duplicate", `Already Exists: Job ${projectId}:${loc}.${jobId}`) };
    }
    return null;
  }

  private insertJob(projectId: string, body: Json, media: Uint8Array | undefined): { status: number; body: Json } {
    const rejected = this.rejectJob(projectId, body);
    if (rejected) return rejected;
    return { status: 200, body: this.createJob(projectId, body, media) };
  }

  /** Creates the job record; runs it now, or after jobLatencyMs (the client need not be there). */
  private createJob(projectId: string, body: Json, media: Uint8Array | undefined): Json {
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
      status: { state: "RUNNING" },
    };
    const dryRun = config["dryRun"] === true;
    const run = (): void => this.runJob(projectId, jobId, job, config, media, typeof jobRef["location"] === "string");
    if (dryRun || this.jobLatencyMs <= 0) {
      if (!dryRun) this.jobs.set(`${projectId}:${jobId}`, job);
      run();
      return job;
    }
    this.jobs.set(`${projectId}:${jobId}`, job);
    const p = new Promise<void>((resolve) =>
      setTimeout(() => {
        run();
        resolve();
      }, this.jobLatencyMs),
    );
    this.running.add(p);
    void p.finally(() => this.running.delete(p));
    return structuredClone(job);
  }

  private runJob(
    projectId: string,
    jobId: string,
    job: Json,
    config: Json,
    media: Uint8Array | undefined,
    located: boolean,
  ): void {
    const fail = (reason: string, message: string): void => {
      job["status"] = { state: "DONE", errorResult: { reason, message }, errors: [{ reason, message }] };
    };
    const injected = this.faults.job?.(config, jobId);
    if (injected) return fail(injected.reason, injected.message);
    const location = ((job["jobReference"] ?? {}) as Json)["location"] as string;
    try {
      if (config["load"]) {
        const load = config["load"] as Json;
        if (located) this.checkLocation(location, [load["destinationTable"] as TableRef]);
        this.runLoad(load, media);
      } else if (config["copy"]) {
        const copy = config["copy"] as Json;
        const refs = [
          copy["destinationTable"] as TableRef,
          ...((copy["sourceTables"] as TableRef[] | undefined) ?? [copy["sourceTable"] as TableRef]),
        ];
        if (located) this.checkLocation(location, refs);
        this.runCopy(copy);
      } else if (config["query"]) {
        const q = config["query"] as Json;
        const sql = typeof q["query"] === "string" ? q["query"] : "";
        if (located) this.checkLocation(location, referencedTables(sql));
        const result = this.runQuery(sql);
        if (result === "script") {
          try {
            this.runScript(sql);
            this.scripts.push({ jobId, sql, error: null });
          } catch (e) {
            this.scripts.push({ jobId, sql, error: (e as Error).message });
            throw e;
          }
          job["statistics"] = { query: { statementType: "SCRIPT" } };
        } else if (!result) {
          return fail("invalidQuery", "fake BigQuery: query not recognized by any handler");
        } else if (config["dryRun"] === true) {
          job["statistics"] = {
            query: { totalBytesProcessed: String(estimateBytes(result)) },
            totalBytesProcessed: String(estimateBytes(result)),
          };
        } else {
          let dest = q["destinationTable"] as TableRef | undefined;
          if (!dest) {
            dest = { projectId, datasetId: "_anon_fake", tableId: `anon_${++this.anonCounter}` };
            q["destinationTable"] = dest;
          }
          this.warehouse.put(dest, result);
          job["statistics"] = { query: { totalBytesProcessed: String(estimateBytes(result)) } };
        }
      } else return fail("invalid", "fake BigQuery: unsupported job type");
    } catch (e) {
      const err = e as { reason?: string; message: string };
      return fail(err.reason ?? "invalid", err.message);
    }
    job["status"] = { state: "DONE" };
  }

  /** A job located somewhere else than a dataset it touches fails as in BigQuery. */
  private checkLocation(location: string, refs: (TableRef | undefined)[]): void {
    for (const r of refs) {
      if (!r || r.datasetId.startsWith("_")) continue;
      const at = this.warehouse.location(r.projectId, r.datasetId);
      if (at !== undefined && at.toUpperCase() !== location.toUpperCase()) {
        throw jobError("notFound", `Not found: Dataset ${r.projectId}:${r.datasetId} was not found in location ${location}`);
      }
    }
  }

  private runLoad(load: Json, media: Uint8Array | undefined): void {
    if (!media) throw jobError("invalid", "load without uploaded data (only media uploads are emulated)");
    if (load["sourceFormat"] !== "PARQUET")
      throw jobError("invalid", `sourceFormat ${String(load["sourceFormat"])} is not emulated`);
    const t = arraysNeverNull(tableFromIPC(readParquet(media).intoIPCStream()));
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

  /** A table result, "script" for DDL/DML statements, or undefined when nothing recognizes the SQL. */
  private runQuery(sql: string): Table | "script" | undefined {
    for (const h of this.queryHandlers) {
      const r = h(sql, this.warehouse);
      if (r) return r;
    }
    const first = splitStatements(sql)[0] ?? "";
    return /^(BEGIN|CREATE|ALTER|INSERT|TRUNCATE|DROP|IF)\b/i.test(first) ? "script" : undefined;
  }

  // ---- resumable uploads ----------------------------------------------------------------------

  private startUpload(projectId: string, body: Json, size: number, res: ServerResponse, lose: number | undefined): void {
    const rejected = this.rejectJob(projectId, body ?? {});
    if (rejected) return send(res, rejected.status, rejected.body);
    const id = `up_${++this.uploadCounter}`;
    this.uploads.set(id, { id, projectId, body, size, data: Buffer.alloc(0), job: null, attempts: 0 });
    if (lose !== undefined) return send(res, lose, errorBody(lose, "backendError", "answer lost"));
    const location = `${this.base}/upload/bigquery/v2/projects/${projectId}/jobs?uploadType=resumable&upload_id=${id}`;
    res.writeHead(200, { location, "content-length": 0 }).end();
  }

  private putUpload(id: string, req: IncomingMessage, bytes: Uint8Array, res: ServerResponse): void {
    const u = this.uploads.get(id);
    if (!u) return send(res, 404, errorBody(404, "notFound", `upload session ${id} not found`));
    const range = String(req.headers["content-range"] ?? "");
    const status = (): void => {
      if (u.job) return send(res, 200, u.job);
      const headers: Record<string, string | number> = { "content-length": 0 };
      if (u.data.length > 0) headers["range"] = `bytes=0-${u.data.length - 1}`;
      res.writeHead(308, headers).end();
    };
    let m: RegExpExecArray | null;
    if ((m = /^bytes \*\/(\d+|\*)$/.exec(range))) {
      if (m[1] !== "*") u.size = Number(m[1]);
      return status();
    }
    if (!(m = /^bytes (\d+)-(\d+)\/(\d+|\*)$/.exec(range)))
      return send(res, 400, errorBody(400, "invalid", `bad Content-Range '${range}'`));
    if (u.job) return send(res, 200, u.job);
    const from = Number(m[1]);
    if (m[3] !== "*") u.size = Number(m[3]);
    if (from > u.data.length)
      return send(res, 400, errorBody(400, "invalid", `upload gap: have ${u.data.length} bytes, chunk starts at ${from}`));
    const ref = (u.body["jobReference"] ?? {}) as Json;
    const jobId = typeof ref["jobId"] === "string" ? ref["jobId"] : "";
    const fault = this.faults.upload?.({ uploadId: id, jobId, offset: from, attempt: u.attempts++ });
    let chunk = Buffer.from(bytes);
    if (fault) chunk = chunk.subarray(0, Math.max(0, Math.min(chunk.length, fault.keepBytes ?? 0)));
    // bytes before what the server holds are already there (a client resending them)
    const fresh = chunk.subarray(Math.min(chunk.length, u.data.length - from));
    u.data = Buffer.concat([u.data, fresh]);
    if (fault) return send(res, fault.status, errorBody(fault.status, "backendError", "injected upload failure"));
    if (u.data.length === u.size) return this.finishUpload(u, res);
    return status();
  }

  private finishUpload(u: UploadSession, res: ServerResponse): void {
    const rejected = this.rejectJob(u.projectId, u.body);
    if (rejected) return send(res, rejected.status, rejected.body);
    u.job = this.createJob(u.projectId, u.body, u.data);
    send(res, 200, u.job);
  }

  // ---- scripts (multi-statement queries) ------------------------------------------------------

  /**
   * Runs a script: DDL outside transactions takes effect at once; inside BEGIN … COMMIT
   * TRANSACTION every change goes to an overlay applied at COMMIT, discarded on any error or
   * when the script ends first.
   */
  private runScript(sql: string): void {
    let tx: Map<string, Table> | null = null;
    const read = (k: string): Table | undefined => tx?.get(k) ?? this.warehouse.tables.get(k);
    const need = (k: string): Table => {
      const t = read(k);
      if (!t) throw jobError("notFound", `Not found: Table ${k}`);
      return t;
    };
    const write = (k: string, t: Table): void => {
      if (tx) tx.set(k, t);
      else this.warehouse.set(k, t);
    };
    const noDdlInTx = (s: string): void => {
      if (tx)
        throw jobError(
          "invalidQuery",
          `DDL statements on permanent entities are not supported in transactions: ${s.slice(0, 60)}`,
        );
    };
    for (const stmt of splitStatements(sql)) {
      const injected = this.faults.statement?.(stmt);
      if (injected) throw jobError(injected.reason, injected.message);
      let m: RegExpExecArray | null;
      if (/^BEGIN TRANSACTION$/i.test(stmt)) {
        if (tx) throw jobError("invalidQuery", "Nested transactions are not supported");
        tx = new Map();
      } else if (/^COMMIT TRANSACTION$/i.test(stmt)) {
        if (!tx) throw jobError("invalidQuery", "COMMIT TRANSACTION without a transaction");
        for (const [k, t] of tx) this.warehouse.set(k, t);
        tx = null;
      } else if (/^ROLLBACK TRANSACTION$/i.test(stmt)) {
        tx = null;
      } else if ((m = /^CREATE TABLE IF NOT EXISTS `([^`]+)` \(([\s\S]*)\)$/i.exec(stmt))) {
        noDdlInTx(stmt);
        const k = m[1] ?? "";
        this.checkDataset(k);
        if (!this.warehouse.tables.has(k)) {
          const fields = splitTopLevel(m[2] ?? "").map((d) => {
            const c = /^`?(\w+)`?\s+(.+)$/.exec(d.trim());
            if (!c) throw jobError("invalidQuery", `column definition '${d}'`);
            return new Field(c[1] ?? "", arrowOfSqlType((c[2] ?? "").trim()), true);
          });
          this.warehouse.set(k, emptyTable(fields));
        }
      } else if ((m = /^ALTER TABLE `([^`]+)`\s+(ADD COLUMN[\s\S]*)$/i.exec(stmt))) {
        noDdlInTx(stmt);
        const k = m[1] ?? "";
        let t = need(k);
        for (const clause of splitTopLevel(m[2] ?? "")) {
          const c = /^ADD COLUMN IF NOT EXISTS `?(\w+)`?\s+(.+)$/i.exec(clause.trim());
          if (!c) throw jobError("invalidQuery", `ALTER TABLE clause '${clause}' is not emulated`);
          if (t.schema.fields.some((f) => f.name.toLowerCase() === (c[1] ?? "").toLowerCase())) continue;
          const field = new Field(c[1] ?? "", arrowOfSqlType((c[2] ?? "").trim()), true);
          t = withColumns(t, [...t.schema.fields, field], (name) => (name === field.name ? null : listValues(t, name)));
        }
        this.warehouse.set(k, t);
      } else if ((m = /^ALTER TABLE `([^`]+)` ALTER COLUMN `?(\w+)`? DROP NOT NULL$/i.exec(stmt))) {
        noDdlInTx(stmt);
        const k = m[1] ?? "";
        const t = need(k);
        const fields = t.schema.fields.map((f) => (f.name === m?.[2] ? new Field(f.name, f.type, true) : f));
        this.warehouse.set(
          k,
          withColumns(t, fields, (name) => listValues(t, name)),
        );
      } else if ((m = /^DROP TABLE IF EXISTS `([^`]+)`$/i.exec(stmt))) {
        noDdlInTx(stmt);
        this.warehouse.tables.delete(m[1] ?? "");
      } else if ((m = /^IF ([\s\S]+?) THEN\s+RAISE USING MESSAGE = '([^']*)'\s*;?\s*END IF$/i.exec(stmt))) {
        if (this.condition(m[1] ?? "", read)) throw jobError("invalidQuery", m[2] ?? "raised");
      } else if ((m = /^TRUNCATE TABLE `([^`]+)`$/i.exec(stmt))) {
        const t = need(m[1] ?? "");
        write(m[1] ?? "", emptyTable(t.schema.fields));
      } else if ((m = /^INSERT INTO `([^`]+)` \(([^)]*)\)\s+SELECT ([\s\S]+?) FROM `([^`]+)`$/i.exec(stmt))) {
        const target = need(m[1] ?? "");
        const from = need(m[4] ?? "");
        const cols = identifiers(m[2] ?? "");
        if (identifiers(m[3] ?? "").join(",") !== cols.join(","))
          throw jobError("invalidQuery", "fake BigQuery: INSERT … SELECT must select the inserted columns");
        for (const c of cols) {
          if (!from.schema.fields.some((f) => f.name === c)) throw jobError("invalidQuery", `Unrecognized name: ${c}`);
          if (!target.schema.fields.some((f) => f.name === c))
            throw jobError("invalidQuery", `Column ${c} is not present in table ${m[1]}`);
        }
        const rows = from.numRows;
        const added = withColumns(emptyTable(target.schema.fields), target.schema.fields, (name) =>
          cols.includes(name) ? listValues(from, name) : new Array<unknown>(rows).fill(null),
        );
        write(m[1] ?? "", concatRows(target, added));
      } else if ((m = /^INSERT INTO `([^`]+)` \(([^)]*)\)\s+VALUES \(([\s\S]*)\)$/i.exec(stmt))) {
        const target = need(m[1] ?? "");
        const cols = identifiers(m[2] ?? "");
        const vals = splitTopLevel(m[3] ?? "").map((v) => literal(v.trim()));
        if (vals.length !== cols.length) throw jobError("invalidQuery", "INSERT has more columns than values");
        for (const c of cols)
          if (!target.schema.fields.some((f) => f.name === c))
            throw jobError("invalidQuery", `Column ${c} is not present in table ${m[1]}`);
        const row = withColumns(emptyTable(target.schema.fields), target.schema.fields, (name) => {
          const i = cols.indexOf(name);
          return [i >= 0 ? vals[i] : null];
        });
        write(m[1] ?? "", concatRows(target, row));
      } else {
        throw jobError("invalidQuery", `fake BigQuery: statement not emulated: ${stmt.slice(0, 120)}`);
      }
    }
    // a script that ends inside a transaction rolls it back (the overlay is dropped)
  }

  private checkDataset(tableKey: string): void {
    const ds = tableKey.split(".").slice(0, 2).join(".");
    if (!this.warehouse.datasets.has(ds)) throw jobError("notFound", `Not found: Dataset ${ds}`);
  }

  /** The conditions hcc's scripts use: a staging count check, a later committed run. */
  private condition(cond: string, read: (k: string) => Table | undefined): boolean {
    let m: RegExpExecArray | null;
    if ((m = /^\(SELECT COUNT\(\*\) FROM `([^`]+)`\) <> (\d+)$/i.exec(cond.trim()))) {
      const t = read(m[1] ?? "");
      if (!t) throw jobError("notFound", `Not found: Table ${m[1]}`);
      return t.numRows !== Number(m[2]);
    }
    if (
      (m = /^EXISTS \(SELECT 1 FROM `([^`]+)` WHERE status = 'succeeded' AND started_at > TIMESTAMP '([^']+)'\)$/i.exec(
        cond.trim(),
      ))
    ) {
      const t = read(m[1] ?? "");
      if (!t) throw jobError("notFound", `Not found: Table ${m[1]}`);
      const after = Date.parse(m[2] ?? "");
      const status = t.getChild("status");
      const started = t.getChild("started_at");
      for (let i = 0; i < t.numRows; i++) {
        if (status?.get(i) === "succeeded" && toMillis(started?.get(i)) > after) return true;
      }
      return false;
    }
    throw jobError("invalidQuery", `fake BigQuery: condition not emulated: ${cond}`);
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

// ---- SQL text helpers (the statement shapes hcc emits) ----------------------------------------

/** Statements of a script: comments dropped, split at `;` outside quotes, IF … END IF kept whole. */
export function splitStatements(sql: string): string[] {
  const out: string[] = [];
  let cur = "";
  let quote: string | null = null;
  for (let i = 0; i < sql.length; i++) {
    const ch = sql[i] ?? "";
    if (quote) {
      cur += ch;
      if (ch === quote) quote = null;
      continue;
    }
    if (ch === "'" || ch === "`" || ch === '"') {
      quote = ch;
      cur += ch;
    } else if (ch === "-" && sql[i + 1] === "-") {
      while (i < sql.length && sql[i] !== "\n") i++;
      cur += "\n";
    } else if (ch === ";") {
      out.push(cur);
      cur = "";
    } else cur += ch;
  }
  out.push(cur);
  const merged: string[] = [];
  let open: string | null = null;
  for (const raw of out) {
    const s = collapseSpace(raw);
    if (s === "") continue;
    if (open !== null) {
      open += `; ${s}`;
      if (/^END IF$/i.test(s)) {
        merged.push(open);
        open = null;
      }
    } else if (/^IF\b/i.test(s)) open = s;
    else merged.push(s);
  }
  if (open !== null) merged.push(open);
  return merged;
}

/** Runs of whitespace outside quotes become one space; ends trimmed. */
function collapseSpace(s: string): string {
  let out = "";
  let quote: string | null = null;
  for (const ch of s) {
    if (quote) {
      out += ch;
      if (ch === quote) quote = null;
    } else if (/\s/.test(ch)) {
      if (!out.endsWith(" ")) out += " ";
    } else {
      if (ch === "'" || ch === "`" || ch === '"') quote = ch;
      out += ch;
    }
  }
  return out.trim();
}

/** Comma-separated items at parenthesis/angle-bracket depth 0, outside quotes. */
function splitTopLevel(s: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let quote: string | null = null;
  let cur = "";
  for (const ch of s) {
    if (quote) {
      if (ch === quote) quote = null;
      cur += ch;
      continue;
    }
    if (ch === "'" || ch === "`") quote = ch;
    if (ch === "(" || ch === "<") depth++;
    if (ch === ")" || ch === ">") depth--;
    if (ch === "," && depth === 0) {
      out.push(cur);
      cur = "";
    } else cur += ch;
  }
  if (cur.trim() !== "") out.push(cur);
  return out;
}

function identifiers(list: string): string[] {
  return list.split(",").map((x) => x.trim().replace(/^`|`$/g, ""));
}

/** A literal of the VALUES lists hcc writes. */
function literal(v: string): unknown {
  let m: RegExpExecArray | null;
  if (/^NULL$/i.test(v)) return null;
  if (/^-?\d+$/.test(v)) return BigInt(v);
  if ((m = /^TIMESTAMP '([^']+)'$/i.exec(v))) return new Date(m[1] ?? "");
  if ((m = /^CAST\(FROM_BASE64\('([A-Za-z0-9+/=]*)'\) AS STRING\)$/i.exec(v)))
    return Buffer.from(m[1] ?? "", "base64").toString("utf8");
  if ((m = /^'([^'\\]*)'$/.exec(v))) return m[1];
  throw jobError("invalidQuery", `fake BigQuery: literal not emulated: ${v}`);
}

/** `project.dataset.table` names a statement mentions in backticks. */
function referencedTables(sql: string): TableRef[] {
  return [...sql.matchAll(/`([^`.]+)\.([^`.]+)\.([^`.]+)`/g)].map((m) => ({
    projectId: m[1] ?? "",
    datasetId: m[2] ?? "",
    tableId: m[3] ?? "",
  }));
}

function arrowOfSqlType(t: string): DataType {
  const m = /^ARRAY<(.+)>$/i.exec(t);
  if (m) return new List(new Field("item", arrowOfSqlType(m[1] ?? ""), true));
  switch (t.toUpperCase()) {
    case "STRING":
      return new Utf8();
    case "INT64":
      return new Int64();
    case "FLOAT64":
      return new Float64();
    case "BOOL":
      return new Bool();
    case "TIMESTAMP":
      return new TimestampMicrosecond("UTC");
    case "DATE":
      return new DateDay();
    default:
      throw jobError("invalidQuery", `fake BigQuery: type ${t} not emulated`);
  }
}

function toMillis(v: unknown): number {
  if (v instanceof Date) return v.getTime();
  if (typeof v === "bigint") return Number(v);
  return typeof v === "number" ? v : NaN;
}

/** A value as a column of `type` stores it (BigQuery coercions the scripts rely on). */
function coerce(v: unknown, type: DataType): unknown {
  if (DataType.isList(type)) {
    if (v === null || v === undefined) return []; // REPEATED: never NULL
    const items =
      typeof v === "object" && v !== null && "toArray" in v ? [...(v as { toArray(): unknown[] }).toArray()] : (v as unknown[]);
    const child = type.children[0]?.type as DataType;
    return items.map((x) => coerce(x, child));
  }
  if (v === null || v === undefined) return null;
  if (DataType.isInt(type)) return type.bitWidth === 64 ? BigInt(typeof v === "bigint" ? v : Math.trunc(Number(v))) : Number(v);
  if (DataType.isFloat(type)) return Number(v);
  if (DataType.isBool(type)) return Boolean(v);
  if (DataType.isTimestamp(type) || DataType.isDate(type)) return v instanceof Date ? v : new Date(toMillis(v));
  return typeof v === "string" ? v : JSON.stringify(v);
}

function emptyTable(fields: Field[]): Table {
  return withColumns(null, fields, () => []);
}

function listValues(t: Table, name: string): unknown[] {
  const col = t.getChild(name);
  const out: unknown[] = [];
  for (let i = 0; i < t.numRows; i++) out.push(col?.get(i) ?? null);
  return out;
}

/** A one-batch table with exactly `fields`, each column's values from `values` (coerced). */
function withColumns(t: Table | null, fields: Field[], values: (name: string, rows: number) => unknown[] | null): Table {
  const rows = t?.numRows ?? -1;
  const cols = fields.map((f) => {
    const raw = values(f.name, rows) ?? new Array<unknown>(Math.max(0, rows)).fill(null);
    const vs = raw.map((v, i) => {
      const x = coerce(v, f.type as DataType);
      if (x === null && !f.nullable) throw jobError("invalidQuery", `Required field ${f.name} cannot be null (row ${i})`);
      return x;
    });
    return vectorFromArray(vs as never[], f.type as DataType);
  });
  const n = cols[0]?.length ?? 0;
  const data = makeData({
    type: new Struct(fields),
    length: n,
    nullCount: 0,
    children: cols.map((v) => (v.data.length === 1 ? v.data[0] : vectorFromArray([...v] as never[], v.type).data[0])) as never[],
  });
  return new Table([new RecordBatch(new Schema(fields), data)]);
}

function concatRows(a: Table, b: Table): Table {
  if (a.numRows === 0) return b;
  if (b.numRows === 0) return a;
  return withColumns(a, a.schema.fields, (name) => [...listValues(a, name), ...listValues(b, name)]);
}

/** BigQuery has no NULL arrays: a loaded NULL list becomes []. */
function arraysNeverNull(t: Table): Table {
  const lists = t.schema.fields.filter((f) => DataType.isList(f.type) && (t.getChild(f.name)?.nullCount ?? 0) > 0);
  if (lists.length === 0) return t;
  return withColumns(t, t.schema.fields, (name) => listValues(t, name));
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
 * (`diagnosis_codes` ARRAY_AGG, `_dx_rows`, `_null_dx` when the statement asks for it);
 * diagnosis groups without a participant become rows with `_copies` = 0.
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
  const byId = new Map<
    string | null,
    { row: Record<string, unknown> | null; copies: number; codes: string[]; dx: number; nulls: number }
  >();
  for (const r of p.toArray() as { toJSON(): Record<string, unknown> }[]) {
    const o = r.toJSON();
    const id = o["participant_id"] as string | null;
    if (id === null) continue;
    const g = byId.get(id);
    if (g) g.copies++;
    else byId.set(id, { row: o, copies: 1, codes: [], dx: 0, nulls: 0 });
  }
  const idCol = d.getChild("participant_id");
  const codeCol = d.getChild("diagnosis_code");
  for (let i = 0; i < d.numRows; i++) {
    const id = (idCol?.get(i) ?? null) as string | null;
    const code = (codeCol?.get(i) ?? null) as string | null;
    let g = byId.get(id);
    if (!g) {
      g = { row: null, copies: 0, codes: [], dx: 0, nulls: 0 };
      byId.set(id, g);
    }
    g.dx++;
    if (code !== null) g.codes.push(code);
    else g.nulls++;
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
  if (sql.includes("_null_dx")) columns["_null_dx"] = vectorFromArray(groups.map(([, g]) => BigInt(g.nulls)));
  columns["_copies"] = vectorFromArray(groups.map(([, g]) => BigInt(g.copies)));
  return new Table(columns);
}
