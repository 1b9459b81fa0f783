// A text column dictionary-encoded in Wasm (assembly/parquet stringDictionary, through
// parquet-writer.ts utf8Dictionary; the ingest's dx staging parts use it): every row's key names
// its own value, the dictionary holds each distinct value once in order of first appearance, and
// null rows stay null — for empty strings, non-ASCII text, values that share prefixes, and more
// distinct values than the first table size.
import { describe, expect, it } from "vitest";
import { Dictionary, Int32, Utf8, makeData, makeVector, type Data } from "apache-arrow";
import { utf8Dictionary } from "../../src/io/parquet-writer.js";

function utf8(values: (string | null)[]): Data<Utf8> {
  const enc = new TextEncoder();
  const parts = values.map((v) => enc.encode(v ?? ""));
  const offs = new Int32Array(values.length + 1);
  parts.forEach((p, i) => (offs[i + 1] = offs[i]! + p.length));
  const bytes = new Uint8Array(offs[values.length]!);
  parts.forEach((p, i) => bytes.set(p, offs[i]));
  const nulls = values.filter((v) => v === null).length;
  const valid = new Uint8Array((values.length + 7) >> 3);
  values.forEach((v, i) => v !== null && (valid[i >> 3]! |= 1 << (i & 7)));
  return makeData({
    type: new Utf8(),
    length: values.length,
    nullCount: nulls,
    nullBitmap: nulls ? valid : null,
    valueOffsets: offs,
    data: bytes,
  });
}

function roundTrip(values: (string | null)[]): { decoded: (string | null)[]; dictionary: string[] } {
  const d = utf8Dictionary(utf8(values), new Dictionary(new Utf8(), new Int32()));
  const v = makeVector(d);
  const decoded = Array.from({ length: values.length }, (_, i) => v.get(i));
  const dictionary = [...(d.dictionary?.toArray() as string[])];
  return { decoded, dictionary };
}

describe("utf8Dictionary (Wasm string dictionary)", () => {
  it("keys name each row's own value; distinct values once, in order of first appearance; nulls stay null", () => {
    const values = ["E119", "", "E11", "E119", null, "É1", "e119", "", "E1190", null, "É1", "I5032"];
    const { decoded, dictionary } = roundTrip(values);
    expect(decoded).toEqual(values);
    expect(dictionary).toEqual(["E119", "", "E11", "É1", "e119", "E1190", "I5032"]);
  });

  it("many distinct values among repeats (random, seeded), and a column without nulls", () => {
    let seed = 11;
    const rnd = (n: number): number => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return seed % n;
    };
    const pool = Array.from({ length: 3000 }, (_, i) => `${String.fromCharCode(65 + (i % 26))}${i}${i % 7 ? "" : "ü"}`);
    const values = Array.from({ length: 20000 }, () => (rnd(10) === 0 ? null : pool[rnd(pool.length)]!));
    const { decoded, dictionary } = roundTrip(values);
    expect(decoded).toEqual(values);
    expect(dictionary).toEqual([...new Set(values.filter((v): v is string => v !== null))]);
    const dense = values.map((v) => v ?? "x");
    expect(roundTrip(dense).decoded).toEqual(dense);
  });
});
