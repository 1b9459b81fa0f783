// BigQuery warehouse configuration: command-line flags and environment → one validated config.
// Identifiers are checked before any of them reaches a request or a SQL text; plaintext and
// credential-free connections are refused unless every endpoint is a loopback address.
// Nothing here logs or returns member ids or codes.
import { isIP } from "node:net";
import { DataError, HccError, InternalError, UnavailableError, UsageError } from "../../errors.js";

/** Table names in the dataset; every one overridable. */
export interface BigQueryTables {
  participants: string;
  diagnosisCodes: string;
  /** A pre-grouped member table (participants + diagnosis_codes ARRAY<STRING>); skips the grouping query. */
  members?: string;
  riskScores: string;
  riskScoreFactors: string;
  scoreRuns: string;
}

export interface StorageEndpoint {
  host: string;
  port: number;
  /** No TLS: only ever true for a loopback host. */
  plaintext: boolean;
}

/**
 * How requests are authorized: application default credentials, a short-lived OAuth2 access
 * token (BIGQUERY_ACCESS_TOKEN), or nothing at all (loopback endpoints only).
 */
export type BigQueryAuth = { kind: "adc" } | { kind: "token"; token: string } | { kind: "none" };

export interface BigQueryConfig {
  project: string;
  dataset: string;
  /** Job location (e.g. "US", "EU"); the dataset's location when absent. */
  location?: string;
  tables: BigQueryTables;
  /** Storage Read row_restriction on the member rows (a SQL boolean expression). */
  where?: string;
  /** Upper bound on concurrent read streams (the server may return fewer). */
  maxStreams: number;
  /** Resume attempts per stream after a retryable error (reset when rows arrive). */
  maxStreamRetries: number;
  /** Rows per Parquet part / load job. */
  loadPartRows: number;
  /** REST endpoint base URL, e.g. http://127.0.0.1:9050 (BIGQUERY_API_ENDPOINT). */
  apiEndpoint?: string;
  /** gRPC endpoint for the Storage Read API (BIGQUERY_STORAGE_ENDPOINT). */
  storageEndpoint?: StorageEndpoint;
  auth: BigQueryAuth;
  dryRun: boolean;
  /** Directory for the Parquet parts (the system temp dir when absent). */
  tmpDir?: string;
}

/** The flags the CLI hands over (commander camelCases them). All optional: env fills the gaps. */
export interface BigQueryFlags {
  project?: string;
  dataset?: string;
  location?: string;
  where?: string;
  participantsTable?: string;
  diagnosisTable?: string;
  membersTable?: string;
  riskScoresTable?: string;
  factorsTable?: string;
  runsTable?: string;
  maxStreams?: string | number;
  dryRun?: boolean;
  tmpDir?: string;
}

const TABLE_RE = /^[A-Za-z_][A-Za-z0-9_]{0,1023}$/;
const DATASET_RE = /^[A-Za-z0-9_]{1,1024}$/;
// GCP project ids: 6–30 chars, lowercase letters, digits and hyphens, starting with a letter and
// not ending with a hyphen; optionally domain-scoped ("example.com:my-project").
const PROJECT_RE = /^(?:[a-z0-9][a-z0-9.-]{0,61}[a-z0-9]:)?[a-z][a-z0-9-]{4,28}[a-z0-9]$/;
const LOCATION_RE = /^[A-Za-z][A-Za-z0-9-]{1,30}$/;

export function validateTableName(name: string, what: string): string {
  if (!TABLE_RE.test(name)) {
    throw new UsageError(`${what}: '${name}' is not a valid table name (letters, digits and _, starting with a letter or _)`);
  }
  return name;
}

export function validateDatasetName(name: string): string {
  if (!DATASET_RE.test(name)) throw new UsageError(`--dataset: '${name}' is not a valid dataset name (letters, digits and _)`);
  return name;
}

export function validateProjectId(id: string): string {
  if (!PROJECT_RE.test(id)) {
    throw new UsageError(
      `--project: '${id}' is not a valid project id (6–30 lowercase letters, digits or hyphens, starting with a letter)`,
    );
  }
  return id;
}

/** Loopback: localhost, 127.0.0.0/8, ::1 (brackets allowed). */
export function isLoopbackHost(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, "").toLowerCase();
  if (h === "localhost" || h.endsWith(".localhost")) return true;
  if (isIP(h) === 4) return h.startsWith("127.");
  if (isIP(h) === 6) return h === "::1" || h === "0:0:0:0:0:0:0:1" || h === "::ffff:127.0.0.1";
  return false;
}

