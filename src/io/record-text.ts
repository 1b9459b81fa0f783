// Result batches as NDJSON or CSV text: the one text encoder for every text output (member-record
// files, directory sinks), column-wise over the Arrow buffers (no row proxies). Lists become JSON
// arrays (NDJSON) or `;`-joined cells (CSV); nulls are JSON null / empty cells; dates ISO.
import { DataType, type Data, type RecordBatch, type Vector } from "apache-arrow";

export type TextFormat = "ndjson" | "csv";

export interface TextOptions {
  /** Output column name per input name (e.g. participant_id → member_id). */
  rename?: Readonly<Record<string, string>>;
  /** Input columns left out (e.g. run_id). */
  drop?: readonly string[];
  /** CSV: write the header line first. */
  header?: boolean;
}

const decoder = new TextDecoder();

type Cell = (row: number) => string | number | boolean | null | string[];

function validity(data: Data): (i: number) => boolean {
  if (data.nullCount === 0 || !data.nullBitmap) return () => true;
  const bm = data.nullBitmap;
  const off = data.offset;
  return (i) => (((bm[(off + i) >> 3] ?? 0) >> ((off + i) & 7)) & 1) === 1;
}

function utf8At(data: Data): (i: number) => string {
  const offs = data.valueOffsets as Int32Array;
  const bytes = data.values as Uint8Array;
  return (i) => decoder.decode(bytes.subarray(offs[i] ?? 0, offs[i + 1] ?? 0));
}

/** A reader of one column (one Data chunk) by row. */
function cellReader(vec: Vector): Cell {
  const data = vec.data[0] as Data | undefined;
  if (!data || vec.data.length !== 1) return (row) => vec.get(row) as string | null;
  const valid = validity(data);
  const t = data.type;
  if (DataType.isUtf8(t)) {
    const at = utf8At(data);
    return (i) => (valid(i) ? at(i) : null);
  }
  if (DataType.isFloat(t) || (DataType.isInt(t) && (t as { bitWidth: number }).bitWidth <= 32)) {
    const vals = data.values as Float64Array | Int32Array;
    return (i) => (valid(i) ? (vals[i] ?? null) : null);
  }
  if (DataType.isBool(t)) {
    const bits = data.values as Uint8Array;
    const off = data.offset;
    return (i) => (valid(i) ? (((bits[(off + i) >> 3] ?? 0) >> ((off + i) & 7)) & 1) === 1 : null);
  }
  if (DataType.isList(t)) {
    const child = data.children[0];
    if (child && DataType.isUtf8(child.type)) {
      const offs = data.valueOffsets as Int32Array;
      const at = utf8At(child);
      const childValid = validity(child);
      return (i) => {
        if (!valid(i)) return null;
        const out: string[] = [];
        for (let k = offs[i] ?? 0; k < (offs[i + 1] ?? 0); k++) out.push(childValid(k) ? at(k) : "");
        return out;
      };
    }
  }
  if (DataType.isDictionary(t)) {
    return (row) => {
      const v = vec.get(row) as unknown;
      return v === null || v === undefined ? null : String(v as string);
    };
  }
  return (row) => {
    const v: unknown = vec.get(row);
    if (v === null || v === undefined) return null;
    if (typeof v === "bigint") return Number(v);
    if (v instanceof Date) return v.toISOString().slice(0, 10);
    if (typeof v === "number" || typeof v === "boolean" || typeof v === "string") return v;
    return JSON.stringify(v);
  };
}

function csvCell(v: ReturnType<Cell>): string {
  if (v === null) return "";
  const s = Array.isArray(v) ? v.join(";") : String(v);
  return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** One batch as text (NDJSON lines, or CSV rows after an optional header). */
export function encodeText(batch: RecordBatch, format: TextFormat, opts: TextOptions = {}): string {
  const drop = new Set(opts.drop ?? []);
  const cols = batch.schema.fields
    .map((f, k) => [f.name, k] as const)
    .filter(([name]) => !drop.has(name))
    .map(([name, k]) => ({ name: opts.rename?.[name] ?? name, read: cellReader(batch.getChildAt(k) as Vector) }));
  const parts: string[] = [];
  if (format === "csv") {
    if (opts.header) parts.push(cols.map((c) => csvCell(c.name)).join(",") + "\n");
    for (let i = 0; i < batch.numRows; i++) {
      let line = "";
      for (let k = 0; k < cols.length; k++) line += (k === 0 ? "" : ",") + csvCell((cols[k] as (typeof cols)[number]).read(i));
      parts.push(line + "\n");
    }
    return parts.join("");
  }
  const keys = cols.map((c) => JSON.stringify(c.name) + ":");
  for (let i = 0; i < batch.numRows; i++) {
    let line = "{";
    for (let k = 0; k < cols.length; k++) {
      const v = (cols[k] as (typeof cols)[number]).read(i);
      line +=
        (k === 0 ? "" : ",") + keys[k] + (typeof v === "number" ? (Number.isFinite(v) ? String(v) : "null") : JSON.stringify(v));
    }
    parts.push(line + "}\n");
  }
  return parts.join("");
}

/** Options that turn a risk_scores batch into the README's output records. */
export const OUTPUT_RECORD: TextOptions = { rename: { participant_id: "member_id" }, drop: ["run_id"] };
