// The deployable BigQuery UDF bundle (docs/bigquery-udf.md): library files holding the kernel,
// the payment year's pack and the runtime, the inline body for each initialisation mode, the
// argument and result types, and the CREATE FUNCTION statement. Every BigQuery limit that the
// bundle could exceed is checked here; a build that would not deploy fails with the limit named.
import { createHash } from "node:crypto";
import * as L from "../engine/layout.js";
import type { Engine } from "../engine/engine.js";
import type { Pack } from "../engine/pack-builder.js";
import { UsageError } from "../errors.js";
import type { UdfConfig, UdfModelConfig } from "./config.js";

/**
 * BigQuery's limits for JavaScript UDFs (https://cloud.google.com/bigquery/quotas#udf_limits and
 * https://cloud.google.com/bigquery/docs/user-defined-functions), as of the docs in
 * docs/bigquery-udf.md. Sizes are bytes of UTF-8; "1 MB" is taken as 10^6 to stay on the safe side.
 */
export const BIGQUERY_UDF_LIMITS = {
  /** Maximum size of each external code resource: 1 MB. */
  maxLibraryBytes: 1_000_000,
  /** Maximum size of an inline code blob: 32 KB. */
  maxInlineBytes: 32 * 1024,
  /** Maximum number of JavaScript libraries in a CREATE FUNCTION statement: 50. */
  maxLibraries: 50,
  /** Maximum JavaScript UDF resources per query (inline blobs + external files): 50. */
  maxResourcesPerQuery: 50,
  /** Maximum number of fields in STRUCT type arguments and output per UDF: 1,024. */
  maxStructFields: 1024,
  /** Maximum depth of a STRUCT type argument or output: 15 levels. */
  maxStructDepth: 15,
  /** Maximum length of an included JavaScript library path: 5,000 characters. */
  maxLibraryPathChars: 5000,
  /** Maximum length of a UDF name: 256 characters. */
  maxFunctionNameChars: 256,
} as const;
export type UdfLimits = { -readonly [K in keyof typeof BIGQUERY_UDF_LIMITS]: number };

export type UdfInit = "sync" | "async";

export interface UdfFile {
  name: string;
  role: "runtime" | "pack";
  text: string;
  bytes: number;
  sha256: string;
}

export interface UdfBundle {
  paymentYear: number;
  functionName: string;
  /** The global every file of this bundle writes into (content-derived). */
  key: string;
  files: UdfFile[];
  argumentType: string;
  returnType: string;
  inline: Record<UdfInit, string>;
  config: UdfConfig;
  dataVersion: string;
  coefficientSet: string;
}

/** The member argument: the participants columns, types BigQuery can pass to JavaScript. */
export const MEMBER_FIELDS: readonly (readonly [string, string])[] = [
  ["birth_date", "DATE"],
  ["age", "FLOAT64"], // INT64 is not accepted as a JavaScript UDF input
  ["sex", "STRING"],
  ["orec", "STRING"],
  ["crec", "STRING"],
  ["dual_elgbl_cd", "STRING"],
  ["medicaid", "BOOL"],
  ["lti", "BOOL"],
  ["new_enrollee", "BOOL"],
  ["snp", "BOOL"],
  ["low_income", "BOOL"],
  ["pace", "BOOL"],
  ["esrd_status", "STRING"],
  ["graft_months", "FLOAT64"],
  ["rx_plan", "STRING"],
  ["diagnosis_codes", "ARRAY<STRING>"],
];

export const FACTOR_FIELDS: readonly (readonly [string, string])[] = [
  ["model", "STRING"],
  ["segment", "STRING"],
  ["factor", "STRING"],
  ["factor_type", "STRING"],
  ["coefficient", "FLOAT64"],
  ["hcc", "INT64"],
  ["dx_codes", "ARRAY<STRING>"],
];

