// Reading data/: the curated-CSV reader, the manifest drift check and the payment-year loader,
// including how each reports a damaged or incomplete data folder (file named, stable error).
import { cpSync, mkdtempSync, readFileSync, rmSync, unlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { parseCsv, splitRows } from "../../src/data/csv.js";
import { availableYears, loadPaymentYear } from "../../src/data/load.js";
import { checkManifest, readManifest, sha256 } from "../../src/data/manifest.js";
import { readEdits, readRules } from "../../src/data/rules.js";
import { DataError, UsageError } from "../../src/errors.js";

const dataDir = fileURLToPath(new URL("../../data", import.meta.url));
const copies: string[] = [];
afterAll(() => {
  for (const d of copies) rmSync(d, { recursive: true, force: true });
});
function copyOfData(): string {
  const dir = mkdtempSync(join(tmpdir(), "hcc-data-unit-"));
  copies.push(dir);
  cpSync(dataDir, dir, { recursive: true });
  return dir;
}
function thrown(f: () => unknown): unknown {
  try {
    f();
  } catch (e) {
    return e;
  }
  throw new Error("expected an error");
}

describe("parseCsv", () => {
  it("reads quoted fields with commas, doubled quotes and line breaks; CRLF and LF; skips blank lines", () => {
    const text = 'code,label\r\nE119,"Diabetes, type 2"\r\n\r\nX1,"say ""hi"""\nX2,"two\nlines"\n';
    expect(parseCsv(text, "t.csv")).toEqual([
      { code: "E119", label: "Diabetes, type 2" },
      { code: "X1", label: 'say "hi"' },
      { code: "X2", label: "two\nlines" },
    ]);
  });

  it("keeps empty fields and a last row without a newline", () => {
    expect(parseCsv("a,b,c\n1,,3\n,,\n4,5,6", "t.csv")).toEqual([
      { a: "1", b: "", c: "3" },
      { a: "", b: "", c: "" },
      { a: "4", b: "5", c: "6" },
    ]);
  });

  it("a quote inside an unquoted field is data", () => {
    expect(splitRows('a,b"c\n', "t.csv")).toEqual([["a", 'b"c']]);
  });

  it("names the file and row when a row has the wrong number of fields", () => {
    const e = thrown(() => parseCsv("a,b\n1,2\n3\n", "ref/x.csv"));
    expect(e).toBeInstanceOf(DataError);
    expect((e as DataError).message).toBe("ref/x.csv: row 3 has 1 fields, header has 2");
    expect((e as DataError).exitCode).toBe(65);
  });

  it("names the line where an unterminated quoted field starts to run away", () => {
    expect(() => parseCsv('a,b\n1,"open\nstill open\n', "x.csv")).toThrow("x.csv: line 4: unterminated quoted field");
  });

  it("refuses an empty file", () => {
    expect(() => parseCsv("", "empty.csv")).toThrow("empty.csv: empty file");
  });
});

describe("the manifest drift check", () => {
  it("passes on the shipped data/ and names a missing and a modified table", () => {
    expect(checkManifest(dataDir)).toEqual([]);
    const dir = copyOfData();
    unlinkSync(join(dir, "py2026", "V28", "labels.tsv"));
    writeFileSync(join(dir, "py2026", "V28", "crosswalk.tsv"), "code\tcc\nE119\t38\n");
    const expected = readManifest(dir).files.find((f) => f.path === "py2026/V28/crosswalk.tsv")?.sha256 ?? "";
    const actual = sha256("code\tcc\nE119\t38\n");
    expect(checkManifest(dir)).toEqual([
      `py2026/V28/crosswalk.tsv: sha256 ${actual.slice(0, 12)}… differs from the manifest's ${expected.slice(0, 12)}…`,
      "py2026/V28/labels.tsv: missing",
    ]);
  });

  it("a folder without MANIFEST.json is a data error telling how to create it", () => {
    const dir = mkdtempSync(join(tmpdir(), "hcc-empty-data-"));
    copies.push(dir);
    const e = thrown(() => readManifest(dir));
    expect(e).toBeInstanceOf(DataError);
    expect((e as Error).message).toBe(`${join(dir, "MANIFEST.json")}: not found; run 'hcc data import <dir>'`);
  });
});

describe("loadPaymentYear", () => {
  it("lists the payment years data/ has", () => {
    expect(availableYears(dataDir)).toEqual([2024, 2025, 2026, 2027]);
  });

  it("loads a year's models with their tables, flags and the data version", () => {
    const t = loadPaymentYear(2026, { dataDir });
    expect(t.paymentYear).toBe(2026);
    expect(t.asOf).toBe("2026-02-01");
    expect(t.coefficientSet).toBe("final");
    expect(t.models.map((m) => m.id)).toEqual(["V22", "V24", "V28", "ESRD21", "ESRD24", "RX08"]);
    expect(t.models.find((m) => m.id === "V24")?.whatIfOnly).toBe(true);
    expect(t.models.find((m) => m.id === "V28")?.whatIfOnly).toBeUndefined();
    expect(t.dataVersion).toBe(sha256(readFileSync(join(dataDir, "MANIFEST.json"))).slice(0, 16));
    const v28 = t.models.find((m) => m.id === "V28");
    expect(v28?.crosswalk.length).toBe(
      readFileSync(join(dataDir, "py2026", "V28", "crosswalk.tsv"), "utf8")
        .trim()
        .split("\n").length - 1,
    );
    expect(v28?.hierarchy.find(([p]) => p === 17)?.[1]).toEqual([18, 19, 20, 21, 22, 23]);
    expect(v28?.labels.get(1)).toBe("HIV/AIDS");
  });

  it("uses another V28 coefficient set when asked, leaving the other models' final coefficients", () => {
    const final = loadPaymentYear(2027, { dataDir });
    const proposed = loadPaymentYear(2027, { dataDir, coefficientSet: "proposed-2027" });
    expect(proposed.coefficientSet).toBe("proposed-2027");
    const coef = (t: typeof final, id: string, seg: string, v: string) =>
      t.models.find((m) => m.id === id)?.coefficients.find(([s, name]) => s === seg && name === v)?.[2];
    expect(coef(final, "V28", "CFA", "D10P")).toBe(0.746);
    expect(coef(proposed, "V28", "CFA", "D10P")).toBe(0.751);
    expect(proposed.models.find((m) => m.id === "V24")?.coefficients).toEqual(
      final.models.find((m) => m.id === "V24")?.coefficients,
    );
  });

  it("refuses a year, a coefficient set or a model set it cannot load, as usage errors", () => {
    const year = thrown(() => loadPaymentYear(2031, { dataDir }));
    expect(year).toBeInstanceOf(UsageError);
    expect((year as Error).message).toBe("payment year 2031 is not available (have 2024, 2025, 2026, 2027)");
    expect(() => loadPaymentYear(2026, { dataDir, coefficientSet: "proposed-2027" })).toThrow(
      "coefficient set 'proposed-2027' is not available for V28 in PY2026",
    );
    const dir = copyOfData();
    const params = JSON.parse(readFileSync(join(dir, "parameters.json"), "utf8")) as {
      years: Record<string, { models: Record<string, unknown> }>;
    };
    const y = params.years["2026"];
    if (y) y.models = { RX08: {} };
    writeFileSync(join(dir, "parameters.json"), JSON.stringify(params));
    expect(() => loadPaymentYear(2026, { dataDir: dir, coefficientSet: "proposed-2027" })).toThrow(
      "coefficient set 'proposed-2027' needs V28",
    );
    expect(loadPaymentYear(2026, { dataDir: dir }).models.map((m) => m.id)).toEqual(["RX08"]);
  });

  it("a missing table or unreadable rules file is a data error naming the file", () => {
    const dir = copyOfData();
    unlinkSync(join(dir, "py2025", "V28", "hierarchy.tsv"));
    const e = thrown(() => loadPaymentYear(2025, { dataDir: dir }));
    expect(e).toBeInstanceOf(DataError);
    expect((e as Error).message).toBe(`${join(dir, "py2025", "V28", "hierarchy.tsv")}: not found; run 'hcc data import <dir>'`);

    writeFileSync(join(dir, "rules", "v22.json"), "{ not json");
    const r = thrown(() => readRules(dir, "V22"));
    expect(r).toBeInstanceOf(DataError);
    expect((r as Error).message).toMatch(new RegExp(`^${join(dir, "rules", "v22.json")}: cannot read rules: `));
    expect(() => readEdits(dir, "no-such-edits")).toThrow(/no-such-edits\.json: cannot read rules: ENOENT/);
  });
});
