// FHIR R4 ExplanationOfBenefit (CARIN Blue Button / CMS BCDA, Blue Button 2.0) → Claim. Reads
// diagnoses (ICD-10-CM or ICD-10 codings, with sequence and type), items (HCPCS/CPT, dates,
// diagnosisSequence, revenue), the billable period, claim type, type of bill (supportingInfo
// "typeofbill", or Blue Button's clm_fac_type_cd + clm_srvc_clsfctn_type_cd + clm_freq_cd),
// the rendering provider (careTeam) and the billing provider. Field derivations and what is not
// read: docs/ingest.md#fhir. Locations are JSON pointers into the resource.
import type { Claim, ClaimDiagnosis, ClaimLine, ClaimKind, Rejection, RejectCode, SourceLocation } from "./types.js";
import { parseIsoDate } from "./dates.js";
import { normalizeDx } from "./x12-837.js";

const BB = "https://bluebutton.cms.gov/resources/variables/";
const DX_SYSTEMS = new Set(["http://hl7.org/fhir/sid/icd-10-cm", "http://hl7.org/fhir/sid/icd-10"]);
const PROC_SYSTEMS = new Set([
  "https://bluebutton.cms.gov/resources/codesystem/hcpcs",
  "http://www.ama-assn.org/go/cpt",
  "urn:oid:2.16.840.1.113883.6.285",
  "https://www.cms.gov/Medicare/Coding/HCPCSReleaseCodeSets",
]);
const CLAIM_TYPE_SYSTEMS = new Set(["http://terminology.hl7.org/CodeSystem/claim-type", "http://hl7.org/fhir/ex-claimtype"]);
const NPI = "http://hl7.org/fhir/sid/us-npi";

type Json = Record<string, unknown>;
const obj = (v: unknown): Json | null => (v !== null && typeof v === "object" && !Array.isArray(v) ? (v as Json) : null);
const arr = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);
/** A FHIR positiveInt: a whole number 1 … 2^31 − 1 (the staging columns are 32-bit). */
const isPositiveInt = (v: unknown): v is number => typeof v === "number" && Number.isInteger(v) && v >= 1 && v <= 0x7fffffff;
const str = (v: unknown): string | null => (typeof v === "string" && v.trim() !== "" ? v.trim() : null);

function codings(cc: unknown): Json[] {
  return arr(obj(cc)?.["coding"])
    .map(obj)
    .filter((c): c is Json => c !== null);
}
function codeIn(cc: unknown, systems: Set<string> | string): string | null {
  for (const c of codings(cc)) {
    const s = str(c["system"]);
    if (s && (typeof systems === "string" ? s === systems : systems.has(s))) {
      const code = str(c["code"]);
      if (code) return code;
    }
  }
  return null;
}
function extensionCode(holder: unknown, url: string): string | null {
  for (const e of arr(obj(holder)?.["extension"])) {
    const x = obj(e);
    if (x && x["url"] === url) return str(obj(x["valueCoding"])?.["code"]);
  }
  return null;
}

class EobError extends Error {
  constructor(
    readonly code: RejectCode,
    message: string,
    readonly pointer: string,
  ) {
    super(message);
  }
}

function readDate(v: unknown, pointer: string): number | null {
  if (v === undefined || v === null) return null;
  const d = typeof v === "string" ? parseIsoDate(v) : null;
  if (d === null) throw new EobError("E_DATE", `${pointer}: not a valid FHIR date`, pointer);
  return d;
}

function npiOf(ref: unknown): string | null {
  const r = obj(ref);
  if (!r) return null;
  for (const id of Array.isArray(r["identifier"]) ? r["identifier"] : [r["identifier"]]) {
    const i = obj(id);
    if (i && (i["system"] === NPI || i["system"] === undefined || i["system"] === null)) {
      const v = str(i["value"]);
      if (v) return v;
    }
  }
  return null;
}

/** One resource → a Claim, or a Rejection with a JSON pointer (relative to `base`, e.g. "/entry/3/resource"). */
export function readEob(resource: unknown, location: SourceLocation, base = ""): Claim | Rejection {
  const r = obj(resource);
  const claimId = str(r?.["id"]);
  const memberId = str(obj(r?.["patient"])?.["reference"])?.split("/").pop() ?? null;
  try {
    if (!r) throw new EobError("E_RESOURCE", "not a JSON object", "");
    if (r["resourceType"] !== "ExplanationOfBenefit")
      throw new EobError(
        "E_RESOURCE",
        `resourceType '${typeof r["resourceType"] === "string" ? r["resourceType"].slice(0, 40) : "?"}' is not ExplanationOfBenefit`,
        "/resourceType",
      );
    if (!claimId) throw new EobError("E_RESOURCE", "id is missing", "/id");
    if (!memberId) throw new EobError("E_RESOURCE", "patient.reference is missing", "/patient/reference");
    return buildClaim(r, claimId, memberId, location);
  } catch (e) {
    if (!(e instanceof EobError)) throw e;
    return {
      code: e.code,
      message: e.message,
      location: { ...location, pointer: base + e.pointer },
      format: "fhir-eob",
      claimId,
      memberId,
      transaction: null,
    };
  }
}