/** Result fields in risk_scores order (docs/pipeline.md "Results"), without participant_id and run_id. */
export function resultFields(config: UdfConfig): [string, string][] {
  const f: [string, string][] = [
    ["payment_year", "INT64"],
    ["risk_score", "FLOAT64"],
    ["payment_score", "FLOAT64"],
    ["rx_risk_score", "FLOAT64"],
  ];
  for (const i of config.scored) {
    const m = config.models.find((x) => x.index === i);
    if (!m) continue;
    f.push([`${m.prefix}_raw_score`, "FLOAT64"], [`${m.prefix}_normalized_score`, "FLOAT64"]);
    f.push([`${m.prefix}_segment`, "STRING"], [`${m.prefix}_hccs`, "ARRAY<STRING>"]);
  }
  f.push(["dx_malformed", "INT64"], ["dx_unmapped", "INT64"], ["edits_applied", "INT64"], ["error", "STRING"]);
  f.push(["orec_default", "BOOL"], ["dual_default", "BOOL"], ["rx_plan_default", "BOOL"]);
  f.push(["population", "STRING"], ["rx_population", "STRING"]);
  if (config.factors) f.push(["factors", `ARRAY<${structType(FACTOR_FIELDS)}>`]);
  return f;
}

const structType = (fields: readonly (readonly [string, string])[]): string =>
  `STRUCT<${fields.map(([n, t]) => `${n} ${t}`).join(", ")}>`;

/** Fields (at every depth) and STRUCT nesting depth of a BigQuery type string. */
export function countStructFields(type: string): { fields: number; depth: number } {
  const t = type.replace(/STRUCT</g, "{").replace(/ARRAY</g, "[");
  const stack: string[] = [];
  let depth = 0;
  let maxDepth = 0;
  let fields = 0;
  for (const ch of t) {
    if (ch === "{") {
      stack.push("S");
      maxDepth = Math.max(maxDepth, ++depth);
      fields++; // the STRUCT's first field
    } else if (ch === "[") stack.push("A");
    else if (ch === ">") {
      if (stack.pop() === "S") depth--;
    } else if (ch === "," && stack[stack.length - 1] === "S") fields++;
  }
  return { fields, depth: maxDepth };
}

const sha256 = (s: string | Uint8Array): string => createHash("sha256").update(s).digest("hex");

/** The runtime's config from an engine (model mask, options, as-of date, scored models). */
export function buildUdfConfig(engine: Engine, factors: boolean, packBytes: number, packParts: number): UdfConfig {
  const models: UdfModelConfig[] = engine.meta.models.map((m, index) => ({
    index,
    id: m.id,
    prefix: m.id.toLowerCase(),
    hccPrefix: m.hccPrefix,
    ccNumbers: [...m.ccNumbers],
    segments: m.segments.map((s) => s.id),
    variables: [...m.variables],
    variableKinds: [...m.variableKinds],
  }));
  return {
    paymentYear: engine.meta.paymentYear,
    asOfDays: engine.asOfDays,
    modelMask: engine.modelMask,
    options: engine.options,
    factors,
    scored: [...engine.scoredModels],
    models,
    populations: engine.meta.populations.map((p) => p.name),
    packParts,
    packBytes,
  };
}

function base64(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("base64");
}

const storeExpr = (key: string): string =>
  `var g=globalThis,s=g[${JSON.stringify(key)}]||(g[${JSON.stringify(key)}]={parts:{}});`;

export interface UdfBuildInput {
  engine: Engine;
  pack: Pack;
  wasm: Uint8Array;
  /** dist/udf/runtime.bundle.js (scripts/build-udf-runtime.mjs). */
  runtimeJs: string;
  factors: boolean;
  functionName?: string;
  engineVersion: string;
}

