// Minimal RFC 4180 reader for the curated reference tables (quoted fields, embedded commas).
import { DataError } from "../errors.js";

export function parseCsv(text: string, file: string): Record<string, string>[] {
  const rows = splitRows(text, file);
  const header = rows.shift();
  if (!header) throw new DataError(`${file}: empty file`, { file });
  return rows
    .filter((r) => r.length > 1 || (r[0] ?? "") !== "")
    .map((r, i) => {
      if (r.length !== header.length) {
        throw new DataError(`${file}: row ${i + 2} has ${r.length} fields, header has ${header.length}`, {
          file,
          row: i + 2,
        });
      }
      const o: Record<string, string> = {};
      header.forEach((h, j) => (o[h] = r[j] ?? ""));
      return o;
    });
}

export function splitRows(text: string, file: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = "";
  let quoted = false;
  let line = 1;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '"') {
        if (text[i + 1] === '"') {
          field += '"';
          i++;
        } else quoted = false;
      } else {
        if (c === "\n") line++;
        field += c;
      }
    } else if (c === '"' && field === "") quoted = true;
    else if (c === ",") {
      row.push(field);
      field = "";
    } else if (c === "\n" || c === "\r") {
      if (c === "\r" && text[i + 1] === "\n") i++;
      row.push(field);
      rows.push(row);
      row = [];
      field = "";
      line++;
    } else field += c;
  }
  if (quoted) throw new DataError(`${file}: line ${line}: unterminated quoted field`, { file, row: line });
  if (field !== "" || row.length > 0) {
    row.push(field);
    rows.push(row);
  }
  return rows;
}
