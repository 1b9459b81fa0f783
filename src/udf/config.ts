// What the UDF runtime needs besides the kernel and the pack: the engine options fixed at build
// time and the labels of the payment year's models. Built by src/udf/bundle.ts, embedded in the
// runtime library file as JSON, read by src/udf/runtime.ts. Pure types: no Node API.

/** One pack model, as the runtime labels its results and factors. */
export interface UdfModelConfig {
  /** Index of the model in the pack (kernel model slot). */
  index: number;
  id: string;
  /** Column prefix in risk_scores: V28 → v28. */
  prefix: string;
  hccPrefix: string;
  /** HCC numbers the model has (others are never named). */
  ccNumbers: number[];
  segments: string[];
  variables: string[];
  /** Factor type of each variable: demographic, interaction, count, bonus. */
  variableKinds: string[];
}

export interface UdfConfig {
  paymentYear: number;
  asOfDays: number;
  /** Kernel model mask (0 = what the payment year uses per member). */
  modelMask: number;
  /** Kernel options (MCE edits, rounding); OPT_FACTORS is added when `factors`. */
  options: number;
  /** Return the factors array (risk_score_factors rows) with each result. */
  factors: boolean;
  /** Pack model indices whose columns the result carries, ascending (Engine.scoredModels). */
  scored: number[];
  /** Every pack model (factor rows name the model they belong to). */
  models: UdfModelConfig[];
  /** The payment year's population names in pack order (result columns population, rx_population). */
  populations: string[];
  /** Number of library parts holding the base64 pack, and its size in bytes. */
  packParts: number;
  packBytes: number;
}

/** The per-context state every library file writes into (globalThis[key]). */
export interface UdfStore {
  /** Base64 parts: "wasm", "pack.0" … "pack.N-1"; set to null once the kernel holds them. */
  parts: Record<string, string | null>;
  api?: unknown;
}
