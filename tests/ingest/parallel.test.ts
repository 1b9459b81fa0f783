// Files parsed on worker threads (one staging part per file) publish the same tables as one
// thread reading the files in order: sequence numbers, voids and replacements across files,
// envelope rejections, 834 members, warnings. The worker path loads dist/ (npm run build:ts).
import { describe, expect, it } from "vitest";
import { createHash } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { writeEobNdjson, writeX12Claims, writeX12Enrollment } from "../../src/ingest/generate.js";
import { planTasks } from "../../src/ingest/run.js";
import { DataError } from "../../src/errors.js";
import { DATA, PUBLISHED_TABLES, claimP, differences, hccCodes, ingest, query, tempDir, writeFile, x12P } from "./helpers.js";

function inputFiles(dir: string): string[] {
  const o = { seed: 5, year: 2025, members: 300, hccCodes: hccCodes() };
  const p = join(dir, "p.x12");
  const i = join(dir, "i.x12");
  const eob = join(dir, "eob.ndjson");
  const enr = join(dir, "enrollment.834");
  writeX12Claims(p, "837P", 300_000, o);
  writeX12Claims(i, "837I", 200_000, { ...o, seed: 6 });
  writeEobNdjson(eob, 250_000, { ...o, seed: 7 });
  writeX12Enrollment(enr, { ...o, members: 50 });
  return [
    writeFile(dir, "originals.x12", x12P([claimP("O1", ["E1122"]), claimP("O2", ["I509"]), claimP("O3", ["J449"])])),
    p,
    enr,
    // a replacement and a void of claims in the first file; this transaction's SE count is wrong
    writeFile(dir, "bad-envelope.x12", x12P([claimP("X1", ["E119"])], { seCount: 99 })),
    writeFile(
      dir,
      "later.x12",
      x12P([claimP("R1", ["E119"], { freq: "7", ref: "O1" }), claimP("V1", ["I509"], { freq: "8", ref: "O2" })], { iea: false }),
    ),
    i,
    eob,
  ];
}

