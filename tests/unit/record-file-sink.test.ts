// The member-record output file: batches written in input order into a temporary file that is
// flushed in the background as it grows, renamed over the output at commit, removed at abort.
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { RecordFileSink } from "../../src/io/record-file-sink.js";
import type { ScoreRunRow } from "../../src/io/types.js";

const text = (s: string): Uint8Array => new TextEncoder().encode(s);
const lines = (from: number, n: number): string =>
  Array.from({ length: n }, (_, k) => `{"member_id":"M${from + k}","pad":"${"x".repeat(200)}"}\n`).join("");

/** A begun sink writing `name` in a new directory, over `previous` output when given. */
async function begun(
  name: string,
  previous?: string,
  flushBytes?: number,
): Promise<{ dir: string; out: string; sink: RecordFileSink }> {
  const dir = mkdtempSync(join(tmpdir(), "hcc-sink-"));
  const out = join(dir, name);
  if (previous !== undefined) writeFileSync(out, previous);
  const sink = new RecordFileSink(out, name.endsWith(".csv") ? "csv" : "ndjson", undefined, flushBytes);
  await sink.begin();
  return { dir, out, sink };
}

describe("RecordFileSink", () => {
  it("writes batches in input order whatever order they arrive in, flushing between them", async () => {
    // a flush after every batch: each append starts one while the previous may still run
    const { dir, out, sink } = await begun("scores.ndjson", "the previous run\n", 1);
    const batches = Array.from({ length: 40 }, (_, b) => lines(b * 50, 50));
    const order = batches.map((_, b) => b).sort((a, b) => ((a * 7919) % 40) - ((b * 7919) % 40));
    for (const b of order) {
      sink.addText(b, text(batches[b]!));
      await new Promise((r) => setImmediate(r)); // let background flushes start and finish
    }
    expect(readFileSync(out, "utf8")).toBe("the previous run\n"); // nothing replaced before commit
    await sink.commit({} as ScoreRunRow);
    expect(readFileSync(out, "utf8")).toBe(batches.join(""));
    expect(readdirSync(dir)).toEqual(["scores.ndjson"]);
  });

  it("hands back the buffers of written batches only, for the workers to encode into", async () => {
    const { out, sink } = await begun("scores.ndjson");
    expect(sink.spareTextBuffer()).toBeUndefined();
    const b1 = text(lines(0, 3));
    const b0 = text(lines(3, 3));
    sink.addText(1, b1); // waits for batch 0: not written, not spare
    expect(sink.spareTextBuffer()).toBeUndefined();
    sink.addText(0, b0);
    const spares = [sink.spareTextBuffer(), sink.spareTextBuffer()];
    expect(spares).toContain(b0.buffer);
    expect(spares).toContain(b1.buffer);
    expect(sink.spareTextBuffer()).toBeUndefined();
    await sink.commit({} as ScoreRunRow);
    expect(readFileSync(out, "utf8")).toBe(lines(3, 3) + lines(0, 3));
  });

  it("abort while a flush is in flight keeps the previous output and leaves no temporary file", async () => {
    const { dir, out, sink } = await begun("scores.csv", "member_id\nold\n", 1);
    sink.addText(0, text(`member_id\n${"a\n".repeat(100_000)}`));
    sink.addText(1, text(`member_id\n${"b\n".repeat(100_000)}`));
    await sink.abort(new Error("stop"));
    expect(readFileSync(out, "utf8")).toBe("member_id\nold\n");
    expect(readdirSync(dir)).toEqual(["scores.csv"]);
  });
});
