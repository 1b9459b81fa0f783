#!/usr/bin/env node
import { main } from "../dist/cli/main.js";

// `hcc models | head` closes the pipe early: that is not an error.
process.stdout.on("error", (e) => {
  if (e.code === "EPIPE") process.exit(0);
  throw e;
});
await main(process.argv);
