// Shared option parsing for the CLI commands.
import { UsageError } from "../errors.js";
import { MODEL_IDS } from "../data/sources.js";

export function parseYear(v: string): number {
  if (!/^\d{4}$/.test(v)) throw new UsageError(`--year: '${v}' is not a payment year like 2026`);
  return Number(v);
}

export function positiveInt(v: string | undefined, name: string): number | undefined {
  if (v === undefined) return undefined;
  if (!/^\d+$/.test(v) || Number(v) < 1) throw new UsageError(`${name}: '${v}' is not a positive whole number`);
  return Number(v);
}

export function parseModels(v: string | undefined): string[] {
  if (v === undefined || v.trim() === "") return [];
  const ids = v
    .split(",")
    .map((s) => s.trim().toUpperCase())
    .filter((s) => s !== "");
  for (const id of ids) {
    if (!(MODEL_IDS as readonly string[]).includes(id)) {
      throw new UsageError(`--models: unknown model '${id}' (models: ${MODEL_IDS.join(", ")})`);
    }
  }
  return ids;
}

export function parseRounding(v: string): "round3" | "none" {
  if (v === "round3" || v === "none") return v;
  throw new UsageError(`--rounding: '${v}' is not round3 or none`);
}

export interface EngineFlags {
  year: string;
  models?: string;
  mceEdits: boolean;
  rounding: string;
  coefficients?: string;
  dataDir?: string;
}

export function engineOptions(o: EngineFlags): {
  paymentYear: number;
  models: string[];
  mceEdits: boolean;
  rounding: "round3" | "none";
  coefficientSet?: string;
  dataDir?: string;
} {
  return {
    paymentYear: parseYear(o.year),
    models: parseModels(o.models),
    mceEdits: o.mceEdits,
    rounding: parseRounding(o.rounding),
    ...(o.coefficients ? { coefficientSet: o.coefficients } : {}),
    ...(o.dataDir ? { dataDir: o.dataDir } : {}),
  };
}
