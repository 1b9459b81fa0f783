// The bundle on disk: build it from data/ and build/kernel.wasm, write it to a directory
// (library files, manifest.json, the DDL for each initialisation mode), read it back for deploy.
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { Engine } from "../engine/engine.js";
import { loadKernelModule, loadPack, type LoadOptions } from "../load.js";
import { ENGINE_VERSION } from "../pipeline/score-run.js";
import { DataError, UnavailableError } from "../errors.js";
import { buildUdfBundle, parseGcsPrefix, renderUdfDdl, type UdfBundle, type UdfFile, type UdfInit } from "./bundle.js";

const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..");

export interface UdfBuildOptions extends LoadOptions {
  factors: boolean;
  functionName?: string;
}

function readBuilt(file: string, what: string): Buffer {
  try {
    return readFileSync(file);
  } catch (e) {
    throw new UnavailableError(`${file}: ${what} not built; run 'npm run build'`, e);
  }
}

/** Build the bundle for a payment year (release kernel; HCC_WASM=debug selects the debug build). */
export function buildUdfBundleFromData(o: UdfBuildOptions): UdfBundle {
  const pack = loadPack(o);
  const engine = new Engine(loadKernelModule(), pack, o);
  const wasmFile = join(root, "build", process.env["HCC_WASM"] === "debug" ? "kernel.debug.wasm" : "kernel.wasm");
  const wasm = new Uint8Array(readBuilt(wasmFile, "kernel"));
  const runtimeJs = readBuilt(join(root, "dist", "udf", "runtime.bundle.js"), "UDF runtime").toString("utf8");
  return buildUdfBundle({
    engine,
    pack,
    wasm,
    runtimeJs,
    factors: o.factors,
    engineVersion: ENGINE_VERSION,
    ...(o.functionName !== undefined ? { functionName: o.functionName } : {}),
  });
}

interface Manifest {
  format: "hcc-udf-bundle/1";
  engineVersion: string;
  bundle: Omit<UdfBundle, "files"> & { files: Omit<UdfFile, "text">[] };
}

/** Write the bundle into `dir` (created; replaced files are written to a temp name and renamed). */
export function writeUdfBundle(b: UdfBundle, dir: string, init: UdfInit): string[] {
  mkdirSync(dir, { recursive: true });
  const written: string[] = [];
  const put = (name: string, text: string): void => {
    const file = join(dir, name);
    const tmp = `${file}.tmp-${process.pid}`;
    writeFileSync(tmp, text);
    renameSync(tmp, file);
    written.push(file);
  };
  for (const f of b.files) put(f.name, f.text);
  const manifest: Manifest = {
    format: "hcc-udf-bundle/1",
    engineVersion: ENGINE_VERSION,
    bundle: { ...b, files: b.files.map(({ text: _text, ...rest }) => rest) },
  };
  put("manifest.json", JSON.stringify(manifest, null, 2) + "\n");
  const placeholder = { project: "PROJECT", dataset: "DATASET", location: parseGcsPrefix("gs://bucket/prefix"), init };
  for (const mode of ["sync", "async"] as const) {
    const ddl = renderUdfDdl(b, { ...placeholder, init: mode })
      .replace("`PROJECT.DATASET.", "`${PROJECT}.${DATASET}.")
      .replaceAll("gs://bucket/prefix/", "${LIBRARY_PREFIX}/");
    put(
      `${b.functionName}.${mode}.sql`,
      `-- ${mode === init ? "default" : "alternative"}: ${mode} initialisation; \`hcc udf deploy\` fills in the placeholders\n${ddl}\n`,
    );
  }
  return written;
}

/** Read a bundle written by writeUdfBundle, checking every file against its sha256. */
export function readUdfBundle(dir: string): UdfBundle {
  const mf = join(dir, "manifest.json");
  if (!existsSync(mf)) throw new UnavailableError(`${mf}: no UDF bundle here (run hcc udf build --out ${dir})`);
  let m: Manifest;
  try {
    m = JSON.parse(readFileSync(mf, "utf8")) as Manifest;
  } catch (e) {
    throw new DataError(`${mf}: not valid JSON`, { file: mf }, e);
  }
  if (m.format !== "hcc-udf-bundle/1") throw new DataError(`${mf}: unknown bundle format ${String(m.format)}`, { file: mf });
  const files: UdfFile[] = m.bundle.files.map((f) => {
    const file = join(dir, f.name);
    const text = readFileSync(file, "utf8");
    const b: UdfFile = { ...f, text };
    if (Buffer.byteLength(text) !== f.bytes || createHash("sha256").update(text).digest("hex") !== f.sha256) {
      throw new DataError(`${file}: content differs from manifest.json (rebuild the bundle)`, { file });
    }
    return b;
  });
  return { ...m.bundle, files };
}