/** Build the bundle; throws UsageError naming the limit when BigQuery would refuse it. */
export function buildUdfBundle(input: UdfBuildInput, limits: UdfLimits = { ...BIGQUERY_UDF_LIMITS }): UdfBundle {
  const { engine, pack } = input;
  const py = engine.meta.paymentYear;
  const functionName = input.functionName ?? `hcc_score_${py}`;
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(functionName) || functionName.length > limits.maxFunctionNameChars) {
    throw new UsageError(
      `--name: '${functionName}' is not a valid UDF name (letters, digits, _; at most ${limits.maxFunctionNameChars} characters)`,
    );
  }
  // a pack part is a file of base64 plus a ~200-byte wrapper; 3 raw bytes → 4 characters
  const rawPerPart = Math.floor((limits.maxLibraryBytes - 512) / 4) * 3;
  if (rawPerPart < 3) throw new UsageError(`library size limit ${limits.maxLibraryBytes} bytes is too small for any pack part`);
  const nParts = Math.max(1, Math.ceil(pack.bytes.byteLength / rawPerPart));
  const config = buildUdfConfig(engine, input.factors, pack.bytes.byteLength, nParts);
  const wasm64 = base64(input.wasm);
  const configJson = JSON.stringify(config);
  const key = `__hcc_udf_${sha256([sha256(input.wasm), sha256(pack.bytes), sha256(configJson), sha256(input.runtimeJs)].join(":")).slice(0, 16)}`;
  const header = `/* hcc-wasm ${input.engineVersion} BigQuery UDF library: PY${py}, data ${pack.meta.dataVersion}, ${key}; generated by \`hcc udf build\`, do not edit */\n`;
  const files: UdfFile[] = [];
  const addFile = (role: UdfFile["role"], stem: string, text: string): void => {
    const hash = sha256(text);
    files.push({
      name: `hcc-udf-py${py}-${stem}-${hash.slice(0, 16)}.js`,
      role,
      text,
      bytes: Buffer.byteLength(text),
      sha256: hash,
    });
  };
  addFile(
    "runtime",
    "runtime",
    `${header}(function(){${storeExpr(key)}if(s.api)return;s.parts.wasm=${JSON.stringify(wasm64)};\n` +
      `${input.runtimeJs}\ns.api=__hccUdfRuntime.createHccUdf(${configJson},${input.wasm.byteLength},s);})();\n`,
  );
  for (let i = 0; i < nParts; i++) {
    const part = pack.bytes.subarray(i * rawPerPart, Math.min(pack.bytes.byteLength, (i + 1) * rawPerPart));
    addFile(
      "pack",
      `pack-${i + 1}-of-${nParts}`,
      `${header}(function(){${storeExpr(key)}if(s.api&&s.api.ready())return;s.parts[${JSON.stringify(`pack.${i}`)}]=${JSON.stringify(base64(part))};})();\n`,
    );
  }
  const body = (method: string): string =>
    `var s = globalThis[${JSON.stringify(key)}];\n` +
    `if (!s || !s.api) throw new Error("hcc udf: the runtime library of ${key} is not loaded");\n` +
    `return s.api.${method}(member);`;
  const inline: Record<UdfInit, string> = { sync: body("score"), async: body("scoreAsync") };
  const argumentType = structType(MEMBER_FIELDS);
  const returnType = structType(resultFields(config));
  checkLimits(files, inline, argumentType, returnType, limits);
  return {
    paymentYear: py,
    functionName,
    key,
    files,
    argumentType,
    returnType,
    inline,
    config,
    dataVersion: pack.meta.dataVersion,
    coefficientSet: pack.meta.coefficientSet,
  };
}

function checkLimits(
  files: UdfFile[],
  inline: Record<UdfInit, string>,
  argumentType: string,
  returnType: string,
  limits: UdfLimits,
): void {
  const doc = "(BigQuery UDF limits: docs/bigquery-udf.md)";
  for (const f of files) {
    if (f.bytes > limits.maxLibraryBytes) {
      throw new UsageError(
        `library file ${f.name} is ${f.bytes} bytes; BigQuery allows ${limits.maxLibraryBytes} per library file ${doc}`,
      );
    }
  }
  if (files.length > limits.maxLibraries) {
    throw new UsageError(
      `the bundle has ${files.length} library files; BigQuery allows ${limits.maxLibraries} per CREATE FUNCTION ${doc}`,
    );
  }
  if (files.length + 1 > limits.maxResourcesPerQuery) {
    throw new UsageError(
      `the bundle needs ${files.length + 1} JavaScript resources (libraries + inline body); BigQuery allows ${limits.maxResourcesPerQuery} per query ${doc}`,
    );
  }
  for (const [mode, text] of Object.entries(inline)) {
    const b = Buffer.byteLength(text);
    if (b > limits.maxInlineBytes)
      throw new UsageError(`the ${mode} inline body is ${b} bytes; BigQuery allows ${limits.maxInlineBytes} ${doc}`);
  }
  const a = countStructFields(argumentType);
  const r = countStructFields(returnType);
  if (a.fields + r.fields > limits.maxStructFields) {
    throw new UsageError(
      `the argument and result STRUCTs have ${a.fields + r.fields} fields; BigQuery allows ${limits.maxStructFields} per UDF ${doc}`,
    );
  }
  if (Math.max(a.depth, r.depth) > limits.maxStructDepth) {
    throw new UsageError(
      `a STRUCT is ${Math.max(a.depth, r.depth)} levels deep; BigQuery allows ${limits.maxStructDepth} ${doc}`,
    );
  }
}