function parseApiEndpoint(raw: string): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch (e) {
    throw new UsageError(`BIGQUERY_API_ENDPOINT: '${raw}' is not a URL like https://bigquery.googleapis.com`, e);
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new UsageError(`BIGQUERY_API_ENDPOINT: only http:// and https:// endpoints are supported (got ${url.protocol})`);
  }
  if (url.protocol === "http:" && !isLoopbackHost(url.hostname)) {
    throw new UsageError(`BIGQUERY_API_ENDPOINT: plaintext http is allowed only for loopback hosts (got ${url.hostname})`);
  }
  if (url.pathname !== "/" || url.search !== "") {
    throw new UsageError(`BIGQUERY_API_ENDPOINT: give the scheme, host and port only (got ${raw})`);
  }
  return `${url.protocol}//${url.host}`;
}

function parseStorageEndpoint(raw: string): StorageEndpoint {
  const m = /^(?:(https?):\/\/)?(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+):(\d{1,5})\/?$/.exec(raw.trim());
  if (!m) throw new UsageError(`BIGQUERY_STORAGE_ENDPOINT: '${raw}' is not host:port (optionally http:// or https://)`);
  const scheme = m[1];
  const host = m[2] ?? "";
  const port = Number(m[3]);
  if (port < 1 || port > 65535) throw new UsageError(`BIGQUERY_STORAGE_ENDPOINT: port ${port} is out of range`);
  const loopback = isLoopbackHost(host);
  if (scheme === "http" && !loopback) {
    throw new UsageError(`BIGQUERY_STORAGE_ENDPOINT: plaintext gRPC is allowed only for loopback hosts (got ${host})`);
  }
  // host:port without a scheme: plaintext for loopback (local servers), TLS for anything else.
  const plaintext = scheme === "http" || (scheme === undefined && loopback);
  return { host: host.replace(/^\[|\]$/g, ""), port, plaintext };
}

function positiveInt(v: string | number | undefined, fallback: number, what: string, max: number): number {
  if (v === undefined || v === "") return fallback;
  const n = typeof v === "number" ? v : Number(v);
  if (!Number.isInteger(n) || n < 1 || n > max) throw new UsageError(`${what}: '${v}' is not a whole number in 1–${max}`);
  return n;
}

