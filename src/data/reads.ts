// Reads of data/ files by the table loader (load.ts, rules.ts), recorded on request: the pack
// cache (pack-cache.ts) keys a built pack by the exact files its tables came from, so a later run
// with the same files takes the pack without parsing any table.
import { readFileSync } from "node:fs";
import { resolve } from "node:path";

let recording: Set<string> | null = null;

/** A data file's bytes (recorded while recordReads runs). */
export function readDataBytes(path: string): Buffer {
  const bytes = readFileSync(path);
  recording?.add(resolve(path));
  return bytes;
}

/** A data file's text (recorded while recordReads runs). */
export function readDataText(path: string): string {
  return readDataBytes(path).toString("utf8");
}

/** Runs f and returns what it returned with every data file it read (absolute paths, sorted). */
export function recordReads<T>(f: () => T): { value: T; files: string[] } {
  const outer = recording;
  const mine = new Set<string>();
  recording = mine;
  try {
    const value = f();
    return { value, files: [...mine].sort() };
  } finally {
    recording = outer;
    if (outer) for (const p of mine) outer.add(p);
  }
}