/** A `gs://bucket/prefix` location, validated. */
export interface GcsPrefix {
  bucket: string;
  prefix: string; // "" or "a/b" (no leading or trailing slash)
}

export function parseGcsPrefix(raw: string): GcsPrefix {
  const m = /^gs:\/\/([a-z0-9][a-z0-9._-]{1,220}[a-z0-9])(?:\/(.*))?$/.exec(raw.trim());
  if (!m)
    throw new UsageError(
      `--bucket: '${raw}' is not gs://BUCKET[/PREFIX] (bucket names: 3–222 lower-case letters, digits, '-', '_', '.')`,
    );
  const prefix = (m[2] ?? "").replace(/\/+$/, "");
  if (/(^|\/)\.\.?(\/|$)|[\r\n"'\\`]/.test(prefix))
    throw new UsageError(`--bucket: prefix '${prefix}' has '.', '..' segments or quotes`);
  return { bucket: m[1] ?? "", prefix };
}

export const libraryUri = (loc: GcsPrefix, file: string): string =>
  `gs://${loc.bucket}/${loc.prefix === "" ? "" : `${loc.prefix}/`}${file}`;

export interface DdlTarget {
  project: string;
  dataset: string;
  location: GcsPrefix;
  init: UdfInit;
}

/** CREATE OR REPLACE FUNCTION for the bundle at `target` (identifiers validated by the caller). */
export function renderUdfDdl(b: UdfBundle, t: DdlTarget, limits: UdfLimits = { ...BIGQUERY_UDF_LIMITS }): string {
  const uris = b.files.map((f) => libraryUri(t.location, f.name));
  for (const u of uris) {
    if (u.length > limits.maxLibraryPathChars) {
      throw new UsageError(
        `library path ${u.slice(0, 80)}… is ${u.length} characters; BigQuery allows ${limits.maxLibraryPathChars}`,
      );
    }
  }
  const models = b.config.scored.map((i) => b.config.models.find((m) => m.index === i)?.id ?? "").join(", ");
  const description =
    `hcc-wasm CMS-HCC scoring for PY${b.paymentYear} (${models || "payment-year models"}; data ${b.dataVersion}, ` +
    `coefficients ${b.coefficientSet}; ${t.init} initialisation; ${b.key})`;
  if (b.inline[t.init].includes('"""')) throw new UsageError("inline body contains a triple quote");
  return [
    `CREATE OR REPLACE FUNCTION \`${t.project}.${t.dataset}.${b.functionName}\`(member ${b.argumentType})`,
    `RETURNS ${b.returnType}`,
    "DETERMINISTIC",
    "LANGUAGE js",
    "OPTIONS (",
    `  library = [${uris.map((u) => JSON.stringify(u)).join(", ")}],`,
    `  description = ${JSON.stringify(description)}`,
    ")",
    `AS r"""\n${b.inline[t.init]}\n""";`,
  ].join("\n");
}

/** The kernel options named for the manifest (what the bundle was built with). */
export function describeOptions(c: UdfConfig): { mceEdits: boolean; rounding: string } {
  return { mceEdits: (c.options & L.OPT_MCE) !== 0, rounding: (c.options & L.OPT_ROUND3) !== 0 ? "round3" : "none" };
}
