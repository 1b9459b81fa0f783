// The reference tables one payment year needs, as plain data (loaded by src/data/load.ts from
// data/, or built by tests). The pack builder turns them into the kernel's binary pack.
import type { RulesFile, EditsFile, When } from "../data/rules.js";
import type { ModelId } from "../data/sources.js";

export type { ModelId, RulesFile, EditsFile, When };

export interface ModelTables {
  id: ModelId;
  rules: RulesFile;
  edits: EditsFile;
  crosswalk: [string, number][]; // normalized code, CC
  coefficients: [string, string, number][]; // segment ("" = free term), variable, value
  hierarchy: [number, number[]][]; // in published order
  labels: Map<number, string>;
  variants?: { id: string; when: When }[];
  whatIfOnly?: boolean;
}

export interface NfRule {
  segments?: string[];
  segmentsPrefix?: string;
  value: number | null;
}

export interface PopulationSpec {
  name: string;
  part: "C" | "D";
  when: When;
  maci?: number;
  components: { model: ModelId; weight: number; nf: NfRule[] }[];
  source: string;
}

export interface PaymentYearTables {
  paymentYear: number;
  asOf: string; // YYYY-MM-DD, DATE_ASOF
  maci: number;
  coefficientSet: string;
  models: ModelTables[];
  populations: PopulationSpec[];
  dataVersion: string; // sha256 of data/MANIFEST.json
}