function buildClaim(r: Json, claimId: string, memberId: string, location: SourceLocation): Claim {
  const type = r["type"];
  const claimType = codeIn(type, CLAIM_TYPE_SYSTEMS);
  const nch = codeIn(type, `${BB}nch_clm_type_cd`);
  // type of bill: C4BB supportingInfo "typeofbill", else Blue Button's facility type + classification
  let billType: string | null = null;
  let frequency = extensionCode(r, `${BB}clm_freq_cd`);
  for (const [i, s] of arr(r["supportingInfo"]).entries()) {
    if (codeIn(obj(s)?.["category"], "http://hl7.org/fhir/us/carin-bb/CodeSystem/C4BBSupportingInfoType") === "typeofbill") {
      const t = codings(obj(s)?.["code"])[0]?.["code"];
      const tob = typeof t === "string" ? t.replace(/^0/, "") : "";
      if (!/^\d{2}[0-9A-Z]$/.test(tob))
        throw new EobError("E_RESOURCE", "supportingInfo typeofbill code is not a type of bill", `/supportingInfo/${i}/code`);
      billType = tob;
      frequency ??= tob.charAt(2);
    }
  }
  if (!billType) {
    const fac = extensionCode(r["facility"], `${BB}clm_fac_type_cd`);
    const cls = extensionCode(type, `${BB}clm_srvc_clsfctn_type_cd`) ?? codeIn(type, `${BB}clm_srvc_clsfctn_type_cd`);
    if (fac && cls) billType = `${fac}${cls}${frequency ?? "1"}`;
  }
  const status = str(r["status"]);
  if (status === "cancelled" || status === "entered-in-error") frequency = "8";
  const kind: ClaimKind = billType
    ? "institutional"
    : claimType === "pharmacy" || nch === "PDE"
      ? "pharmacy"
      : claimType === "institutional"
        ? "institutional"
        : "professional";

  const diagnoses: ClaimDiagnosis[] = [];
  for (const [i, d] of arr(r["diagnosis"]).entries()) {
    const dx = obj(d);
    const raw = codeIn(dx?.["diagnosisCodeableConcept"], DX_SYSTEMS);
    if (!raw) continue;
    const seq = dx?.["sequence"];
    if (!isPositiveInt(seq))
      throw new EobError(
        "E_RESOURCE",
        "diagnosis.sequence is not a positive integer (FHIR positiveInt)",
        `/diagnosis/${i}/sequence`,
      );
    const q = codings(arr(dx?.["type"])[0])[0]?.["code"];
    diagnoses.push({ raw, code: normalizeDx(raw), position: seq, qualifier: typeof q === "string" ? q : "" });
  }

  const careTeam = arr(r["careTeam"]).map(obj);
  const roleOf = (m: Json | null): string | null => codings(m?.["role"])[0]?.["code"] as string | null;
  const rendering =
    careTeam.find((m) => ["rendering", "performing"].includes(roleOf(m) ?? "")) ??
    careTeam.find((m) => roleOf(m) === "primary") ??
    null;
  const renderingNpi = npiOf(rendering?.["provider"]);
  let billingNpi: string | null = null;
  for (const c of arr(r["contained"])) billingNpi ??= npiOf(c);
  billingNpi ??= npiOf(r["provider"]);

  const lines: ClaimLine[] = [];
  for (const [i, it] of arr(r["item"]).entries()) {
    const item = obj(it);
    if (!item) continue;
    const p = `/item/${i}`;
    const svc = item["productOrService"] ?? item["service"];
    const period = obj(item["servicedPeriod"]);
    const on = readDate(item["servicedDate"], `${p}/servicedDate`);
    const from = period ? readDate(period["start"], `${p}/servicedPeriod/start`) : on;
    const to = period ? (readDate(period["end"], `${p}/servicedPeriod/end`) ?? from) : on;
    const seq = item["sequence"];
    if (typeof seq === "number" && !isPositiveInt(seq))
      throw new EobError("E_RESOURCE", "item.sequence is not a positive integer (FHIR positiveInt)", `${p}/sequence`);
    lines.push({
      number: typeof seq === "number" ? seq : i + 1,
      procedure: codeIn(svc, PROC_SYSTEMS)?.toUpperCase() ?? null,
      revenueCode: (codings(item["revenue"])[0]?.["code"] as string | null) ?? null,
      pointers: arr(item["diagnosisSequence"]).filter((n): n is number => typeof n === "number"),
      from: from ?? to,
      to: to ?? from,
      renderingNpi: null,
    });
  }
  const bp = obj(r["billablePeriod"]);
  let from = bp ? readDate(bp["start"], `/billablePeriod/start`) : null;
  let to = bp ? readDate(bp["end"], `/billablePeriod/end`) : null;
  from ??= to;
  to ??= from;
  if (from === null) {
    for (const l of lines) {
      if (l.from !== null && (from === null || l.from < from)) from = l.from;
      if (l.to !== null && (to === null || l.to > to)) to = l.to;
    }
  }
  if (from === null || to === null)
    throw new EobError("E_DATE", "no date of service (billablePeriod or item servicedPeriod/servicedDate)", "/billablePeriod");
  return {
    format: "fhir-eob",
    kind,
    claimId,
    originalRef: null,
    frequency: frequency ?? "1",
    memberId,
    billType,
    placeOfService: null,
    from,
    to,
    billingNpi,
    renderingNpi,
    diagnoses,
    lines,
    transaction: null,
    location,
  };
}
