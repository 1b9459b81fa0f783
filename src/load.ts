// Composition helpers with I/O: read the compiled kernel and data/, build an Engine.
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { Engine, type EngineOptions } from "./engine/engine.js";
import { buildPack, type Pack } from "./engine/pack-builder.js";
import { loadPaymentYear } from "./data/load.js";
import { UnavailableError } from "./errors.js";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");

const cachedModules = new Map<string, WebAssembly.Module>();

/** The compiled kernel (release build; HCC_WASM=debug selects the debug build). */
export function loadKernelModule(): WebAssembly.Module {
  const file = join(root, "build", process.env["HCC_WASM"] === "debug" ? "kernel.debug.wasm" : "kernel.wasm");
  const cached = cachedModules.get(file);
  if (cached) return cached;
  let bytes: Buffer;
  try {
    bytes = readFileSync(file);
  } catch (e) {
    throw new UnavailableError(`${file}: kernel not built; run 'npm run build'`, e);
  }
  const module = new WebAssembly.Module(bytes);
  cachedModules.set(file, module);
  return module;
}

export interface LoadOptions extends EngineOptions {
  paymentYear: number;
  dataDir?: string;
  coefficientSet?: string;
}

export function loadPack(opts: { paymentYear: number; dataDir?: string; coefficientSet?: string }): Pack {
  const tables = loadPaymentYear(opts.paymentYear, {
    ...(opts.dataDir ? { dataDir: opts.dataDir } : {}),
    ...(opts.coefficientSet ? { coefficientSet: opts.coefficientSet } : {}),
  });
  return buildPack(tables);
}

export function loadEngine(opts: LoadOptions): Engine {
  return new Engine(loadKernelModule(), loadPack(opts), opts);
}
