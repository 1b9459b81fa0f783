// The compiled kernel and a payment year's pack, read from build/ and data/: what the scoring pool
// hands its workers. No Engine here (and so no Arrow): a run that scores only in its workers
// loads neither on the main thread (start-up is part of every member-record run).
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { buildPack, type Pack } from "./engine/pack-builder.js";
import { defaultDataDir, loadPaymentYear } from "./data/load.js";
import { cachedPackFor } from "./data/pack-cache.js";
import type { PaymentYearTables } from "./engine/tables.js";
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

export type YearOptions = { paymentYear: number; dataDir?: string; coefficientSet?: string };

export function loadTables(opts: YearOptions): PaymentYearTables {
  return loadPaymentYear(opts.paymentYear, {
    ...(opts.dataDir ? { dataDir: opts.dataDir } : {}),
    ...(opts.coefficientSet ? { coefficientSet: opts.coefficientSet } : {}),
  });
}

/**
 * The year's pack, from the pack cache when it holds one for the same tables (data/pack-cache.ts):
 * without loading the tables at all when their data files are unchanged since a run stored it.
 */
export function loadPack(opts: YearOptions): Pack {
  return cachedPackFor(
    { paymentYear: opts.paymentYear, coefficientSet: opts.coefficientSet ?? "final", dataDir: opts.dataDir ?? defaultDataDir() },
    () => loadTables(opts),
    buildPack,
  );
}
