// `hcc explain`: spot-check one member, step by step, from the kernel's detail mode.
import type { Command } from "commander";
import { loadEngine } from "../load.js";
import { engineOptions, type EngineFlags } from "./options.js";
import type { MemberInput } from "../engine/member.js";
import type { Explanation } from "../engine/explain.js";
import { UsageError } from "../errors.js";
import type { ExplainedGaps } from "../engine/engine.js";
import { parseGapList, type GapValue } from "../engine/gaps.js";

interface ExplainFlags extends EngineFlags {
  age?: string;
  dob?: string;
  sex?: string;
  orec?: string;
  crec?: string;
  dual?: string;
  medicaid?: boolean;
  lti?: boolean;
  newEnrollee?: boolean;
  snp?: boolean;
  lowIncome?: boolean;
  pace?: boolean;
  esrd?: string;
  graftMonths?: string;
  rxPlan?: string;
  json?: boolean;
  gaps?: string;
  values?: boolean;
}

export function memberFromFlags(dx: string[], o: ExplainFlags): MemberInput {
  if (o.age === undefined && o.dob === undefined) throw new UsageError("explain needs --age or --dob");
  if (o.sex === undefined) throw new UsageError("explain needs --sex M|F");
  return {
    member_id: "explain",
    ...(o.age !== undefined ? { age: o.age } : { birth_date: o.dob ?? null }),
    sex: o.sex,
    orec: o.orec ?? null,
    crec: o.crec ?? null,
    dual_elgbl_cd: o.dual ?? null,
    ...(o.medicaid ? { medicaid: true } : {}),
    lti: o.lti ?? false,
    new_enrollee: o.newEnrollee ?? false,
    snp: o.snp ?? false,
    low_income: o.lowIncome ?? false,
    pace: o.pace ?? false,
    esrd_status: o.esrd ?? "none",
    graft_months: o.graftMonths ?? null,
    rx_plan: o.rxPlan ?? null,
    diagnosis_codes: dx,
  };
}

const fmt = (x: number | null | undefined): string => (x === null || x === undefined ? "—" : Number(x.toFixed(6)).toString());

function table(rows: string[][]): string {
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? "").length))) ?? [];
  return rows
    .map(
      (r) =>
        "  " +
        r
          .map((c, i) => c.padEnd(widths[i] ?? 0))
          .join("  ")
          .trimEnd(),
    )
    .join("\n");
}

export function renderExplanation(e: Explanation): string {
  const out: string[] = [];
  const r = e.record;
  out.push(`Payment year ${e.paymentYear}; age ${e.age >= 0 ? e.age : "?"} as of Feb 1`);
  if (r.error) out.push(`ERROR: ${r.error}`);
  if (e.dx.length > 0) {
    out.push("", "Diagnoses:");
    const rows = [["dx", "normalized", "result", "edits"]];
    for (const d of e.dx) {
      const res =
        d.status === "malformed"
          ? "malformed (not counted)"
          : d.ccs.length === 0
            ? d.status === "unmapped"
              ? "no CC in any model"
              : d.edits.length > 0
                ? "invalidated by edit"
                : "no CC in the scored models"
            : d.ccs.map((c) => `${c.model}:${c.cc}${c.via === "edit" ? "*" : ""}`).join(" ");
      rows.push([d.code, d.normalized ?? "", res, d.edits.map((x) => `${x.model} ${x.code} ${x.rule}`).join("; ")]);
    }
    out.push(table(rows), "  (* = assigned by an edit)");
    const sources = [...new Set(e.dx.flatMap((d) => d.edits.map((x) => `${x.model}: ${x.source}`)))];
    if (sources.length > 0) out.push(`  edit sources (docs/data-sources.md#edits): ${sources.join("; ")}`);
  }
  for (const m of e.models) {
    out.push("", `${m.model}: segment ${m.segment ?? "none"}${m.segmentLabel ? ` (${m.segmentLabel})` : ""}`);
    if (m.zeroedBeforeHierarchy.length > 0) out.push(`  zeroed before hierarchy: ${m.zeroedBeforeHierarchy.join(", ")}`);
    for (const d of m.dropped) out.push(`  ${d.hcc} dropped by hierarchy (parent ${d.by})`);
    out.push(`  HCCs kept: ${m.hccs.length > 0 ? m.hccs.join(", ") : "none"}`);
    if (m.factors.length > 0) {
      const rows = [["factor", "coefficient", "label"]];
      for (const f of m.factors)
        rows.push([f.kind === "divisor" ? `÷ ${f.factor}` : f.factor, fmt(f.coefficient), f.label ?? ""]);
      out.push(table(rows));
    }
    out.push(`  raw score ${fmt(m.rawScore)}   normalized ${fmt(m.normalizedScore)}`);
  }
  out.push("");
  for (const p of e.population) out.push(`Part ${p.part} population: ${p.name} — ${p.source}`);
  out.push(
    `risk score (normalized, blended) ${fmt(r.risk_score)}   payment score (after MA coding adjustment) ${fmt(r.payment_score)}` +
      (r.rx_risk_score !== null ? `   Part D risk score ${fmt(r.rx_risk_score)}` : ""),
  );
  const flags = ["orec_default", "dual_default"].filter((f) => r[f] === true);
  if (flags.length > 0) out.push(`defaulted inputs: ${flags.join(", ")}`);
  return out.join("\n");
}

