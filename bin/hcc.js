#!/usr/bin/env -S node --single-threaded-gc
// --single-threaded-gc: the scoring pool keeps every core busy with worker threads, and V8's
// parallel and concurrent GC helpers would take turns on the same cores (measured in
// bench/README.md: 10-20% faster runs). `node bin/hcc.js` without the flag works the same.
import { main } from "../dist/cli/main.js";

// `hcc models | head` closes the pipe early: that is not an error.
process.stdout.on("error", (e) => {
  if (e.code === "EPIPE") process.exit(0);
  throw e;
});
await main(process.argv);
