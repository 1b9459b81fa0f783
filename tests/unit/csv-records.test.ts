// Member-record CSV is RFC 4180 (csv-parse): quoted fields may hold newlines, commas and doubled
// quotes, with CRLF or LF line ends; such a file is never cut into line ranges for the workers,
// even when the first quote comes after megabytes of quote-free lines; and a CSV error fails the
// read instead of leaving it waiting.
import { afterAll, describe, expect, it } from "vitest";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { MemberRecordSource, readMemberRecords, splitRanges } from "../../src/io/member-records.js";
import type { Utf8, Vector } from "apache-arrow";
import type { MemberInput } from "../../src/engine/member.js";

const dir = mkdtempSync(join(tmpdir(), "hcc-csv-records-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function file(name: string, text: string): string {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
}

async function records(p: string): Promise<[MemberInput, number][]> {
  const out: [MemberInput, number][] = [];
  for await (const r of readMemberRecords(p, "csv")) out.push(r);
  return out;
}

const HEADER = "member_id,sex,age,diagnosis_codes";
const quoted = (eol: string): string =>
  [HEADER, `"A ""x""",F,70,"E11.9;${eol}I10"`, `B,M,71,"N18.6;${eol}${eol}E11.9"`, `"C,${eol}D",F,72,`, ""].join(eol);

describe("CSV member records with quoted newlines", () => {
  for (const [name, eol] of [
    ["CRLF", "\r\n"],
    ["LF", "\n"],
  ] as const) {
    it(`${name}: the newline stays inside the field and the record counts once`, async () => {
      const p = file(`quoted-${name}.csv`, quoted(eol));
      const got = await records(p);
      expect(got.map(([, line]) => line)).toEqual([3, 6, 8]); // the line each record ends on
      expect(got.map(([m]) => m.member_id)).toEqual(['A "x"', "B", `C,${eol}D`]);
      expect(got.map(([m]) => m.diagnosis_codes)).toEqual([["E11.9", "I10"], ["N18.6", "E11.9"], []]);
      expect(splitRanges(p, "csv")).toBeNull(); // parsed on the main thread, never split at a quoted newline
    });

    it(`${name}: a malformed record after them is reported on its own line`, async () => {
      const p = file(`quoted-bad-${name}.csv`, quoted(eol) + `E,F,73${eol}`);
      // regression: csv-parse counts a CRLF inside a quoted field as two lines (line 13 here)
      await expect(records(p)).rejects.toThrow(
        new RegExp(`quoted-bad-${name}\\.csv: line 9: number of fields differs from the header`),
      );
    });
  }

  it("a quote after the first ranges still keeps the file whole", async () => {
    // past the splitter's first 1 MiB read, after several 256 KiB ranges
    const filler = Array.from({ length: Math.ceil((1.5 * 2 ** 20) / 16) }, (_, i) => `M${i},F,70,E11.9\n`).join("");
    const p = file("late-quote.csv", `${HEADER}\n${filler}Z,M,71,"I10;\nN18.6"\n`);
    expect(splitRanges(file("late-quote-prefix.csv", `${HEADER}\n${filler}`), "csv", 2 ** 18)?.length).toBeGreaterThan(4);
    expect(splitRanges(p, "csv", 2 ** 18)).toBeNull();
    const src = new MemberRecordSource(p, "csv");
    let rows = 0;
    let last: unknown = null;
    for await (const b of src.read({ batchSize: 100_000 })) {
      rows += b.numRows;
      const codes = b.getChild("diagnosis_codes")?.get(b.numRows - 1) as Vector<Utf8> | null | undefined;
      if (codes) last = codes.toArray();
    }
    await src.close();
    expect(rows).toBe(filler.split("\n").length); // the filler lines and Z
    expect(last).toEqual(["I10", "N18.6"]);
  });

  // regression: a CSV error while the feed waited for "drain" left the read waiting forever
  // (the destroyed parser never drains); a CRLF file with one LF-ended quoted record did that
  it("a CSV error mid-file fails the read (mixed line ends)", async () => {
    const p = file("mixed-eol.csv", `${HEADER}\r\nB,M,71,"N18.6;\nE11.9"\nC,F,72,\r\n`);
    await expect(records(p)).rejects.toThrow(/mixed-eol\.csv: line \d+: malformed CSV \(CSV_INVALID_CLOSING_QUOTE\)/);
  });
});
