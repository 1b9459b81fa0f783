// The member encoder reads each column's null bitmap once per chunk (arrow-encode.ts nullBits):
// a batch sliced at any row (its columns' bitmaps and bool bits then start at a bit offset)
// encodes exactly as the same rows of the whole batch, nulls and values alike.
import { describe, expect, it } from "vitest";
import { membersToBatch } from "../../src/engine/member.js";
import { encodeArrowBatch } from "../../src/engine/arrow-encode.js";
import * as L from "../../src/engine/layout.js";
import type { MemberInput } from "../../src/engine/member.js";

const pick = <T>(i: number, k: number, xs: readonly T[]): T | undefined => (i % k === 0 ? undefined : xs[i % xs.length]);

function members(n: number): MemberInput[] {
  return Array.from({ length: n }, (_, i) => {
    const m: Record<string, unknown> = { member_id: `M${i}`, diagnosis_codes: i % 4 === 0 ? [] : ["E119"] };
    const set = (k: string, v: unknown): void => {
      if (v !== undefined) m[k] = v;
    };
    set("sex", pick(i, 3, ["F", "M", "2", "X"])); // X: a value error
    set("age", pick(i, 5, [67, 71, 80, 130])); // 130: out of range
    set("birth_date", i % 5 === 0 ? pick(i, 2, ["1950-02-03", "1949-13-01"]) : undefined);
    set("orec", pick(i, 4, ["0", "1", "2", "9"]));
    set("dual_elgbl_cd", pick(i, 6, ["00", "02", "08"]));
    set("medicaid", pick(i, 7, [true, false]));
    set("lti", pick(i, 2, [false, true, false]));
    set("graft_months", pick(i, 9, [3, 12]));
    return m as unknown as MemberInput;
  });
}

describe("member encoding of sliced batches", () => {
  it("a batch sliced at any row encodes as the same rows of the whole batch", () => {
    const { batch } = membersToBatch(members(41));
    const whole = encodeArrowBatch(batch);
    expect(whole.errors.some((e) => e !== null)).toBe(true); // value errors are part of what is compared
    expect(whole.errors.some((e) => e === null)).toBe(true);
    for (const at of [1, 3, 7, 8, 9, 17]) {
      const part = encodeArrowBatch(batch.slice(at));
      expect(part.errors, `slice at ${at}`).toEqual(whole.errors.slice(at));
      expect(Array.from(part.batch.attrs.subarray(0, (41 - at) * L.NIN)), `slice at ${at}`).toEqual(
        Array.from(whole.batch.attrs.subarray(at * L.NIN, 41 * L.NIN)),
      );
    }
  });
});
