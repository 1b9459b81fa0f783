// Bundle src/udf/runtime.ts (and the engine modules it imports) into one script for BigQuery
// JavaScript UDF libraries: an IIFE defining `__hccUdfRuntime`, no imports, ES2020. `hcc udf
// build` wraps it with the payment year's config (src/udf/bundle.ts). Run by `npm run build`.
import { build } from "esbuild";
import { mkdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const outfile = join(root, "dist", "udf", "runtime.bundle.js");
mkdirSync(dirname(outfile), { recursive: true });
const r = await build({
  entryPoints: [join(root, "src", "udf", "runtime.ts")],
  bundle: true,
  format: "iife",
  globalName: "__hccUdfRuntime",
  platform: "neutral",
  target: "es2020",
  minifySyntax: true,
  minifyWhitespace: true,
  legalComments: "none",
  outfile,
  metafile: true,
  logLevel: "warning",
});
const inputs = Object.keys(r.metafile.inputs).filter((f) => !f.startsWith("src/"));
if (inputs.length > 0) throw new Error(`UDF runtime must only bundle project sources; got ${inputs.join(", ")}`);
