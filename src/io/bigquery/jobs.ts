// BigQuery jobs as the sink runs them (docs/bigquery.md "Jobs"):
// - every job carries an id chosen from the run, so an insert that is retried after a lost answer
//   can never run the job twice: the service answers 409 and we wait for the job that exists;
// - a job's location goes into jobReference.location only (configuration.load/copy/query have no
//   such field, and the service rejects one);
// - Parquet parts go up as resumable uploads: a transient error (5xx, 408, 429, a reset
//   connection) asks the service how many bytes it holds and resumes from there, with backoff;
// - a job that failed for a transient reason (backendError, internalError, rateLimitExceeded)
//   changed nothing (load and query jobs are atomic) and is run again under a new id.
import { open, stat } from "node:fs/promises";
import type { BigQuery } from "@google-cloud/bigquery";

export interface JobRef {
  projectId: string;
  jobId: string;
  location?: string;
}

export interface RetryPolicy {
  /** Consecutive failed attempts allowed (per request, or per upload without progress). */
  retries: number;
  /** First backoff delay; doubles per failure up to maxDelayMs, with ±25% jitter. */
  baseDelayMs: number;
  maxDelayMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = { retries: 6, baseDelayMs: 500, maxDelayMs: 16_000 };

/** The parts of a Job resource this module reads. */
export interface JobResource {
  jobReference?: { projectId?: string; jobId?: string; location?: string };
  status?: { state?: string; errorResult?: JobErrorProto; errors?: JobErrorProto[] };
  statistics?: Record<string, unknown>;
  configuration?: Record<string, unknown>;
}

interface JobErrorProto {
  reason?: string;
  message?: string;
  location?: string;
}

/** A job that ran and failed (status.errorResult): shaped like the client's ApiError for classification. */
export class JobFailedError extends Error {
  readonly errors: JobErrorProto[];
  readonly jobId: string;
  constructor(jobId: string, status: NonNullable<JobResource["status"]>) {
    const first = status.errorResult ?? status.errors?.[0] ?? {};
    super(`${first.message ?? "job failed"} (job ${jobId})`);
    this.name = "JobFailedError";
    this.jobId = jobId;
    this.errors = [first, ...(status.errors ?? []).filter((x) => x !== status.errorResult)];
  }
}

/** An HTTP answer we did not expect (upload protocol). */
export class HttpStatusError extends Error {
  readonly code: number;
  readonly errors: JobErrorProto[];
  constructor(code: number, body: string, what: string) {
    let message = body.slice(0, 500);
    let errors: JobErrorProto[] = [];
    try {
      const j = JSON.parse(body) as { error?: { message?: string; errors?: JobErrorProto[] } };
      if (j.error?.message) message = j.error.message;
      errors = j.error?.errors ?? [];
    } catch {
      // not JSON: keep the text
    }
    super(`HTTP ${code} while ${what}: ${message}`);
    this.name = "HttpStatusError";
    this.code = code;
    this.errors = errors;
  }
}

const TRANSIENT_HTTP = new Set([408, 429, 500, 502, 503, 504]);
const TRANSIENT_REASONS = new Set(["backendError", "internalError", "rateLimitExceeded", "jobBackendError"]);

/** A job id made of the run id and a step: letters, digits, _ and - only (the service's rule). */
export function makeJobId(...parts: (string | number)[]): string {
  return parts
    .map((p) => String(p).replace(/[^A-Za-z0-9_-]/g, "_"))
    .join("_")
    .slice(0, 1024);
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export function backoffMs(policy: RetryPolicy, failures: number): number {
  const d = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** Math.max(0, failures - 1));
  return Math.round(d * (0.75 + Math.random() * 0.5));
}

function errCode(e: unknown): number {
  const c = (e as { code?: unknown }).code;
  return typeof c === "number" ? c : -1;
}

/** A failed HTTP exchange worth repeating: transient status, or no answer at all. */
export function isTransientHttp(e: unknown): boolean {
  if (TRANSIENT_HTTP.has(errCode(e))) return true;
  if (e instanceof HttpStatusError) return false;
  if (e instanceof JobFailedError) return false;
  const cause = (e as { cause?: { code?: unknown } }).cause?.code;
  const text = `${e instanceof Error ? e.message : String(e)} ${typeof cause === "string" ? cause : ""}`;
  return /fetch failed|socket hang up|ECONNRESET|ECONNREFUSED|EPIPE|ETIMEDOUT|EAI_AGAIN|UND_ERR|other side closed|terminated/i.test(
    text,
  );
}

/** A job that failed for a reason that says nothing about the job itself. */
export function isTransientJobFailure(e: unknown): boolean {
  return e instanceof JobFailedError && TRANSIENT_REASONS.has(e.errors[0]?.reason ?? "");
}

interface RequestOptions {
  method: "GET" | "POST";
  uri: string;
  json?: unknown;
  qs?: Record<string, string>;
}

/** bq.request as a promise (the client's own retries on 5xx/429 apply). */
function request<T>(bq: BigQuery, opts: RequestOptions): Promise<T> {
  return new Promise((resolve, reject) => {
    (bq as unknown as { request: (o: RequestOptions, cb: (err: unknown, body: T) => void) => void }).request(opts, (err, body) =>
      err ? reject(err instanceof Error ? err : new Error(JSON.stringify(err))) : resolve(body),
    );
  });
}

export async function getJob(bq: BigQuery, ref: JobRef): Promise<JobResource> {
  return request<JobResource>(bq, {
    method: "GET",
    uri: `/jobs/${encodeURIComponent(ref.jobId)}`,
    ...(ref.location !== undefined ? { qs: { location: ref.location } } : {}),
  });
}

/** Polls jobs.get until the job is DONE; a job error throws JobFailedError. */
export async function waitForJob(bq: BigQuery, ref: JobRef, first?: JobResource, pollMs = 100): Promise<JobResource> {
  let job = first;
  let delay = pollMs;
  for (;;) {
    if (job?.status?.state === "DONE") {
      if (job.status.errorResult) throw new JobFailedError(ref.jobId, job.status);
      return job;
    }
    if (job !== undefined) {
      await sleep(delay);
      delay = Math.min(2000, Math.round(delay * 1.5));
    }
    job = await getJob(bq, ref);
  }
}

/**
 * Inserts a job under ref.jobId exactly once and waits for it. When the insert's answer is lost
 * (transient error after the client's own retries, or 409 from a retried insert), jobs.get tells
 * whether the job exists; if it does, that job is the one we wait for.
 */
export async function runJobOnce(bq: BigQuery, ref: JobRef, configuration: Record<string, unknown>): Promise<JobResource> {
  let inserted: JobResource;
  try {
    inserted = await request<JobResource>(bq, {
      method: "POST",
      uri: "/jobs",
      json: {
        jobReference: {
          projectId: ref.projectId,
          jobId: ref.jobId,
          ...(ref.location !== undefined ? { location: ref.location } : {}),
        },
        configuration,
      },
    });
  } catch (e) {
    if (errCode(e) !== 409 && !isTransientHttp(e)) throw e;
    try {
      inserted = await getJob(bq, ref);
    } catch (e2) {
      if (errCode(e2) === 404) throw e; // never inserted: the insert's own error stands
      throw e2;
    }
  }
  return waitForJob(bq, ref, inserted);
}

/**
 * Runs a job that may be repeated when it fails transiently: attempt n uses id `<base>_r<n>`.
 * Only for jobs whose failure leaves nothing behind (load jobs, and scripts whose effects are
 * inside one transaction or idempotent DDL).
 */
export async function runJobWithRetries(
  bq: BigQuery,
  base: JobRef,
  configuration: Record<string, unknown>,
  policy: RetryPolicy,
  run: (ref: JobRef) => Promise<JobResource> = (ref) => runJobOnce(bq, ref, configuration),
): Promise<JobResource> {
  for (let attempt = 0; ; attempt++) {
    const ref = attempt === 0 ? base : { ...base, jobId: `${base.jobId}_r${attempt}` };
    try {
      return await run(ref);
    } catch (e) {
      if (!isTransientJobFailure(e) || attempt >= policy.retries) throw e;
      await sleep(backoffMs(policy, attempt + 1));
    }
  }
}

// ---- resumable upload (load jobs from a local file) --------------------------------------------

export interface UploadOptions {
  policy: RetryPolicy;
  /** Bytes per PUT; the service wants a multiple of 256 KiB for every chunk but the last. */
  chunkBytes: number;
}

async function authHeaders(bq: BigQuery, url: string): Promise<Headers> {
  const auth = (bq as unknown as { authClient: { getRequestHeaders(url?: string): Promise<unknown> } }).authClient;
  const h = await auth.getRequestHeaders(url);
  return new Headers(h as ConstructorParameters<typeof Headers>[0]);
}

function apiEndpoint(bq: BigQuery): string {
  return (bq as unknown as { apiEndpoint: string }).apiEndpoint.replace(/\/+$/, "");
}

type UploadStep = { done: true; job: JobResource } | { done: false; next: number };

async function readStep(res: Response, what: string): Promise<UploadStep> {
  const body = await res.text();
  if (res.status === 200 || res.status === 201) return { done: true, job: JSON.parse(body) as JobResource };
  if (res.status === 308) {
    const range = /bytes=0-(\d+)/.exec(res.headers.get("range") ?? "");
    return { done: false, next: range ? Number(range[1]) + 1 : 0 };
  }
  throw new HttpStatusError(res.status, body, what);
}

/**
 * Uploads `file` as the data of a load job (resumable upload protocol) and returns the job
 * resource the service answers with (maybe still running). Retries and resumes per `opts.policy`;
 * a 409 (the job exists: an earlier attempt completed) returns that job.
 */
export async function uploadLoadJob(
  bq: BigQuery,
  ref: JobRef,
  load: Record<string, unknown>,
  file: string,
  opts: UploadOptions,
): Promise<JobResource> {
  const size = (await stat(file)).size;
  const startUrl = `${apiEndpoint(bq)}/upload/bigquery/v2/projects/${encodeURIComponent(ref.projectId)}/jobs?uploadType=resumable`;
  const jobBody = JSON.stringify({
    jobReference: {
      projectId: ref.projectId,
      jobId: ref.jobId,
      ...(ref.location !== undefined ? { location: ref.location } : {}),
    },
    configuration: { load },
  });
  const fh = await open(file, "r");
  let session: string | null = null;
  let offset = 0;
  let failures = 0;
  try {
    for (;;) {
      try {
        if (session === null) {
          const headers = await authHeaders(bq, startUrl);
          headers.set("content-type", "application/json; charset=UTF-8");
          headers.set("x-upload-content-type", "application/octet-stream");
          headers.set("x-upload-content-length", String(size));
          const res = await fetch(startUrl, { method: "POST", headers, body: jobBody, redirect: "manual" });
          const text = await res.text();
          if (res.status !== 200 && res.status !== 201) throw new HttpStatusError(res.status, text, "starting an upload");
          session = res.headers.get("location");
          if (!session) throw new HttpStatusError(res.status, "no upload session URL in the answer", "starting an upload");
          offset = 0;
        }
        const end = Math.min(size, offset + opts.chunkBytes);
        const chunk = Buffer.alloc(end - offset);
        if (chunk.length > 0) await fh.read(chunk, 0, chunk.length, offset);
        const headers = await authHeaders(bq, session);
        headers.set("content-type", "application/octet-stream");
        headers.set("content-range", size === 0 ? "bytes */0" : `bytes ${offset}-${end - 1}/${size}`);
        const res = await fetch(session, { method: "PUT", headers, body: chunk, redirect: "manual" });
        const step = await readStep(res, `uploading bytes ${offset}–${end} of ${size}`);
        if (step.done) return step.job;
        if (step.next > offset) failures = 0;
        offset = step.next;
      } catch (e) {
        if (errCode(e) === 409) return await getJob(bq, ref);
        if (!isTransientHttp(e) || ++failures > opts.policy.retries) throw e;
        await sleep(backoffMs(opts.policy, failures));
        if (session !== null) {
          // Where is the service? (It may hold more or fewer bytes than we sent.)
          try {
            const headers = await authHeaders(bq, session);
            headers.set("content-range", `bytes */${size}`);
            const res = await fetch(session, { method: "PUT", headers, body: new Uint8Array(0), redirect: "manual" });
            const step = await readStep(res, "asking for the upload's status");
            if (step.done) return step.job;
            offset = step.next;
          } catch (e2) {
            if (errCode(e2) === 404 || errCode(e2) === 410)
              session = null; // session gone: start over
            else if (errCode(e2) === 409) return await getJob(bq, ref);
            else if (!isTransientHttp(e2)) throw e2;
          }
        }
      }
    }
  } finally {
    await fh.close();
  }
}
