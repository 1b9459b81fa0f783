// A large X12 file parsed in byte ranges that start at interchanges (run.ts planTasks,
// x12-segments.ts splitX12File) publishes what one thread reading it whole does: claim and
// transaction numbers, lines and segment numbers (shifted by the earlier ranges'), envelope
// rejections and warnings at the range boundaries, the file's hash. The worker path loads dist/.
import { describe, expect, it } from "vitest";
import { readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { writeX12Claims, writeX12Enrollment } from "../../src/ingest/generate.js";
import { X12SegmentReader, splitX12File } from "../../src/ingest/x12-segments.js";
import { PUBLISHED_TABLES, claimP, differences, hccCodes, ingest, query, tempDir, writeFile, x12P } from "./helpers.js";

/** Serial (one thread, whole file) and split ingests of `files`; the split one's progress lines. */
async function both(
  files: string[],
  d: string,
  workers = 3,
): Promise<{
  serialDb: string;
  splitDb: string;
  serial: Awaited<ReturnType<typeof ingest>>;
  split: Awaited<ReturnType<typeof ingest>>;
  progress: string[];
}> {
  const serialDb = join(d, "serial.duckdb");
  const splitDb = join(d, "split.duckdb");
  const serial = await ingest(files, serialDb, { workers: 1 });
  const progress: string[] = [];
  const split = await ingest(files, splitDb, { workers, splitBytes: 1, onProgress: (m) => progress.push(m) });
  return { serialDb, splitDb, serial, split, progress };
}

async function expectSame(r: Awaited<ReturnType<typeof both>>, tables = PUBLISHED_TABLES): Promise<void> {
  expect(r.split.counts).toEqual(r.serial.counts);
  expect(r.split.warnings).toBe(r.serial.warnings);
  const strip = (x: typeof r.serial): unknown[] => x.files.map((f) => ({ ...f, seconds: 0 }));
  expect(strip(r.split)).toEqual(strip(r.serial));
  for (const t of tables)
    expect({ table: t, differences: await differences(r.serialDb, r.splitDb, t) }).toEqual({ table: t, differences: 0 });
  // the warnings as the run recorded them: texts with their (shifted) line numbers, in file order
  const runs = async (db: string): Promise<unknown> =>
    (await query(db, "SELECT warnings FROM sgv_reporting.ingest_runs"))[0]?.["warnings"];
  expect(await runs(r.splitDb)).toEqual(await runs(r.serialDb));
}

describe("an X12 file split at its interchanges", () => {
  it("publishes what one thread reading it whole does: numbers, lines, envelope rejections, warnings", async () => {
    const d = tempDir();
    // interchanges that each leave their transaction (some), group (some) and interchange (all)
    // open: whichever ISA a range starts at, the range before it ends inside an interchange
    const open = Array.from({ length: 400 }, (_, i) =>
      x12P(
        [
          claimP(`OPEN${i}`, ["E1122", "I509"]),
          claimP(`SECOND${i}`, ["J449"], { freq: i % 7 === 3 ? "7" : "1", ref: `OPEN${i - 1}` }),
        ],
        {
          se: i % 3 !== 0,
          ge: i % 2 === 0,
          iea: false,
        },
      ),
    ).join("");
    const openFile = writeFile(d, "open.x12", open);
    // generated interchanges in every delimiter set (only those with the first ISA's are split
    // points), then in the first ISA's: ranges that hold interchanges of other delimiters
    const o = { seed: 3, year: 2025, members: 200, hccCodes: hccCodes() };
    const odd = join(d, "odd.x12");
    const plain = join(d, "plain.x12");
    writeX12Claims(odd, "837P", 150_000, { ...o, oddDelimiters: true });
    writeX12Claims(plain, "837I", 300_000, { ...o, seed: 4 });
    const mixed = writeFile(
      d,
      "mixed.x12",
      Buffer.concat([Buffer.from(x12P([claimP("FIRST", ["E119"])])), readFileSync(odd), readFileSync(plain)]),
    );
    // first in the input, so that its warnings are among the 100 the run keeps: interchanges
    // without IEA only at its end, in its last range (their line numbers are shifted ones)
    const late = writeFile(
      d,
      "late.x12",
      Array.from({ length: 300 }, (_, i) => x12P([claimP(`LATE${i}`, ["E1122"])], { iea: i < 240 })).join(""),
    );
    // 834 enrollment in three interchanges: its members' lines are shifted too
    const enr = [0, 1, 2].map((k) => {
      const f = join(d, `enr${k}.834`);
      writeX12Enrollment(f, { ...o, seed: 10 + k, members: 40 });
      return readFileSync(f);
    });
    const enrollment = writeFile(d, "enrollment.834", Buffer.concat(enr));
    const r = await both([late, openFile, mixed, enrollment], d);
    const enrRanges = splitX12File(enrollment, statSync(enrollment).size, 3).length;
    expect(enrRanges).toBeGreaterThanOrEqual(2);
    expect(r.progress.filter((m) => / bytes \d+-\d+: /.test(m)).length).toBe(9 + enrRanges);
    expect(r.serial.counts.participants).toBeGreaterThan(0);
    const [w] = await query(r.splitDb, "SELECT warnings FROM sgv_reporting.ingest_runs");
    expect(String(w!["warnings"])).toMatch(/late\.x12: line (\d{4,}) \(ISA\): ISA has no IEA before the next ISA/);
    await expectSame(r);
    expect(r.serial.counts.byReason["rejected:E_ENVELOPE"]).toBeGreaterThan(0);
    expect(r.serial.counts.byReason["filtered:replaced"]).toBeGreaterThan(0);
    expect(r.serial.warnings).toBeGreaterThanOrEqual(400);
    // line numbers and segment numbers count from the top of the file in every range
    const [last] = await query(
      r.splitDb,
      `SELECT max(source_line) AS line, max(segment_index) AS seg FROM sgv_reporting.claims_ingest_outcomes WHERE source_file LIKE '%mixed.x12'`,
    );
    let clm = "";
    new X12SegmentReader(mixed).forEach((s) => {
      if (s.tag === "CLM") clm = `${s.line}/${s.index}`;
    });
    expect(`${String(last!["line"])}/${String(last!["seg"])}`).toBe(clm);
    expect(Number(last!["line"])).toBeGreaterThan(1000);
  });

  it("reads the file whole when a split point turns out to lie inside a segment of an interchange with other delimiters", async () => {
    const d = tempDir();
    const isa = (e: string, c: string, t: string, ctl: string): string =>
      [
        "ISA",
        "00",
        "          ",
        "00",
        "          ",
        "ZZ",
        "SUBMITTER      ",
        "ZZ",
        "RECEIVER       ",
        "250101",
        "1200",
        "^",
        "00501",
        ctl,
        "0",
        "P",
        c,
      ].join(e) + t;
    // interchange 2 uses | and ' ; one of its names holds the text of a '*' '~' ISA, which the
    // splitter (looking for the first ISA's delimiters) takes for a split point
    const claims = (from: number, n: number): string =>
      Array.from({ length: n }, (_, k) =>
        [
          `CLM|C${String(from + k).padStart(4, "0")}|100|||11^B^1|Y|A|Y|Y`,
          `HI|ABK^E1122|ABF^I509`,
          "LX|1",
          "SV1|HC^99213|100|UN|1|||1",
          "DTP|472|D8|20250301",
        ]
          .map((s) => s + "'\n")
          .join(""),
      ).join("");
    const head = [
      "GS|HC|S|R|20250101|1200|1|X|005010X222A1",
      "ST|837|0001|005010X222A1",
      "BHT|0019|00|1|20250101|1200|CH",
      "HL|1||20|1",
      "NM1|85|2|BILLING|||||XX|1111111111",
      "HL|2|1|22|0",
      "NM1|IL|1|DOE|J||||MI|MEMBER0",
    ]
      .map((s) => s + "'\n")
      .join("");
    const fake = `NM1|IL|1|~${isa("*", ":", "~", "000000009")}|J||||MI|MEMBER1'\n`;
    const first = x12P([claimP("A1", ["E119"])]);
    const segs = (s: string): number => s.split("'").length - 1;
    const body = head + claims(0, 400) + fake + claims(400, 380);
    // ST … SE: the body's segments but GS, and SE itself
    const tail = `SE|${segs(body)}|0001'\nGE|1|1'\nIEA|1|000000002'\n`;
    const file = writeFile(d, "mixed.x12", first + isa("|", "^", "'\n", "000000002") + body + tail);
    // the splitter does take the hidden ISA: it lies in the half after the middle of the file
    const size = statSync(file).size;
    const ranges = splitX12File(file, size, 2);
    expect(ranges).toHaveLength(2);
    expect(readFileSync(file, "latin1").slice(ranges[1]!.start - 1, ranges[1]!.start + 4)).toBe("~ISA*");
    const r = await both([file], d, 2);
    expect(r.progress.some((m) => /not split at its interchanges after all; read whole/.test(m))).toBe(true);
    await expectSame(
      r,
      PUBLISHED_TABLES.filter((t) => !t.startsWith("participants")),
    );
    expect(r.serial.counts.claimsIn).toBe(781);
    expect(r.serial.counts.rejected).toBe(0);
  });

  it("splits only at an ISA after a terminator that declares the first ISA's delimiters, and not files ended by line breaks", () => {
    const d = tempDir();
    const one = (i: number): string => x12P([claimP(`C${i}`, ["E1122"])]);
    const tilde = writeFile(d, "tilde.x12", Array.from({ length: 40 }, (_, i) => one(i)).join(""));
    const size = statSync(tilde).size;
    const ranges = splitX12File(tilde, size, 4);
    expect(ranges.length).toBe(4);
    const text = readFileSync(tilde, "latin1");
    // contiguous, covering the file, each starting at an ISA, the last one marked
    expect(ranges[0]!.start).toBe(0);
    expect(ranges.at(-1)!.end).toBe(size);
    ranges.forEach((r, i) => {
      expect(text.startsWith("ISA*", r.start)).toBe(true);
      if (i > 0) expect(r.start).toBe(ranges[i - 1]!.end);
      expect(r.last).toBe(i === ranges.length - 1);
    });
    // blanks between the terminator and the ISA are skipped; a well-formed ISA after anything
    // else (here the tag of a malformed segment "XYZISA") is no split point
    const spaced = Array.from({ length: 40 }, (_, i) => one(i)).join(" \t\r\n");
    const blanks = writeFile(d, "blanks.x12", spaced);
    const blankRanges = splitX12File(blanks, statSync(blanks).size, 4);
    expect(blankRanges.length).toBe(4);
    for (const r of blankRanges) expect(spaced.slice(r.start, r.start + 4)).toBe("ISA*");
    const glued = writeFile(d, "glued.x12", Array.from({ length: 40 }, (_, i) => one(i)).join("XYZ"));
    expect(splitX12File(glued, statSync(glued).size, 4)).toEqual([]);
    // a terminator that is a line break: never split
    const lf = writeFile(d, "lf.x12", text.replace(/~\n/g, "\n"));
    expect(splitX12File(lf, statSync(lf).size, 4)).toEqual([]);
    // a file not starting with ISA: not split (its task reports the error)
    const junk = writeFile(d, "junk.x12", "hello\n" + text);
    expect(splitX12File(junk, statSync(junk).size, 4)).toEqual([]);
  });

  it("numbers the lines of a file whose segments end in CRLF (each segment on its own line)", () => {
    const d = tempDir();
    const text = x12P([claimP("C1", ["E1122"])])
      .replace("NM1*IL*1*DOE", "NM1*IL*1*DOÉ")
      .replace(/~\n/g, "\r\n");
    const file = writeFile(d, "crlf.x12", text);
    const seen: string[] = [];
    new X12SegmentReader(file).forEach((s) => seen.push(`${s.tag}@${s.line}#${s.index}`));
    expect(seen.slice(0, 4)).toEqual(["ISA@1#1", "GS@2#2", "ST@3#3", "BHT@4#4"]);
    expect(seen.at(-1)).toBe(`IEA@${seen.length}#${seen.length}`);
    writeFileSync(file, text.replace(/\r\n/g, "\n"));
    const lf: string[] = [];
    new X12SegmentReader(file).forEach((s) => lf.push(`${s.tag}@${s.line}#${s.index}`));
    expect(lf).toEqual(seen);
  });
});
