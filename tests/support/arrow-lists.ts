// Arrow list columns for tests: text lists as they are, or the same lists with their items as
// keys into a dictionary of `words` (how a worker's risk_scores batch carries its HCC lists).
import { Dictionary, Field, Int32, List, Utf8, makeData, vectorFromArray, type Data } from "apache-arrow";

/** List<Utf8> data of `lists` (null lists and null items kept). */
export function textLists(lists: readonly (readonly (string | null)[] | null)[]): Data {
  return vectorFromArray(lists as (string | null)[][], new List(new Field("item", new Utf8(), true))).data[0]!;
}

/** The same lists as List<Dictionary<Utf8>> over `words` (every non-null item must be one of them). */
export function keyedLists(
  lists: readonly (readonly (string | null)[] | null)[],
  words: readonly string[],
  dictionaryId: number,
): Data {
  const text = textLists(lists);
  const items = lists.flatMap((l) => l ?? []);
  const valid = new Uint8Array((items.length + 7) >> 3);
  items.forEach((w, k) => {
    if (w !== null) valid[k >> 3]! |= 1 << (k & 7);
  });
  const itemType = new Dictionary(new Utf8(), new Int32(), dictionaryId);
  return makeData({
    type: new List(new Field("item", itemType, true)),
    length: lists.length,
    nullCount: text.nullCount,
    nullBitmap: text.nullBitmap,
    valueOffsets: text.valueOffsets as Int32Array,
    child: makeData({
      type: itemType,
      length: items.length,
      nullCount: items.filter((w) => w === null).length,
      nullBitmap: valid,
      data: Int32Array.from(items, (w) => (w === null ? 0 : words.indexOf(w))),
      dictionary: vectorFromArray([...words], new Utf8()),
    }),
  });
}
