// `hcc udf deploy` against local servers: the real @google-cloud/storage client uploads the
// library files to a fake Cloud Storage JSON API (STORAGE_EMULATOR_HOST), the real
// @google-cloud/bigquery client runs the DDL as a query job on the fake REST server the
// BigQuery path's tests use; then the function as created (its libraries read back from the
// bucket, its inline body from the DDL) scores a member in the BigQuery-like sandbox.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { execFile } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { tableFromArrays } from "apache-arrow";
import { FakeRestServer, FakeWarehouse } from "../bigquery/fake-rest-server.js";
import { FakeGcsServer } from "./fake-gcs-server.js";
import { buildUdfBundleFromData, writeUdfBundle } from "../../../src/udf/artifacts.js";
import { deployUdf, parseUdfDeployConfig } from "../../../src/udf/deploy.js";
import type { UdfBundle } from "../../../src/udf/bundle.js";
import { createUdfSandbox } from "../../../src/udf/sandbox.js";

const bin = new URL("../../../bin/hcc.js", import.meta.url).pathname;
/** The CLI in a child process; asynchronous, because the fake servers run in this process. */
function hcc(args: string[], extraEnv: Record<string, string>): Promise<{ status: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile("node", [bin, ...args], { encoding: "utf8", env: { ...process.env, ...extraEnv } }, (err, stdout, stderr) => {
      resolve({ status: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}
const dir = mkdtempSync(join(tmpdir(), "hcc-udf-deploy-"));
let rest: FakeRestServer;
let gcs: FakeGcsServer;
let env: Record<string, string>;
const ddls: string[] = [];
const saved = { ...process.env };
let bundle: UdfBundle;

beforeAll(async () => {
  const wh = new FakeWarehouse();
  wh.addDataset("hcc-test-project", "hcc");
  rest = new FakeRestServer(wh);
  rest.onQuery((sql) => {
    if (!sql.startsWith("CREATE OR REPLACE FUNCTION")) return undefined;
    ddls.push(sql);
    return tableFromArrays({ created: Int32Array.from([1]) });
  });
  gcs = new FakeGcsServer(["hcc-udf-libs"]);
  env = { BIGQUERY_API_ENDPOINT: await rest.start(), STORAGE_EMULATOR_HOST: await gcs.start() };
  Object.assign(process.env, env, {
    GOOGLE_APPLICATION_CREDENTIALS: "/nonexistent/credentials.json",
    METADATA_SERVER_DETECTION: "none",
  });
  bundle = buildUdfBundleFromData({ paymentYear: 2026, models: ["V28"], mceEdits: true, rounding: "round3", factors: true });
  writeUdfBundle(bundle, join(dir, "bundle"), "sync");
});

afterAll(async () => {
  process.env = saved;
  await rest.stop();
  await gcs.stop();
  rmSync(dir, { recursive: true, force: true });
});

const flags = { project: "hcc-test-project", dataset: "hcc", bucket: "gs://hcc-udf-libs/udf/v1" };

describe("hcc udf deploy", () => {
  it("uploads every library file under its content-hashed name and creates the function with a query job", async () => {
    const cfg = parseUdfDeployConfig(flags, process.env);
    expect(cfg.bigquery.auth.kind).toBe("none"); // both endpoints loopback, no token
    const r = await deployUdf(bundle, cfg);
    expect(r.uploaded).toHaveLength(bundle.files.length);
    expect(r.present).toEqual([]);
    for (const f of bundle.files) {
      const o = gcs.objects.get(`hcc-udf-libs/udf/v1/${f.name}`);
      expect(o?.data.toString("utf8")).toBe(f.text);
      expect(o?.contentType).toMatch(/javascript/);
      expect(f.name).toContain(f.sha256.slice(0, 16));
    }
    for (const u of gcs.uploads()) expect(u.query["ifGenerationMatch"]).toBe("0");
    expect(ddls).toHaveLength(1);
    const ddl = ddls[0] ?? "";
    expect(ddl).toContain("CREATE OR REPLACE FUNCTION `hcc-test-project.hcc.hcc_score_2026`(member STRUCT<birth_date DATE");
    expect(ddl).toContain("LANGUAGE js");
    const job = rest.find("POST", /\/jobs$/).at(-1)?.body as { configuration?: { labels?: Record<string, string> } };
    expect(job.configuration?.labels).toEqual({ app: "hcc-wasm", step: "udf-deploy" });
    for (const h of gcs.requests) expect(h.headers["authorization"]).toBeUndefined();
  });

  it("the function as created scores a member (libraries read back from the bucket, body from the DDL)", () => {
    const ddl = ddls[0] ?? "";
    const libs = [...(/library = \[([^\]]*)\]/.exec(ddl)?.[1] ?? "").matchAll(/"gs:\/\/([^/]+)\/([^"]+)"/g)].map((m) => {
      const o = gcs.objects.get(`${m[1] ?? ""}/${m[2] ?? ""}`);
      if (!o) throw new Error(`library ${m[2] ?? ""} not in the bucket`);
      return { ...bundle.files[0]!, name: o.name, text: o.data.toString("utf8") };
    });
    const body = /AS r"""\n([\s\S]*)\n""";$/.exec(ddl)?.[1] ?? "";
    const sb = createUdfSandbox({ ...bundle, files: libs, inline: { sync: body, async: body } }, "sync");
    const r = sb.call({
      birth_date: Date.UTC(1950, 2, 2) / 86400000,
      sex: "F",
      orec: "0",
      dual_elgbl_cd: "00",
      diagnosis_codes: ["E11.22", "I50.9", "N18.5"],
    }) as Record<string, unknown>;
    expect(r["error"]).toBeNull();
    expect(r["v28_hccs"]).toEqual(expect.arrayContaining(["HCC37", "HCC226"]));
    expect(typeof r["risk_score"]).toBe("number");
    expect((r["factors"] as unknown[]).length).toBeGreaterThan(2);
  });

  it("a second deploy uploads nothing and replaces the function (idempotent)", async () => {
    const before = gcs.uploads().length;
    const r = await deployUdf(bundle, parseUdfDeployConfig({ ...flags, init: "async" }, process.env));
    expect(r.uploaded).toEqual([]);
    expect(r.present).toHaveLength(bundle.files.length);
    expect(gcs.uploads().length).toBe(before);
    expect(ddls.at(-1)).toContain("s.api.scoreAsync(member)");
  });

  it("a bearer token goes to both services", async () => {
    const token = "ya29.test-token-udf";
    const cfg = parseUdfDeployConfig(flags, { ...process.env, BIGQUERY_ACCESS_TOKEN: token });
    expect(cfg.bigquery.auth.kind).toBe("token");
    const n = gcs.requests.length;
    const m = rest.requests.length;
    await deployUdf(bundle, cfg);
    expect(gcs.requests.slice(n).every((r) => r.headers["authorization"] === `Bearer ${token}`)).toBe(true);
    expect(rest.requests.slice(m).some((r) => r.headers["authorization"] === `Bearer ${token}`)).toBe(true);
  });

  it("CLI: --dry-run prints the objects and the DDL and touches nothing; a built --dir deploys", async () => {
    const n = gcs.requests.length;
    const q = ddls.length;
    const args = ["udf", "deploy", "--project", flags.project, "--dataset", flags.dataset, "--bucket", flags.bucket];
    const dry = await hcc([...args, "--dir", join(dir, "bundle"), "--dry-run"], env);
    expect(dry.stderr).toBe("");
    expect(dry.status).toBe(0);
    for (const f of bundle.files) expect(dry.stdout).toContain(`gs://hcc-udf-libs/udf/v1/${f.name}  ${f.bytes} bytes`);
    expect(dry.stdout).toContain("CREATE OR REPLACE FUNCTION `hcc-test-project.hcc.hcc_score_2026`");
    expect(gcs.requests.length).toBe(n);
    expect(ddls.length).toBe(q);
    const real = await hcc([...args, "--dir", join(dir, "bundle")], env);
    expect(real.status).toBe(0);
    expect(real.stderr).toMatch(/hcc_score_2026 created \(sync initialisation.*0 library files uploaded, \d+ already present/);
    expect(ddls.length).toBe(q + 1);
  });

  it("refuses plaintext non-loopback emulators and bad buckets", () => {
    expect(() => parseUdfDeployConfig(flags, { ...env, STORAGE_EMULATOR_HOST: "http://gcs.example.com:4443" })).toThrow(
      /loopback/,
    );
    expect(() => parseUdfDeployConfig({ ...flags, bucket: "s3://x" }, env)).toThrow(/gs:\/\/BUCKET/);
    expect(() => parseUdfDeployConfig({ ...flags, init: "lazy" }, env)).toThrow(/sync or async/);
  });
});
