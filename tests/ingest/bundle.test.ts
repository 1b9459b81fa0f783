// FHIR Bundles: streamed entry by entry (the path files over 32 MiB take), located by JSON pointer.
import { describe, expect, it } from "vitest";
import { readBundleFile } from "../../src/ingest/fhir-files.js";
import type { Claim, Rejection } from "../../src/ingest/types.js";
import { tempDir, writeFile } from "./helpers.js";

const eob = (id: string, extra: Record<string, unknown> = {}): Record<string, unknown> => ({
  resourceType: "ExplanationOfBenefit",
  id,
  patient: { reference: "Patient/P9" },
  billablePeriod: { start: "2025-04-01", end: "2025-04-02" },
  diagnosis: [
    { sequence: 1, diagnosisCodeableConcept: { coding: [{ system: "http://hl7.org/fhir/sid/icd-10-cm", code: "E11.22" }] } },
  ],
  ...extra,
});

describe("FHIR Bundle reader", () => {
  it("reads each entry's resource as a claim and rejects bad entries with their pointer", () => {
    const d = tempDir();
    const bundle = {
      resourceType: "Bundle",
      type: "searchset",
      entry: [
        { resource: eob("A") },
        { resource: { resourceType: "Patient", id: "x" } },
        { resource: eob("C", { item: [{ sequence: 1, servicedDate: "2025-02-30" }] }) },
      ],
    };
    const f = writeFile(d, "b.json", JSON.stringify(bundle));
    const claims: Claim[] = [];
    const rejected: Rejection[] = [];
    const st = readBundleFile(f, { claim: (c) => claims.push(c), reject: (r) => rejected.push(r) });
    expect(st.records).toBe(3);
    expect(claims.map((c) => [c.claimId, c.memberId, c.diagnoses[0]?.code])).toEqual([["A", "P9", "E1122"]]);
    expect(rejected.map((r) => [r.code, r.location.pointer])).toEqual([
      ["E_RESOURCE", "/entry/1/resource/resourceType"],
      ["E_DATE", "/entry/2/resource/item/0/servicedDate"],
    ]);
  });
  it("a Bundle that is not valid JSON fails the file", () => {
    const d = tempDir();
    const f = writeFile(d, "bad.json", '{"resourceType":"Bundle","entry":[{"resource":' + JSON.stringify(eob("A")) + "},{");
    expect(() => readBundleFile(f, { claim: () => undefined, reject: () => undefined })).toThrow(/ends early|not valid JSON/);
  });
});
