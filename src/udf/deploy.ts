// `hcc udf deploy`: upload the bundle's library files to Cloud Storage under content-hashed names
// (an object that exists is never rewritten, so a running query keeps its libraries) and run
// the CREATE OR REPLACE FUNCTION statement as a BigQuery query job. Endpoints and credentials
// follow the BigQuery path (docs/bigquery.md) plus the Storage client's STORAGE_EMULATOR_HOST.
import { BigQuery } from "@google-cloud/bigquery";
import { Storage } from "@google-cloud/storage";
import {
  bigQueryClientOptions,
  classifyBigQueryError,
  isLoopbackHost,
  parseBigQueryConfig,
  type BigQueryAuth,
  type BigQueryConfig,
} from "../io/bigquery/config.js";
import { UnavailableError, UsageError } from "../errors.js";
import { libraryUri, parseGcsPrefix, renderUdfDdl, type GcsPrefix, type UdfBundle, type UdfInit } from "./bundle.js";

export interface UdfDeployFlags {
  project?: string;
  dataset?: string;
  location?: string;
  bucket?: string;
  init?: string;
  dryRun?: boolean;
}

export interface UdfDeployConfig {
  bigquery: BigQueryConfig;
  gcs: GcsPrefix;
  init: UdfInit;
  /** STORAGE_EMULATOR_HOST, validated (http only on loopback). */
  storageEmulator?: string;
  dryRun: boolean;
}

type Env = Record<string, string | undefined>;

export function parseUdfInit(v: string | undefined): UdfInit {
  if (v === undefined || v === "sync" || v === "async") return v ?? "sync";
  throw new UsageError(`--init: '${v}' is not sync or async`);
}

