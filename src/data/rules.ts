// Model rule files (data/rules/*.json) and edit tables (data/edits/*.json): types and loading.
import { join } from "node:path";
import type { ModelId } from "./sources.js";
import { DataError } from "../errors.js";
import { readDataText } from "./reads.js";

export type ClauseValue = number | string | [number | null, number | null] | { not: number };
export type When = Record<string, ClauseValue>;

export interface SegmentRule {
  id: string;
  label?: string;
  prefix?: string | null;
  when: When;
  hccs?: boolean;
  extra?: { coef: string; when: When }[];
  divisors?: { coef: string; when: When }[];
}

export interface CellRule {
  template: string;
  age: string;
  bands: string[];
  when?: When;
  expand?: Record<string, Record<string, When>>;
}

export interface RulesFile {
  model: ModelId;
  name: string;
  source: string;
  hccPrefix: string;
  segments: SegmentRule[];
  cells: CellRule[];
  groups: Record<string, number[]>;
  variables: Record<string, { when?: When; groups?: string[] }>;
  preHierarchy: { zero: number; unlessAny?: number[]; source?: string }[];
  edits: string;
}

export interface EditRule {
  codes: string[];
  when: When;
  action: "invalid" | "override";
  cc?: number;
  mce?: boolean;
  /** What the rule does, in words (generated from the condition, never from one code's label). */
  note?: string;
  /** Where the rule comes from (CMS macro and curation, or the project's addition). */
  source?: string;
}

export interface EditsFile {
  id: string;
  source: string;
  rules: EditRule[];
}

const RULE_FILES: Record<ModelId, string> = {
  V22: "v22.json",
  V24: "v24.json",
  V28: "v28.json",
  ESRD21: "esrd21.json",
  ESRD24: "esrd24.json",
  RX08: "rx08.json",
};

function readJson<T>(path: string): T {
  try {
    return JSON.parse(readDataText(path)) as T;
  } catch (e) {
    throw new DataError(`${path}: cannot read rules: ${(e as Error).message}`, { file: path }, e);
  }
}

export function readRules(dataDir: string, model: ModelId): RulesFile {
  return readJson<RulesFile>(join(dataDir, "rules", RULE_FILES[model]));
}

export function readEdits(dataDir: string, id: string): EditsFile {
  return readJson<EditsFile>(join(dataDir, "edits", `${id}.json`));
}
