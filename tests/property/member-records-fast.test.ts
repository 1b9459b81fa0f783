// The worker's byte-level reading of member-record lines (src/io/record-bytes.ts) against the
// reference path (JSON.parse / the CSV split, checkRecord, membersToBatch, as the main thread reads
// a file): seeded random lines — plain ones and every kind the fast path hands back (escapes,
// non-ASCII, fractions and exponents, -0, leading zeros, unknown and repeated keys, wrong types,
// blank lines, bad JSON, empty ids) — must give the same member batch, or the same error.
import { mulberry32 as rng } from "../differential/generate-members.js";
import { afterAll, describe, expect, it } from "vitest";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { RecordBatch, Vector } from "apache-arrow";
import { readMemberRecords, splitRanges, type MemberFormat } from "../../src/io/member-records.js";
import { parseRange } from "../../src/io/member-ranges.js";
import { membersToBatch, type MemberInput } from "../../src/engine/member.js";

const dir = mkdtempSync(join(tmpdir(), "hcc-fast-records-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const FIELDS = ["birth_date", "age", "sex", "orec", "crec", "dual_elgbl_cd", "medicaid", "lti", "new_enrollee", "snp"];
const FIELDS2 = ["low_income", "pace", "esrd_status", "graft_months", "rx_plan"];

function jsonValue(r: () => number): string {
  const pick = <T>(xs: T[]): T => xs[Math.floor(r() * xs.length)]!;
  return pick([
    () => JSON.stringify(pick(["F", "M", "1", "2", "0", "00", "02", "1950-02-03", "", " ", "x y", "70"])),
    () => pick(["true", "false", "null"]),
    () => pick(["0", "7", "70", "-3", "123456789012345", "1234567890123456", "-0", "01", "1.5", "1e2", "7.0", "-", "+1"]),
    () => pick(['"a\\"b"', '"\\u0041"', '"é"', '"tab\\tx"', '"\u00e9t\u00e9"']),
    () => pick(["[]", '["a"]', "{}", '{"a":1}', "tru", "nul", '"unterminated']),
  ])();
}

function codesValue(r: () => number): string {
  const pick = <T>(xs: T[]): T => xs[Math.floor(r() * xs.length)]!;
  if (r() < 0.15) return pick(["null", '"E119"', "[]", "5", "{}", "[1]", '["E11.9",]', "[null]"]);
  const n = Math.floor(r() * 5);
  const items = Array.from({ length: n }, () =>
    pick(['"E119"', '"I10"', '" N186 "', '""', "null", '"E11.9"', '"\\u0045119"', '"É"', "null"]),
  );
  return `[${items.join(pick([",", ", ", " ,"]))}]`;
}

function jsonLine(r: () => number, k: number): string {
  const pick = <T>(xs: T[]): T => xs[Math.floor(r() * xs.length)]!;
  const parts: string[] = [];
  if (r() < 0.95) {
    const id = pick([`"M${k}"`, `"M${k}"`, `"M${k}"`, `${k + 1}`, '""', '"  "', "null", "true", `"M\\u00e9${k}"`, `"Mé${k}"`]);
    parts.push(`"member_id":${id}`);
  }
  for (const f of [...FIELDS, ...FIELDS2]) if (r() < 0.5) parts.push(`"${f}":${jsonValue(r)}`);
  if (r() < 0.8) parts.push(`"diagnosis_codes":${codesValue(r)}`);
  if (r() < 0.05) parts.push(`"extra":${pick(["1", '"x"', "null", "[1]", "{}"])}`);
  if (r() < 0.05 && parts.length > 0) parts.push(parts[0]!); // a repeated key
  // half the lines keep the keys in one order, as files do (the reader matches the key that came
  // next on the previous line first), half shuffle them
  if (r() < 0.5)
    for (let i = parts.length - 1; i > 0; i--) {
      const j = Math.floor(r() * (i + 1));
      [parts[i], parts[j]] = [parts[j]!, parts[i]!];
    }
  const sp = pick(["", "", " ", "\t"]);
  const body = `{${sp}${parts.join(`${sp},${sp}`)}${sp}}`;
  return pick([body, body, body, body, `  ${body} `, "", "   ", "{", "[]", '"x"', `${body}x`, `\ufeff${body}`]);
}

function csvLine(r: () => number, k: number, width: number): string {
  const pick = <T>(xs: T[]): T => xs[Math.floor(r() * xs.length)]!;
  const cells = Array.from({ length: width }, (_, c) => {
    if (c === 0) return pick([`M${k}`, `M${k}`, "", " ", `Mé${k}`, ` M${k} `]);
    if (c === width - 1) return pick(["", "E119", "E119;I10", " E119 ; ;I10;", ";;", "É;E119", "\tE119"]);
    return pick(["", "F", "M", "1", "00", "true", "70", "1950-02-03", " x ", "é"]);
  });
  if (r() < 0.04) cells.push("extra"); // a ragged row
  if (r() < 0.04) cells.pop();
  return r() < 0.03 ? "" : cells.join(",");
}

interface Outcome {
  rows?: unknown[];
  error?: string;
}

function rowsOf(batch: RecordBatch): unknown[] {
  const cols = batch.schema.fields.map((f, i) => [f.name, batch.getChildAt(i) as Vector] as const);
  return Array.from({ length: batch.numRows }, (_, i) =>
    Object.fromEntries(
      cols.map(([name, v]) => {
        const x = v.get(i) as unknown;
        return [name, x && typeof x === "object" ? Array.from(x as Iterable<unknown>) : x];
      }),
    ),
  );
}

/** The worker's way: the whole file as ranges, each parsed by parseRange. */
function fast(p: string, format: MemberFormat): Outcome {
  try {
    const ranges = splitRanges(p, format, 256);
    if (!ranges) throw new Error("no ranges");
    const rows: unknown[] = [];
    let nullCodes = 0;
    for (const range of ranges) {
      const parsed = parseRange(range);
      rows.push(...rowsOf(parsed.batch));
      nullCodes += parsed.nullCodes;
      expect(parsed.ids.offsets.length).toBe(parsed.batch.numRows + 1);
      expect(parsed.lines.length).toBe(parsed.batch.numRows);
    }
    return { rows: [...rows, { nullCodes }] };
  } catch (e) {
    return { error: (e as Error).message };
  }
}

/** The reference: the main thread's record reader, then membersToBatch. */
async function reference(p: string, format: MemberFormat): Promise<Outcome> {
  try {
    const members: MemberInput[] = [];
    for await (const [m] of readMemberRecords(p, format)) members.push(m);
    const { batch, nullCodes } = membersToBatch(members);
    return { rows: [...rowsOf(batch), { nullCodes }] };
  } catch (e) {
    return { error: (e as Error).message };
  }
}

describe("byte-level member-record lines = JSON.parse / CSV split + checkRecord", () => {
  it("NDJSON: 1,500 random files of 1–4 lines give the same batch or the same error", async () => {
    const r = rng(20261205);
    let plainFiles = 0;
    for (let t = 0; t < 1500; t++) {
      const lines = Array.from({ length: 1 + Math.floor(r() * 4) }, (_, k) => jsonLine(r, t * 10 + k));
      const p = join(dir, `f${t}.ndjson`);
      writeFileSync(p, lines.join("\n") + (r() < 0.5 ? "\n" : ""));
      const want = await reference(p, "ndjson");
      if (want.rows) plainFiles++;
      expect(fast(p, "ndjson"), `${t}: ${lines.join(" | ")}`).toEqual(want);
    }
    expect(plainFiles).toBeGreaterThan(50); // the generator reaches the accepted path, not only errors
  });

  it("NDJSON: a key where the previous line had another key of the same length and first letter", async () => {
    // the reader tries the key that followed the previous key on the line before: "snp" where
    // "sex" came before, "crec" where "orec" did, must still be read as themselves
    const lines = [
      '{"member_id":"A1","sex":"F","orec":"0","diagnosis_codes":["E119"]}',
      '{"member_id":"A2","snp":"true","crec":"1","diagnosis_codes":["I10"]}',
      '{"member_id":"A3","sex":"M","orec":"1"}',
      '{"member_id":"A4","snp":"false","crec":"0","lti":"true"}',
    ];
    const p = join(dir, "same-length-keys.ndjson");
    writeFileSync(p, lines.join("\n") + "\n");
    const want = await reference(p, "ndjson");
    expect(want.rows).toHaveLength(5);
    expect(fast(p, "ndjson")).toEqual(want);
    // and a key that starts with the expected one is not that key
    const q = join(dir, "prefix-key.ndjson");
    writeFileSync(q, '{"member_id":"B1","sex":"F"}\n{"member_id":"B2","sexy":"F"}\n');
    const wantQ = await reference(q, "ndjson");
    expect(fast(q, "ndjson")).toEqual(wantQ);
  });

  it("CSV: a range of short lines, several times the rows its builder was sized for", async () => {
    // the builder is sized from the range's bytes (1 row per 128); short lines make it grow more
    // than once, and each growth must keep room for every row's validity bit
    const lines = Array.from({ length: 3000 }, (_, i) => `M${i},F,1950-01-01,${i === 0 ? "" : "02"},E119`);
    const p = join(dir, "short-lines.csv");
    writeFileSync(p, ["member_id,sex,birth_date,dual_elgbl_cd,diagnosis_codes", ...lines].join("\n") + "\n");
    const want = await reference(p, "csv");
    expect(want.rows).toHaveLength(3001);
    const ranges = splitRanges(p, "csv", 1 << 30);
    expect(ranges).toHaveLength(1);
    expect({ rows: [...rowsOf(parseRange(ranges![0]!).batch), { nullCodes: 0 }] }).toEqual(want);
  });

  it("CSV (quote-free): 1,000 random files give the same batch or the same error", async () => {
    const r = rng(77);
    const header = ["member_id", "sex", "birth_date", "orec", "dual_elgbl_cd", "lti", "unknown_col", "diagnosis_codes"];
    let plainFiles = 0;
    for (let t = 0; t < 1000; t++) {
      const lines = Array.from({ length: 1 + Math.floor(r() * 4) }, (_, k) => csvLine(r, t * 10 + k, header.length));
      const p = join(dir, `f${t}.csv`);
      const eol = r() < 0.5 ? "\n" : "\r\n"; // one line ending per file (csv-parse judges mixed ones its own way)
      writeFileSync(p, [header.join(","), ...lines].join(eol) + eol);
      const want = await reference(p, "csv");
      const got = fast(p, "csv");
      if (want.rows) {
        plainFiles++;
        expect(got, `${t}: ${lines.join(" | ")}`).toEqual(want);
      } else {
        // csv-parse reads ahead, so with two bad rows the streaming reader may name the later one
        // first; the file fails either way, with a line and a reason
        expect(got.error, `${t}: ${lines.join(" | ")}`).toMatch(/f\d+\.csv: line \d+: /);
      }
    }
    expect(plainFiles).toBeGreaterThan(50);
  });
});
