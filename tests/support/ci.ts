// Whether this run is CI. Suites that need something outside this repository's npm install (the
// venv's hccinfhir oracle and dbt from scripts/setup-python.sh, ../shared/cms-reference) skip
// themselves only outside CI: `describe.skipIf(!existsSync(x) && !process.env["CI"])`. In CI
// they run and fail on the missing file, and the no-skips-in-ci reporter (vitest.config.ts)
// fails a CI run in which any test was skipped at all.

/** CI=true (or any value but "", "0", "false"), as CI services and .ci/run set it. */
export function isCI(env: NodeJS.ProcessEnv = process.env): boolean {
  const v = env["CI"]?.trim().toLowerCase();
  return v !== undefined && v !== "" && v !== "0" && v !== "false";
}