function validateWhere(where: string): string {
  const w = where.trim();
  if (w === "") throw new UsageError("--where: the row restriction is empty");
  if (w.length > 10_000) throw new UsageError("--where: the row restriction is longer than 10,000 characters");
  // The restriction is sent as a Storage Read row_restriction, never spliced into a statement;
  // still refuse statement separators and comments so it cannot be mistaken for one.
  if (/;|--|\/\*|`/.test(w))
    throw new UsageError("--where: ';', '--', '/*' and backticks are not allowed in the row restriction");
  return w;
}

type Env = Record<string, string | undefined>;

/** Flags win over environment variables; both are validated the same way. */
export function parseBigQueryConfig(flags: BigQueryFlags, env: Env): BigQueryConfig {
  const pick = (flag: string | undefined, ...names: string[]): string | undefined => {
    if (flag !== undefined && flag !== "") return flag;
    for (const n of names) {
      const v = env[n];
      if (v !== undefined && v !== "") return v;
    }
    return undefined;
  };
  const project = pick(flags.project, "BIGQUERY_PROJECT", "GOOGLE_CLOUD_PROJECT");
  if (!project) throw new UsageError("--warehouse bigquery needs --project (or BIGQUERY_PROJECT)");
  const dataset = pick(flags.dataset, "BIGQUERY_DATASET");
  if (!dataset) throw new UsageError("--warehouse bigquery needs --dataset (or BIGQUERY_DATASET)");
  const location = pick(flags.location, "BIGQUERY_LOCATION");
  if (location !== undefined && !LOCATION_RE.test(location)) throw new UsageError(`--location: '${location}' is not a location`);

  const table = (flag: string | undefined, envName: string, fallback: string, what: string): string =>
    validateTableName(pick(flag, envName) ?? fallback, what);
  const members = pick(flags.membersTable, "BIGQUERY_MEMBERS_TABLE");
  const tables: BigQueryTables = {
    participants: table(flags.participantsTable, "BIGQUERY_PARTICIPANTS_TABLE", "participants", "--participants-table"),
    diagnosisCodes: table(flags.diagnosisTable, "BIGQUERY_DIAGNOSIS_TABLE", "participant_diagnosis_codes", "--diagnosis-table"),
    riskScores: table(flags.riskScoresTable, "BIGQUERY_RISK_SCORES_TABLE", "risk_scores", "--risk-scores-table"),
    riskScoreFactors: table(flags.factorsTable, "BIGQUERY_FACTORS_TABLE", "risk_score_factors", "--factors-table"),
    scoreRuns: table(flags.runsTable, "BIGQUERY_RUNS_TABLE", "score_runs", "--runs-table"),
    ...(members !== undefined ? { members: validateTableName(members, "--members-table") } : {}),
  };
  const targets = [tables.riskScores, tables.riskScoreFactors, tables.scoreRuns];
  if (new Set(targets).size !== targets.length) throw new UsageError("the risk_scores, factors and runs tables must be distinct");
  for (const t of targets) {
    if ([tables.participants, tables.diagnosisCodes, tables.members].includes(t)) {
      throw new UsageError(`result table '${t}' is also an input table`);
    }
  }

  const apiRaw = env["BIGQUERY_API_ENDPOINT"];
  const storageRaw = env["BIGQUERY_STORAGE_ENDPOINT"];
  const apiEndpoint = apiRaw ? parseApiEndpoint(apiRaw) : undefined;
  const storageEndpoint = storageRaw ? parseStorageEndpoint(storageRaw) : undefined;
  const allLoopback =
    apiEndpoint !== undefined &&
    storageEndpoint !== undefined &&
    isLoopbackHost(new URL(apiEndpoint).hostname) &&
    isLoopbackHost(storageEndpoint.host);
  const token = env["BIGQUERY_ACCESS_TOKEN"]?.trim();
  if (token !== undefined && token !== "" && !/^[\x21-\x7e]{8,4096}$/.test(token)) {
    throw new UsageError("BIGQUERY_ACCESS_TOKEN: not an OAuth2 access token (printable ASCII, no spaces)");
  }
  // Credential-free only when both endpoints are loopback; anything remote needs credentials.
  const auth: BigQueryAuth = token ? { kind: "token", token } : allLoopback ? { kind: "none" } : { kind: "adc" };

  const where = pick(flags.where, "BIGQUERY_WHERE");
  const tmpDir = pick(flags.tmpDir, "BIGQUERY_TMP_DIR");
  return {
    project: validateProjectId(project),
    dataset: validateDatasetName(dataset),
    ...(location !== undefined ? { location } : {}),
    tables,
    ...(where !== undefined ? { where: validateWhere(where) } : {}),
    maxStreams: positiveInt(flags.maxStreams ?? env["BIGQUERY_MAX_STREAMS"], 4, "--max-streams", 1000),
    maxStreamRetries: positiveInt(env["BIGQUERY_STREAM_RETRIES"], 5, "BIGQUERY_STREAM_RETRIES", 100),
    loadPartRows: positiveInt(env["BIGQUERY_LOAD_PART_ROWS"], 1_000_000, "BIGQUERY_LOAD_PART_ROWS", 100_000_000),
    ...(apiEndpoint !== undefined ? { apiEndpoint } : {}),
    ...(storageEndpoint !== undefined ? { storageEndpoint } : {}),
    auth,
    dryRun: flags.dryRun === true,
    ...(tmpDir !== undefined ? { tmpDir } : {}),
  };
}

/** `project.dataset.table` for messages and SQL (identifiers already validated). */
export function qualifiedName(c: BigQueryConfig, table: string): string {
  return `${c.project}.${c.dataset}.${table}`;
}

/**
 * An OAuth2-style auth client the Google libraries accept as `authClient`: it hands out a fixed
 * short-lived access token, or no Authorization header at all (loopback endpoints only). Both
 * GoogleAuth (REST) and google-gax (gRPC with TLS) call `getRequestHeaders`; the token is never
 * refreshed — a run that outlives it fails with UNAUTHENTICATED, and the operator issues a new one.
 */
export class StaticTokenAuthClient {
  readonly universeDomain = "googleapis.com";
  readonly #token: string | null;
  constructor(token: string | null) {
    this.#token = token;
  }
  getRequestHeaders(): Promise<Headers> {
    const h = new Headers();
    if (this.#token !== null) h.set("authorization", `Bearer ${this.#token}`);
    return Promise.resolve(h);
  }
  getAccessToken(): Promise<{ token: string | null }> {
    return Promise.resolve({ token: this.#token });
  }
}

/** Client options shared by the REST and gRPC libraries for the configured auth. */
function authOptions(c: BigQueryConfig): { authClient?: StaticTokenAuthClient } {
  if (c.auth.kind === "token") return { authClient: new StaticTokenAuthClient(c.auth.token) };
  if (c.auth.kind === "none") return { authClient: new StaticTokenAuthClient(null) };
  return {}; // application default credentials, found by the libraries themselves
}

/** @google-cloud/bigquery options: project, location, REST endpoint and auth. */
export function bigQueryClientOptions(c: BigQueryConfig): Record<string, unknown> {
  return {
    projectId: c.project,
    ...(c.location !== undefined ? { location: c.location } : {}),
    ...(c.apiEndpoint !== undefined ? { apiEndpoint: c.apiEndpoint } : {}),
    ...authOptions(c),
  };
}

/**
 * BigQueryReadClient options: the gRPC endpoint, plaintext channel credentials for a loopback
 * endpoint (the only case parseBigQueryConfig lets through), and auth.
 */
export function readClientOptions(c: BigQueryConfig, insecureCredentials: () => unknown): Record<string, unknown> {
  const e = c.storageEndpoint;
  return {
    projectId: c.project,
    ...(e !== undefined ? { apiEndpoint: e.host, port: e.port } : {}),
    ...(e?.plaintext === true ? { sslCreds: insecureCredentials() } : {}),
    ...authOptions(c),
  };
}

// ---- errors from the Google libraries ------------------------------------------------------
// gRPC status codes (Storage Read) and HTTP codes (REST) mapped onto the project's hierarchy:
// a missing table or a refused permission is "unavailable" (exit 69) and fails fast; a bad
// column or restriction is a data problem (65). Messages carry the server's text (no member data).

const GRPC = {
  INVALID_ARGUMENT: 3,
  DEADLINE_EXCEEDED: 4,
  NOT_FOUND: 5,
  PERMISSION_DENIED: 7,
  INTERNAL: 13,
  UNAVAILABLE: 14,
  UNAUTHENTICATED: 16,
};

/** UNAVAILABLE, DEADLINE_EXCEEDED, and INTERNAL from a reset HTTP/2 stream: resume at the offset. */
export function isRetryableReadError(e: unknown): boolean {
  const code = (e as { code?: unknown }).code;
  const text = e instanceof Error ? e.message : String(e);
  if (code === GRPC.UNAVAILABLE || code === GRPC.DEADLINE_EXCEEDED) return true;
  return code === GRPC.INTERNAL && /RST_STREAM|stream removed|unexpected EOS|Received unexpected/i.test(text);
}

export interface ClassifyOptions {
  /**
   * What a rejected request means: "data" (65) on the read path, where the request carries
   * --where and the input columns; "internal" (70) on the write path, where every request is
   * made by hcc from its own results.
   */
  invalid?: "data" | "internal";
  /** What to check when the request was rejected (e.g. "check --where and the table columns"). */
  hint?: string;
}

export function classifyBigQueryError(e: unknown, doing: string, opts: ClassifyOptions = {}): HccError {
  if (e instanceof HccError) return e;
  const err = e as { code?: unknown; details?: unknown; message?: unknown; errors?: { reason?: string }[] };
  const code = typeof err.code === "number" ? err.code : -1;
  const reason = err.errors?.[0]?.reason ?? "";
  const text = typeof err.details === "string" && err.details !== "" ? err.details : String(err.message ?? e);
  const grpcCode = typeof err.details === "string"; // gax errors carry details; REST ApiErrors do not
  if ((grpcCode && code === GRPC.PERMISSION_DENIED) || (!grpcCode && code === 403) || reason === "accessDenied") {
    return new UnavailableError(
      `BigQuery permission denied while ${doing}: ${text}. Reading needs roles/bigquery.readSessionUser on the project and ` +
        "roles/bigquery.dataViewer on the dataset; writing needs roles/bigquery.jobUser and roles/bigquery.dataEditor (docs/bigquery.md)",
      e,
    );
  }
  if ((grpcCode && code === GRPC.UNAUTHENTICATED) || (!grpcCode && code === 401)) {
    return new UnavailableError(`BigQuery rejected the credentials while ${doing} (expired BIGQUERY_ACCESS_TOKEN?): ${text}`, e);
  }
  if ((grpcCode && code === GRPC.NOT_FOUND) || (!grpcCode && code === 404) || reason === "notFound") {
    return new UnavailableError(`BigQuery resource not found while ${doing}: ${text}`, e);
  }
  if (
    (grpcCode && code === GRPC.INVALID_ARGUMENT) ||
    reason === "invalid" ||
    reason === "invalidQuery" ||
    (!grpcCode && code === 400)
  ) {
    if (opts.invalid === "internal") {
      return new InternalError(`BigQuery rejected a request hcc made while ${doing}: ${text}`, e);
    }
    return new DataError(
      `BigQuery rejected the request while ${doing}${opts.hint !== undefined ? ` (${opts.hint})` : ""}: ${text}`,
      {},
      e,
    );
  }
  return new UnavailableError(`BigQuery failed while ${doing}: ${text}`, e);
}
