// Bundle the scoring worker (src/workers/score-worker.ts and everything it imports, apache-arrow
// included) into dist/score-worker/: one entry module and a few chunks instead of ≈ 180 modules.
// Each worker thread loads its code at the start of every run, on the critical path: the module
// graph took ≈ 90 ms to load per thread, the bundle ≈ 25 ms (bench/README.md#file-session-16).
// The modules the worker imports lazily (the Parquet writer and reader) stay lazy: code splitting
// puts them in chunks of their own, and parquet-wasm and piscina stay external (loaded from
// node_modules, piscina's being the instance its worker runner uses). The directory sits two
// levels under the project root, as dist/io/ does, so paths made from import.meta.url
// (build/parquet.wasm) resolve the same. protocol.ts picks the bundle when it exists and is not
// older than the module files (tsc run alone after a build leaves an older one, of the previous
// code); HCC_WORKER_BUNDLE=off runs the module files instead (scripts/coverage.mjs does, to map
// coverage through tsc's per-file source maps). Run by `npm run build`, after tsc.
import { build } from "esbuild";
import { rmSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const outdir = join(root, "dist", "score-worker");
rmSync(outdir, { recursive: true, force: true });
const r = await build({
  entryPoints: [join(root, "src", "workers", "score-worker.ts")],
  bundle: true,
  splitting: true,
  format: "esm",
  platform: "node",
  target: "node20",
  external: ["piscina", "parquet-wasm"],
  sourcemap: "linked",
  outdir,
  metafile: true,
  logLevel: "warning",
});
// the worker must not pull in main-thread-only dependencies (a warehouse client, the CLI)
const unexpected = Object.keys(r.metafile.inputs).filter((f) => /node_modules\/(@duckdb|@google-cloud|commander)\//.test(f));
if (unexpected.length > 0) throw new Error(`score worker bundle: unexpected inputs ${unexpected.join(", ")}`);