const signed = (x: number | null): string => (x === null ? "—" : `${x > 0 ? "+" : ""}${fmt(x)}`);

function changes(v: GapValue): string {
  const parts = [
    v.hccs_displaced.length > 0 ? `displaces ${v.hccs_displaced.join(", ")}` : "",
    v.hccs_restored.length > 0 ? `restores ${v.hccs_restored.join(", ")}` : "",
    v.terms_on.length > 0 ? `turns on ${v.terms_on.join(", ")}` : "",
    v.terms_off.length > 0 ? `turns off ${v.terms_off.join(", ")}` : "",
  ].filter((x) => x !== "");
  return parts.join("; ");
}

/** The gap-value part of `hcc explain` (docs/gap-values.md). */
export function renderGapValues(g: ExplainedGaps): string {
  const out: string[] = [];
  if (g.kept_hcc_values.length > 0) {
    out.push("", "Value of each kept HCC (the change if it were not recaptured):");
    const rows = [["model", "HCC", "Δ raw", "Δ normalized", "Δ risk", "Δ payment", "also"]];
    for (const v of g.kept_hcc_values) {
      rows.push([
        v.model,
        v.hcc ?? "",
        signed(v.delta_raw_score),
        signed(v.delta_normalized_score),
        signed(v.delta_risk_score),
        signed(v.delta_payment_score),
        changes(v),
      ]);
    }
    out.push(table(rows));
  }
  if (g.gaps.length > 0) {
    out.push("", "Gaps (each added alone):");
    const rows = [["gap", "model", "status", "Δ raw", "Δ normalized", "Δ risk", "Δ payment", "also"]];
    for (const e of g.gaps) {
      for (const v of e.models) {
        rows.push([
          e.gap,
          v.model,
          v.status,
          signed(v.delta_raw_score),
          signed(v.delta_normalized_score),
          signed(v.delta_risk_score),
          signed(v.delta_payment_score),
          changes(v),
        ]);
      }
      if (e.models.length > 1) {
        rows.push([e.gap, "blend", "", "", "", signed(e.blend.delta_risk_score), signed(e.blend.delta_payment_score), ""]);
      }
    }
    out.push(table(rows));
    if (g.together) {
      out.push(
        `  all gaps together: Δ risk ${signed(g.together.delta_risk_score)}   Δ payment ${signed(g.together.delta_payment_score)}` +
          " (not the sum of the singles: hierarchies, interactions, counts and rounding)",
      );
    }
  }
  return out.join("\n");
}

export function registerExplain(program: Command): void {
  program
    .command("explain")
    .description("explain one member's score step by step (spot check)")
    .argument("[dx...]", "ICD-10 diagnosis codes (dotted or not)")
    .option("--year <year>", "payment year", "2026")
    .option("--models <list>", "comma list of models to score (default: what the payment year uses for this member)")
    .option("--age <n>", "age in years on Feb 1 of the payment year")
    .option("--dob <YYYY-MM-DD>", "date of birth (age computed as of Feb 1 of the payment year)")
    .option("--sex <M|F|1|2>", "sex")
    .option("--orec <0-3>", "original reason for entitlement")
    .option("--crec <0-3>", "current reason for entitlement")
    .option("--dual <code>", "dual eligibility code (00–10)")
    .option("--medicaid", "Medicaid in the payment year (else derived from the dual code)")
    .option("--lti", "long-term institutional")
    .option("--new-enrollee", "new enrollee")
    .option("--snp", "chronic-condition SNP enrollee")
    .option("--low-income", "Part D low-income subsidy")
    .option("--pace", "PACE enrollee")
    .option("--esrd <status>", "dialysis | transplant | graft")
    .option("--graft-months <n>", "months since kidney transplant")
    .option("--rx-plan <plan>", "mapd | pdp")
    .option("--no-mce-edits", "turn off MCE plausibility edits")
    .option("--rounding <policy>", "round3 | none", "round3")
    .option("--coefficients <set>", "alternative coefficient set (proposed-2027)")
    .option("--json", "machine-readable output")
    .option("--gaps <list>", "value these open gaps, e.g. HCC17,HCC85 or V28:HCC17 (docs/gap-values.md)")
    .option("--no-values", "leave out the value of each kept HCC")
    .action((dx: string[], o: ExplainFlags) => {
      const engine = loadEngine(engineOptions(o));
      const member = memberFromFlags(dx, o);
      const e = engine.explain(member);
      // a gap named without a model: the models that score this member (those with a segment)
      const mine = engine.scoredModels.filter((m) => e.record[`${engine.meta.models[m]!.id.toLowerCase()}_segment`] != null);
      const named = o.gaps !== undefined ? parseGapList(o.gaps, engine.meta, mine) : [];
      const g = o.values === false && named.length === 0 ? null : engine.explainGaps(member, named);
      if (g && o.values === false) g.kept_hcc_values = [];
      if (o.json) {
        process.stdout.write(JSON.stringify(g ? { ...e, gap_values: g } : e, null, 2) + "\n");
      } else {
        process.stdout.write(renderExplanation(e) + (g ? renderGapValues(g) : "") + "\n");
      }
    });
}
