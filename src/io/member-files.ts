// Member record files: NDJSON (one JSON object per line) and CSV (header row; diagnosis_codes
// `;`-separated). Structural problems fail with file, line and field; value problems are left
// to the engine, which reports them on the member's output row.
import { createReadStream } from "node:fs";
import { createInterface } from "node:readline";
import { DataError } from "../errors.js";
import type { MemberInput } from "../engine/member.js";
import { splitRows } from "../data/csv.js";

export type MemberFormat = "ndjson" | "csv";

export function formatOf(path: string, explicit?: string): MemberFormat {
  const f = (explicit ?? path.split(".").pop() ?? "").toLowerCase();
  if (f === "ndjson" || f === "jsonl" || f === "json") return "ndjson";
  if (f === "csv") return "csv";
  throw new DataError(`${path}: cannot tell the format from the extension; use .ndjson or .csv (or --format)`, { file: path });
}

const STRING_FIELDS = ["member_id", "birth_date", "sex", "orec", "crec", "dual_elgbl_cd", "esrd_status", "rx_plan"];

function checkRecord(o: unknown, file: string, line: number): MemberInput {
  if (typeof o !== "object" || o === null || Array.isArray(o)) {
    throw new DataError(`${file}: line ${line}: expected a JSON object`, { file, row: line });
  }
  const r = o as Record<string, unknown>;
  const id = r["member_id"];
  if (typeof id !== "string" && typeof id !== "number") {
    throw new DataError(`${file}: line ${line}: field member_id: required (string)`, { file, row: line, column: "member_id" });
  }
  if (String(id).trim() === "") {
    throw new DataError(`${file}: line ${line}: field member_id: empty`, { file, row: line, column: "member_id" });
  }
  const dx = r["diagnosis_codes"];
  if (dx !== undefined && dx !== null && (!Array.isArray(dx) || dx.some((c) => c !== null && typeof c !== "string"))) {
    throw new DataError(`${file}: line ${line}: field diagnosis_codes: expected an array of strings`, {
      file,
      row: line,
      column: "diagnosis_codes",
    });
  }
  for (const f of STRING_FIELDS) {
    const v = r[f];
    if (v !== undefined && v !== null && typeof v !== "string" && typeof v !== "number") {
      throw new DataError(`${file}: line ${line}: field ${f}: expected a string`, { file, row: line, column: f });
    }
  }
  return { ...(r as unknown as MemberInput), member_id: String(id) };
}

/** Read member records in batches; `line` numbers are 1-based file lines. */
export async function* readMemberFile(path: string, format: MemberFormat, batchSize = 8192): AsyncGenerator<MemberInput[]> {
  const rl = createInterface({ input: createReadStream(path, { encoding: "utf8" }), crlfDelay: Infinity });
  let batch: MemberInput[] = [];
  let line = 0;
  let header: string[] | null = null;
  try {
    for await (const text of rl) {
      line++;
      if (text.trim() === "") continue;
      let rec: MemberInput;
      if (format === "ndjson") {
        let o: unknown;
        try {
          o = JSON.parse(text);
        } catch (e) {
          throw new DataError(`${path}: line ${line}: not valid JSON (${(e as Error).message})`, { file: path, row: line }, e);
        }
        rec = checkRecord(o, path, line);
      } else {
        const fields = splitRows(text, path)[0] ?? [];
        if (header === null) {
          header = fields.map((h) => h.trim());
          if (!header.includes("member_id")) {
            throw new DataError(`${path}: line 1: header has no member_id column`, { file: path, row: 1, column: "member_id" });
          }
          continue;
        }
        if (fields.length !== header.length) {
          throw new DataError(`${path}: line ${line}: ${fields.length} fields, header has ${header.length}`, {
            file: path,
            row: line,
          });
        }
        const o: Record<string, unknown> = {};
        header.forEach((h, i) => {
          const v = fields[i] ?? "";
          o[h] =
            h === "diagnosis_codes"
              ? v
                  .split(";")
                  .map((c) => c.trim())
                  .filter((c) => c !== "")
              : v === ""
                ? null
                : v;
        });
        rec = checkRecord(o, path, line);
      }
      batch.push(rec);
      if (batch.length >= batchSize) {
        yield batch;
        batch = [];
      }
    }
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") throw new DataError(`${path}: file not found`, { file: path }, e);
    throw e;
  }
  if (format === "csv" && header === null) throw new DataError(`${path}: empty CSV (no header)`, { file: path });
  if (batch.length > 0) yield batch;
}
