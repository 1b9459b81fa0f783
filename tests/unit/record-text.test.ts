// The text encoder writes a list whose items are dictionary keys (the HCC lists of a worker's
// risk_scores batch) exactly as the same list with its items as text: NDJSON and CSV, with text
// that needs escaping or quoting, null and empty lists and null items.
import { describe, expect, it } from "vitest";
import { Field, RecordBatch, Schema, Struct, Utf8, makeData, vectorFromArray, type Data } from "apache-arrow";
import { encodeText } from "../../src/io/record-text.js";
import { keyedLists, textLists } from "../support/arrow-lists.js";

const WORDS = ["HCC37", 'say "hi"', "a,b", "x;y", "line\nbreak", "Ünïcode ✓", ""];

function batch(asDictionary: boolean): RecordBatch {
  const rows: ((string | null)[] | null)[] = [];
  for (let i = 0; i < 200; i++) {
    if (i % 11 === 3) rows.push(null);
    else if (i % 7 === 2) rows.push([]);
    else
      rows.push(Array.from({ length: 1 + (i % 4) }, (_, j) => ((i + j) % 13 === 5 ? null : WORDS[(i * 3 + j) % WORDS.length]!)));
  }
  const col: Data = asDictionary ? keyedLists(rows, WORDS, 77) : textLists(rows);
  const id = vectorFromArray(
    rows.map((_, i) => `M${i}`),
    new Utf8(),
  ).data[0]!;
  const fields = [new Field("member_id", new Utf8(), false), new Field("hccs", col.type, true)];
  return new RecordBatch(
    new Schema(fields),
    makeData({ type: new Struct(fields), length: rows.length, nullCount: 0, children: [id, col] }),
  );
}

describe("text encoding of dictionary-keyed list items", () => {
  for (const format of ["ndjson", "csv"] as const) {
    it(`${format}: the same bytes as the list of text`, () => {
      const plain = Buffer.from(encodeText(batch(false), format, { header: true })).toString("utf8");
      const keyed = Buffer.from(encodeText(batch(true), format, { header: true })).toString("utf8");
      expect(keyed).toBe(plain);
      // the escaping, quoting, null and empty lists were exercised
      if (format === "ndjson") {
        expect(plain).toContain('\\"hi\\"');
        expect(plain).toContain('"hccs":null');
        expect(plain).toContain('"hccs":[]');
        expect(plain).toContain('"",');
      } else {
        expect(plain).toContain('""hi""');
        expect(plain).toMatch(/"[^"\n]*x;y/);
      }
    });
  }
});

describe("text encoding into a recycled buffer", () => {
  for (const format of ["ndjson", "csv"] as const) {
    it(`${format}: the same bytes, written into the buffer given when it is large enough`, () => {
      const fresh = encodeText(batch(true), format, { header: true });
      const reused = new ArrayBuffer(fresh.length * 2 + (1 << 16));
      new Uint8Array(reused).fill(0x7e); // stale bytes of an earlier batch
      const into = encodeText(batch(true), format, { header: true, recycle: { into: reused } });
      expect(into.buffer).toBe(reused);
      expect(Buffer.from(into).equals(Buffer.from(fresh))).toBe(true);
      // too small: a new buffer, with room to take a larger batch later
      const small = new ArrayBuffer(16);
      const grown = encodeText(batch(true), format, { header: true, recycle: { into: small } });
      expect(grown.buffer).not.toBe(small);
      expect(grown.buffer.byteLength).toBeGreaterThan(grown.length);
      expect(Buffer.from(grown).equals(Buffer.from(fresh))).toBe(true);
    });
  }
});