/** Flags and environment → deploy config; credentials as docs/bigquery.md, Storage included. */
export function parseUdfDeployConfig(flags: UdfDeployFlags, env: Env): UdfDeployConfig {
  if (!flags.bucket) throw new UsageError("udf deploy needs --bucket gs://BUCKET/PREFIX");
  const gcs = parseGcsPrefix(flags.bucket);
  // the Storage Read endpoint plays no part here; drop it so it cannot change the auth decision
  const bqEnv: Env = { ...env, BIGQUERY_STORAGE_ENDPOINT: undefined };
  const base = parseBigQueryConfig(
    {
      ...(flags.project !== undefined ? { project: flags.project } : {}),
      ...(flags.dataset !== undefined ? { dataset: flags.dataset } : {}),
      ...(flags.location !== undefined ? { location: flags.location } : {}),
    },
    bqEnv,
  );
  const emulatorRaw = env["STORAGE_EMULATOR_HOST"];
  let storageEmulator: string | undefined;
  if (emulatorRaw) {
    let u: URL;
    try {
      u = new URL(/^https?:\/\//.test(emulatorRaw) ? emulatorRaw : `http://${emulatorRaw}`);
    } catch (e) {
      throw new UsageError(`STORAGE_EMULATOR_HOST: '${emulatorRaw}' is not a URL`, e);
    }
    if (u.protocol === "http:" && !isLoopbackHost(u.hostname)) {
      throw new UsageError(`STORAGE_EMULATOR_HOST: plaintext http is allowed only for loopback hosts (got ${u.hostname})`);
    }
    storageEmulator = `${u.protocol}//${u.host}`;
  }
  const token = env["BIGQUERY_ACCESS_TOKEN"]?.trim();
  const loopback =
    base.apiEndpoint !== undefined &&
    isLoopbackHost(new URL(base.apiEndpoint).hostname) &&
    storageEmulator !== undefined &&
    isLoopbackHost(new URL(storageEmulator).hostname);
  const auth: BigQueryAuth = token ? { kind: "token", token } : loopback ? { kind: "none" } : { kind: "adc" };
  return {
    bigquery: { ...base, auth },
    gcs,
    init: parseUdfInit(flags.init),
    ...(storageEmulator !== undefined ? { storageEmulator } : {}),
    dryRun: flags.dryRun === true,
  };
}

/** google-auth-library 9 (under @google-cloud/storage 7) merges plain-object headers. */
class StorageTokenAuth {
  readonly #token: string;
  constructor(token: string) {
    this.#token = token;
  }
  getRequestHeaders(): Promise<Record<string, string>> {
    return Promise.resolve({ authorization: `Bearer ${this.#token}` });
  }
  getAccessToken(): Promise<{ token: string }> {
    return Promise.resolve({ token: this.#token });
  }
}

function storageClient(c: UdfDeployConfig): Storage {
  // STORAGE_EMULATOR_HOST is read by the client itself; a token is sent to it too (as BigQuery's is)
  const auth = c.bigquery.auth;
  return new Storage({
    projectId: c.bigquery.project,
    ...(auth.kind === "token" ? { authClient: new StorageTokenAuth(auth.token) as never, useAuthWithCustomEndpoint: true } : {}),
  });
}

export interface UdfDeployResult {
  functionName: string;
  uploaded: string[];
  present: string[];
  jobId: string;
  ddl: string;
}

export function udfDdlFor(b: UdfBundle, c: UdfDeployConfig): string {
  return renderUdfDdl(b, { project: c.bigquery.project, dataset: c.bigquery.dataset, location: c.gcs, init: c.init });
}

/** What deploy would do: objects (with sizes and hashes) and the DDL. Touches nothing. */
export function describeUdfDeploy(b: UdfBundle, c: UdfDeployConfig): string {
  const lines = [
    `function: ${c.bigquery.project}.${c.bigquery.dataset}.${b.functionName} (PY${b.paymentYear}, ${c.init} initialisation)`,
    `BigQuery REST endpoint: ${c.bigquery.apiEndpoint ?? "https://bigquery.googleapis.com"}`,
    `Cloud Storage endpoint: ${c.storageEmulator ?? "https://storage.googleapis.com"}`,
    `auth: ${c.bigquery.auth.kind === "token" ? "BIGQUERY_ACCESS_TOKEN" : c.bigquery.auth.kind === "none" ? "none (loopback endpoints)" : "application default credentials"}`,
    "objects (uploaded only when absent; names carry the content hash):",
    ...b.files.map((f) => `  ${libraryUri(c.gcs, f.name)}  ${f.bytes} bytes  sha256 ${f.sha256}`),
    "DDL (query job):",
    udfDdlFor(b, c),
  ];
  return lines.join("\n");
}

async function uploadAbsent(
  storage: Storage,
  c: UdfDeployConfig,
  b: UdfBundle,
): Promise<{ uploaded: string[]; present: string[] }> {
  const bucket = storage.bucket(c.gcs.bucket);
  const uploaded: string[] = [];
  const present: string[] = [];
  for (const f of b.files) {
    const name = c.gcs.prefix === "" ? f.name : `${c.gcs.prefix}/${f.name}`;
    const file = bucket.file(name);
    const uri = libraryUri(c.gcs, f.name);
    try {
      const [exists] = await file.exists();
      if (exists) {
        present.push(uri);
        continue;
      }
      // ifGenerationMatch 0: create only; a concurrent deploy of the same content wins the race harmlessly
      await file.save(f.text, {
        resumable: false,
        contentType: "application/javascript; charset=utf-8",
        metadata: { metadata: { sha256: f.sha256, "hcc-udf-key": b.key } },
        preconditionOpts: { ifGenerationMatch: 0 },
      });
      uploaded.push(uri);
    } catch (e) {
      const code = (e as { code?: unknown }).code;
      if (code === 412) {
        present.push(uri);
        continue;
      }
      const text = e instanceof Error ? e.message : String(e);
      if (code === 401 || code === 403) {
        throw new UnavailableError(
          `Cloud Storage refused the upload of ${uri}: ${text}. Deploying needs roles/storage.objectCreator and roles/storage.objectViewer on the bucket (docs/bigquery-udf.md)`,
          e,
        );
      }
      throw new UnavailableError(`Cloud Storage failed uploading ${uri}: ${text}`, e);
    }
  }
  return { uploaded, present };
}

/** Upload what is missing, then create or replace the function. */
export async function deployUdf(b: UdfBundle, c: UdfDeployConfig): Promise<UdfDeployResult> {
  const { uploaded, present } = await uploadAbsent(storageClient(c), c, b);
  const ddl = udfDdlFor(b, c);
  const bq = new BigQuery(bigQueryClientOptions(c.bigquery));
  try {
    const [job] = await bq.createQueryJob({
      query: ddl,
      useLegacySql: false,
      jobPrefix: "hcc_udf_deploy_",
      labels: { app: "hcc-wasm", step: "udf-deploy" },
      ...(c.bigquery.location !== undefined ? { location: c.bigquery.location } : {}),
    });
    await job.promise();
    return {
      functionName: `${c.bigquery.project}.${c.bigquery.dataset}.${b.functionName}`,
      uploaded,
      present,
      jobId: job.id ?? "",
      ddl,
    };
  } catch (e) {
    throw classifyBigQueryError(e, `creating function ${b.functionName} (query job)`);
  }
}
