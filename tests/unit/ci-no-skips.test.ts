// In CI a missing prerequisite (venv with the hccinfhir oracle and dbt, ../shared/cms-reference)
// must fail the run, never skip it. Proven end to end: a child vitest with the project's own
// config (so with its reporters) runs fixtures from tests/support/fixtures/skip-guard with and
// without CI=true.
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { isCI } from "../support/ci.js";

const root = fileURLToPath(new URL("../..", import.meta.url));
const fixtureConfig = fileURLToPath(new URL("../support/fixtures/skip-guard/vitest.config.ts", import.meta.url));
const vitestBin = fileURLToPath(new URL("../../node_modules/vitest/vitest.mjs", import.meta.url));

describe("isCI", () => {
  it.each([
    [undefined, false],
    ["", false],
    ["0", false],
    ["false", false],
    ["FALSE", false],
    ["true", true],
    ["1", true],
    ["yes", true],
  ])("CI=%s → %s", (value, expected) => {
    expect(isCI(value === undefined ? {} : { CI: value })).toBe(expected);
  });
});

/** Runs one fixture in a child vitest with the project's config; CI=true or no CI at all. */
function runFixture(file: string, ci: boolean): Promise<{ code: number | null; out: string }> {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith("VITEST") && k !== "CI") env[k] = v;
  if (ci) env["CI"] = "true";
  env["NO_COLOR"] = "1";
  delete env["FORCE_COLOR"];
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [vitestBin, "run", "--config", fixtureConfig, file], {
      cwd: root,
      env,
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    child.stdout.on("data", (d: Buffer) => (out += d.toString()));
    child.stderr.on("data", (d: Buffer) => (out += d.toString()));
    child.on("error", reject);
    // eslint-disable-next-line no-control-regex
    child.on("close", (code) => resolve({ code, out: out.replace(/\x1b\[[0-9;]*m/g, "") }));
  });
}

describe("a CI run never passes with skipped tests (child vitest, project config)", () => {
  it("a missing venv: skipped and green on a developer machine; run and red in CI", async () => {
    const [dev, ci] = await Promise.all([
      runFixture("missing-venv.fixture.ts", false),
      runFixture("missing-venv.fixture.ts", true),
    ]);
    expect(dev.code, dev.out).toBe(0);
    expect(dev.out).toMatch(/Tests {2}1 skipped \(1\)/);
    expect(dev.out).toContain("fixture oracle skipped: /nonexistent/hcc-wasm-fixture/.venv/bin/python not found");
    expect(ci.code, ci.out).toBe(1);
    expect(ci.out).toMatch(/Tests {2}1 failed \(1\)/);
    expect(ci.out).toContain("runs the oracle");
  });

  it("any skipped test: green on a developer machine; red in CI, naming the test", async () => {
    const [dev, ci] = await Promise.all([
      runFixture("explicit-skip.fixture.ts", false),
      runFixture("explicit-skip.fixture.ts", true),
    ]);
    expect(dev.code, dev.out).toBe(0);
    expect(dev.out).toMatch(/Tests {2}1 passed \| 1 skipped \(2\)/);
    expect(dev.out).not.toContain("no-skips-in-ci");
    expect(ci.code, ci.out).toBe(1);
    expect(ci.out).toMatch(/Tests {2}1 passed \| 1 skipped \(2\)/);
    expect(ci.out).toContain("no-skips-in-ci: 1 test(s) skipped in CI");
    expect(ci.out).toContain("tests/support/fixtures/skip-guard/explicit-skip.fixture.ts: is skipped (skip)");
  });

  it("a run filtered by test name (-t) is a deliberate subset and is not checked", async () => {
    const env: NodeJS.ProcessEnv = { ...process.env, CI: "true", NO_COLOR: "1" };
    for (const k of Object.keys(env)) if (k.startsWith("VITEST")) delete env[k];
    const code = await new Promise<number | null>((resolve, reject) => {
      const child = spawn(
        process.execPath,
        [vitestBin, "run", "--config", fixtureConfig, "-t", "^runs$", "explicit-skip.fixture.ts"],
        { cwd: root, env, stdio: "ignore" },
      );
      child.on("error", reject);
      child.on("close", resolve);
    });
    expect(code).toBe(0);
  });
});
