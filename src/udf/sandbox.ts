// A local stand-in for BigQuery's JavaScript UDF environment, for tests, the benchmark and
// smoke-testing a bundle: a fresh node:vm context holding only ECMAScript built-ins and
// WebAssembly, the library files and then the inline body evaluated in it, and arguments built
// inside the context the way BigQuery encodes SQL values (docs/bigquery-udf.md "Type mapping").
import { Script, createContext, runInContext, type Context } from "node:vm";
import type { UdfBundle, UdfInit } from "./bundle.js";

/** Globals of a V8 context that ECMAScript (ES2023) defines, plus WebAssembly. */
const ECMASCRIPT_GLOBALS = [
  "Object", "Function", "Array", "Number", "parseFloat", "parseInt", "Infinity", "NaN", "undefined", "Boolean",
  "String", "Symbol", "Date", "Promise", "RegExp", "Error", "AggregateError", "EvalError", "RangeError",
  "ReferenceError", "SyntaxError", "TypeError", "URIError", "globalThis", "JSON", "Math", "Intl", "ArrayBuffer",
  "Uint8Array", "Int8Array", "Uint16Array", "Int16Array", "Uint32Array", "Int32Array", "Float32Array",
  "Float64Array", "Uint8ClampedArray", "BigUint64Array", "BigInt64Array", "DataView", "Map", "BigInt", "Set",
  "WeakMap", "WeakSet", "Proxy", "Reflect", "FinalizationRegistry", "WeakRef", "decodeURI", "decodeURIComponent",
  "encodeURI", "encodeURIComponent", "escape", "unescape", "eval", "isFinite", "isNaN", "SharedArrayBuffer",
  "Atomics", "WebAssembly",
]; // prettier-ignore

/** Node and Web APIs a bundle must not use (BigQuery's V8 has none of them). */
export const HOST_APIS = [
  "require", "module", "exports", "process", "Buffer", "global", "setTimeout", "setInterval", "setImmediate",
  "clearTimeout", "clearInterval", "queueMicrotask", "TextEncoder", "TextDecoder", "atob", "btoa", "fetch",
  "console", "structuredClone", "performance", "URL", "crypto", "navigator", "self", "window", "importScripts",
]; // prettier-ignore

/** A member row as the warehouse holds it (what the SQL passes to the UDF). */
export interface BigQueryMemberRow {
  birth_date: number | null; // days since 1970-01-01 (a DATE)
  age?: number | null;
  sex?: string | null;
  orec?: string | null;
  crec?: string | null;
  dual_elgbl_cd?: string | null;
  medicaid?: boolean | null;
  lti?: boolean | null;
  new_enrollee?: boolean | null;
  snp?: boolean | null;
  low_income?: boolean | null;
  pace?: boolean | null;
  esrd_status?: string | null;
  graft_months?: number | null;
  rx_plan?: string | null;
  diagnosis_codes?: readonly string[] | null;
}

export interface UdfSandbox {
  /** Call the function for one row, arguments encoded per BigQuery's JavaScript type mapping. */
  call(row: BigQueryMemberRow): unknown;
  /** Host APIs the bundle touched (only with `trapHostApis`). */
  touched: string[];
  context: Context;
}

// Runs inside the context: BigQuery hands DATE as a Date (UTC midnight), FLOAT64 as a Number,
// BOOL as a Boolean, STRING as a String, ARRAY as an Array and STRUCT as an Object.
const ENCODE_ROW = `(function (r) {
  var codes = r.diagnosis_codes;
  var list = [];
  if (codes) for (var i = 0; i < codes.length; i++) list.push(String(codes[i]));
  var v = function (x) { return x === undefined ? null : x; };
  return {
    birth_date: r.birth_date === null || r.birth_date === undefined ? null : new Date(r.birth_date * 86400000),
    age: v(r.age), sex: v(r.sex), orec: v(r.orec), crec: v(r.crec), dual_elgbl_cd: v(r.dual_elgbl_cd),
    medicaid: v(r.medicaid), lti: v(r.lti), new_enrollee: v(r.new_enrollee), snp: v(r.snp),
    low_income: v(r.low_income), pace: v(r.pace), esrd_status: v(r.esrd_status),
    graft_months: v(r.graft_months), rx_plan: v(r.rx_plan), diagnosis_codes: list
  };
})`;

/** Evaluate the bundle's libraries and inline body (`init` mode) in a fresh context. */
export function createUdfSandbox(b: UdfBundle, init: UdfInit, opts: { trapHostApis?: boolean } = {}): UdfSandbox {
  const context = createContext({});
  const strip = runInContext(
    `(function (keep) { for (const k of Object.getOwnPropertyNames(globalThis)) if (!keep.includes(k)) delete globalThis[k]; })`,
    context,
  ) as (keep: string[]) => void;
  strip(ECMASCRIPT_GLOBALS);
  const touched: string[] = [];
  if (opts.trapHostApis === true) {
    const g = runInContext("globalThis", context) as Record<string, unknown>;
    for (const name of HOST_APIS) {
      Object.defineProperty(g, name, {
        configurable: true,
        get() {
          touched.push(name);
          return undefined;
        },
      });
    }
  }
  for (const f of b.files) new Script(f.text, { filename: f.name }).runInContext(context);
  const fn = runInContext(`(function (member) {\n${b.inline[init]}\n})`, context, {
    filename: `${b.functionName}.inline.js`,
  }) as (m: unknown) => unknown;
  const encode = runInContext(ENCODE_ROW, context) as (r: BigQueryMemberRow) => unknown;
  return { call: (row) => fn(encode(row)), touched, context };
}
