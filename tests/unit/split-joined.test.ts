// The exported members' joined codes split in Wasm (assembly/parquet splitJoined, through
// parquet-writer.ts splitJoinedBytes) give what splitting the text on U+001F gives: the same items
// per row, null rows with none, and a count past the capacity when a row holds more codes.
import { describe, expect, it } from "vitest";
import { splitJoinedBytes } from "../../src/io/parquet-writer.js";

function joined(rows: (string[] | null)[]): { offs: Int32Array; bytes: Uint8Array; valid: Uint8Array | null } {
  const enc = new TextEncoder();
  const parts = rows.map((r) => (r ? enc.encode(r.join("\u001f")) : new Uint8Array(0)));
  const offs = new Int32Array(rows.length + 1);
  parts.forEach((p, i) => (offs[i + 1] = offs[i]! + p.length));
  const bytes = new Uint8Array(offs[rows.length]! + 16); // spare bytes past the end, as buffers have
  parts.forEach((p, i) => bytes.set(p, offs[i]));
  const anyNull = rows.some((r) => r === null);
  const valid = anyNull ? new Uint8Array((rows.length + 7) >> 3) : null;
  if (valid) rows.forEach((r, i) => r && (valid[i >> 3]! |= 1 << (i & 7)));
  return { offs, bytes, valid };
}

function split(rows: (string[] | null)[], cap?: number): { items: number; lists: string[][] } {
  const { offs, bytes, valid } = joined(rows);
  const expected = rows.reduce((a, r) => a + (r?.length ?? 0), 0);
  const codeOffsets = new Int32Array((cap ?? expected) + 1);
  const listOffsets = new Int32Array(rows.length + 1);
  const [items, w] = splitJoinedBytes(offs, bytes, valid, rows.length, codeOffsets, listOffsets);
  const dec = new TextDecoder();
  const text = dec.decode(bytes.subarray(0, w));
  expect(text.includes("\u001f")).toBe(false);
  if (items > codeOffsets.length - 1) return { items, lists: [] }; // offsets past the capacity were not written
  const lists = rows.map((_, i) =>
    Array.from({ length: listOffsets[i + 1]! - listOffsets[i]! }, (_, j) => {
      const k = listOffsets[i]! + j;
      return dec.decode(bytes.subarray(codeOffsets[k], codeOffsets[k + 1]));
    }),
  );
  return { items, lists };
}

describe("splitJoinedBytes", () => {
  it("splits every row as the text split does; null rows have no items", () => {
    let seed = 7;
    const rnd = (n: number): number => ((seed = (seed * 1103515245 + 12345) % 2 ** 31), seed % n);
    for (let t = 0; t < 50; t++) {
      const rows = Array.from({ length: rnd(40) }, () =>
        rnd(6) === 0
          ? null
          : Array.from({ length: 1 + rnd(9) }, () => ["E119", "I5030", "Z68.41", "N186", "F329", "é1"][rnd(6)]!),
      );
      const { items, lists } = split(rows);
      expect(items).toBe(rows.reduce((a, r) => a + (r?.length ?? 0), 0));
      expect(lists).toEqual(rows.map((r) => r ?? []));
    }
  });

  it("counts the items past the capacity without writing them (a code that held U+001F)", () => {
    // the second row's one code holds U+001F: 4 codes (the capacity) read as 5 items
    const rows = [["A", "B"], ["C\u001fD"], ["E"]];
    expect(split(rows, 4).items).toBe(5);
    expect(split(rows.slice(0, 1), 2)).toEqual({ items: 2, lists: [["A", "B"]] });
  });
});
