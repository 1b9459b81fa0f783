// Composition helpers with I/O: read the compiled kernel and data/, build an Engine.
import { Engine, type EngineOptions } from "./engine/engine.js";
import { buildPack } from "./engine/pack-builder.js";
import { loadKernelModule, loadPack, loadTables } from "./load-pack.js";
import { buildAttributionYear, type AttributionYear } from "./attribution/payment-blend.js";

export { loadKernelModule, loadPack } from "./load-pack.js";

export interface LoadOptions extends EngineOptions {
  paymentYear: number;
  dataDir?: string;
  coefficientSet?: string;
}

export function loadEngine(opts: LoadOptions): Engine {
  return new Engine(loadKernelModule(), loadPack(opts), opts);
}

/** A payment year for change attribution: its engine and the tables (NFs, weights, MACI) its pack was built from. */
export function loadAttributionYear(opts: LoadOptions): AttributionYear {
  const tables = loadTables(opts);
  return buildAttributionYear(new Engine(loadKernelModule(), buildPack(tables), opts), tables);
}