describe("ingest on worker threads", () => {
  it("publishes the same tables as a serial ingest of the files in order", async () => {
    const d = tempDir();
    const files = inputFiles(d);
    const serialDb = join(d, "serial.duckdb");
    const parallelDb = join(d, "parallel.duckdb");
    const serial = await ingest(files, serialDb, { workers: 1 });
    const parallel = await ingest(files, parallelDb, { workers: 2 });
    expect(parallel.counts).toEqual(serial.counts);
    expect(parallel.warnings).toBe(serial.warnings);
    expect(serial.warnings).toBeGreaterThan(0);
    expect(serial.counts.byReason["filtered:replaced"]).toBeGreaterThan(0);
    expect(serial.counts.byReason["filtered:voided"]).toBeGreaterThan(0);
    expect(serial.counts.byReason["rejected:E_ENVELOPE"]).toBe(1);
    expect(serial.counts.participants).toBe(50);
    const strip = (r: typeof serial): unknown[] => r.files.map((f) => ({ ...f, seconds: 0 }));
    expect(strip(parallel)).toEqual(strip(serial));
    // claim numbers run 1..n over the files in input order, as one pass over them would number them
    const seq = await query(
      parallelDb,
      `SELECT (SELECT count(*) = max(claim_seq) AND count(DISTINCT claim_seq) = count(*) FROM sgv_reporting.claims_ingest_outcomes)
                AS contiguous,
              list(f ORDER BY first_seq) AS files
       FROM (SELECT source_file AS f, min(claim_seq) AS first_seq FROM sgv_reporting.claims_ingest_outcomes GROUP BY 1)`,
    );
    expect(seq).toEqual([{ contiguous: true, files: files.filter((f) => !f.endsWith(".834")) }]);
    for (const t of PUBLISHED_TABLES)
      expect({ table: t, differences: await differences(serialDb, parallelDb, t) }).toEqual({ table: t, differences: 0 });
  });

  it("a file that cannot be read fails the ingest with its name, from a worker too", async () => {
    const d = tempDir();
    const good = writeFile(d, "good.x12", x12P([claimP("O1", ["E1122"])]));
    const bad = writeFile(d, "notes.txt", "not a claim file\n");
    const run = ingest([good, bad], join(d, "w.duckdb"), { workers: 2 });
    await expect(run).rejects.toThrow(DataError);
    await expect(run).rejects.toThrow(/notes\.txt: unknown format/);
  });

  it("one NDJSON file split into byte ranges on several threads publishes what a serial pass does", async () => {
    const d = tempDir();
    const codes = hccCodes();
    const generated = join(d, "gen.ndjson");
    writeEobNdjson(generated, 300_000, { seed: 9, year: 2025, members: 200, hccCodes: codes });
    // odd lines spread through the file: blank, CRLF, not JSON, not UTF-8
    const lines = readFileSync(generated, "utf8").split("\n");
    const odd = ["", "{not json", "   ", "\u0000"];
    const text = lines.flatMap((l, i) => (i % 97 === 5 ? [odd[(i / 97) % odd.length | 0]!, l] : [l])).join("\n");
    const file = join(d, "eob.ndjson");
    writeFileSync(file, Buffer.concat([Buffer.from(text.replace(/}\n\{/, "}\r\n{")), Buffer.from([0xff, 0xfe, 10])]));
    const serialDb = join(d, "serial.duckdb");
    const splitDb = join(d, "split.duckdb");
    const serial = await ingest([file], serialDb, { workers: 1 });
    const progress: string[] = [];
    const split = await ingest([file], splitDb, { workers: 3, splitBytes: 1, onProgress: (m) => progress.push(m) });
    expect(progress.filter((m) => / bytes \d+-\d+: /.test(m)).length).toBe(3);
    expect(split.counts).toEqual(serial.counts);
    expect(serial.counts.rejected).toBeGreaterThan(2);
    const strip = (r: typeof serial): unknown[] => r.files.map((f) => ({ ...f, seconds: 0 }));
    expect(strip(split)).toEqual(strip(serial));
    for (const t of ["claims_diagnosis_provenance", "claims_diagnoses", "claims_ingest_outcomes", "participant_diagnosis_codes"])
      expect({ table: t, differences: await differences(serialDb, splitDb, t) }).toEqual({ table: t, differences: 0 });
  });

  it("1,050 small files publish the same tables in a part each or grouped into one, and the view over 1,050 parts reads", async () => {
    // DuckDB refuses a chain of 1,000 UNION ALLs (max_expression_depth): before the balanced
    // unions and the grouping, 1,000 input files failed the publish with an internal error
    const d = tempDir();
    const codes = ["E1122", "I509", "J449", "E119", "N184"];
    const files = Array.from({ length: 1050 }, (_, i) => {
      const claims = [claimP(`C${i}`, [codes[i % 5]!, codes[(i + 2) % 5]!])];
      // a replacement and a void of claims in files hundreds of parts before
      if (i === 700)
        claims.push(claimP("R3", ["E119"], { freq: "7", ref: "C3" }), claimP("V5", ["I509"], { freq: "8", ref: "C5" }));
      return writeFile(d, `f${String(i).padStart(4, "0")}.x12`, x12P(claims));
    });
    const groupedDb = join(d, "grouped.duckdb");
    const partsDb = join(d, "parts.duckdb");
    const grouped = await ingest(files, groupedDb, { workers: 1 });
    const perFile = await ingest(files, partsDb, { workers: 2, groupBytes: 1 });
    expect(perFile.counts).toEqual(grouped.counts);
    expect(grouped.counts.claimsIn).toBe(1052);
    expect(grouped.counts.byReason["filtered:replaced"]).toBe(1);
    expect(grouped.counts.byReason["filtered:voided"]).toBe(1);
    // one manifest entry per file, in input order, each with its own hash
    const strip = (r: typeof grouped): unknown[] => r.files.map((f) => ({ ...f, seconds: 0 }));
    expect(strip(perFile)).toEqual(strip(grouped));
    expect(grouped.files.map((f) => f.path)).toEqual(files.map((f) => resolve(f)));
    expect(grouped.files[10]!.sha256).toBe(createHash("sha256").update(readFileSync(files[10]!)).digest("hex"));
    for (const t of PUBLISHED_TABLES.filter((t) => !t.startsWith("participants")))
      expect({ table: t, differences: await differences(groupedDb, partsDb, t) }).toEqual({ table: t, differences: 0 });
    // claims_diagnoses is a view over the parse threads' files: one per part
    const parquetReads = async (db: string): Promise<unknown> =>
      (
        await query(
          db,
          `SELECT (length(sql) - length(replace(sql, 'read_parquet(', ''))) // length('read_parquet(') AS n
           FROM duckdb_views() WHERE view_name = 'claims_diagnoses'`,
        )
      )[0]?.["n"];
    expect(await parquetReads(partsDb)).toBe(1050n);
    expect(await parquetReads(groupedDb)).toBe(1n);
    const [n] = await query(
      partsDb,
      "SELECT CAST(count(*) AS INTEGER) AS rows, CAST(count(DISTINCT claim_seq) AS INTEGER) AS claims FROM sgv_reporting.claims_diagnoses",
    );
    expect(n).toEqual({ rows: 2 * 1050 + 2, claims: 1052 }); // R3 and V5 have one code each
  });

  it("groups consecutive small files into parts, in input order, and never groups a split NDJSON file", () => {
    const d = tempDir();
    const mk = (name: string, bytes: number): string => writeFile(d, name, "x".repeat(bytes));
    const eob = writeFile(
      d,
      "big.ndjson",
      Array.from({ length: 400 }, (_, i) => `{"resourceType":"ExplanationOfBenefit","id":"${i}"}`).join("\n") + "\n",
    );
    const files = [mk("a", 300), mk("b", 300), mk("c", 500), mk("big", 2000), mk("d", 100), eob, mk("e", 100), mk("f", 100)];
    const tasks = planTasks(
      files,
      2,
      1000,
      "auto",
      (file, part, range, more) => ({
        file,
        part,
        stageDir: d,
        format: "auto",
        filter: { period: null, tob87x: true, dataDir: DATA, cptListYear: null },
        ...(range ? { range } : {}),
        ...(more?.length ? { more } : {}),
      }),
      1000,
    );
    const shape = tasks.map((t) => [
      t.part,
      [t.file, ...(t.more ?? [])].map((f) => f.slice(d.length + 1)),
      t.range ? "range" : "",
    ]);
    expect(shape.slice(0, 4)).toEqual([
      [0, ["a", "b", "c"], ""], // 300 + 300 + 500 reaches 1000
      [1, ["big"], ""],
      [2, ["d"], ""], // closed by the split file after it
      [3, ["big.ndjson"], "range"],
    ]);
    expect(shape.at(-1)).toEqual([tasks.length - 1, ["e", "f"], ""]);
    expect(shape.slice(3, -1).every(([, f, r]) => r === "range" && (f as string[])[0] === "big.ndjson")).toBe(true);
    // every file once, in order
    expect(tasks.flatMap((t) => (t.range && t.range.start > 0 ? [] : [t.file, ...(t.more ?? [])]))).toEqual(files);
  });
});
