// Vitest reporter: in CI (ci.ts isCI) a run in which any test was skipped (skip,
// skipIf, todo, or a whole skipped suite) fails, listing them. A suite that skips itself when a
// prerequisite is missing must never turn a CI run green with fewer tests. Runs filtered by
// test name (-t) are deliberate subsets and are not checked.
import { relative } from "node:path";
import type { Reporter, TestModule, TestRunEndReason, Vitest } from "vitest/node";
import { isCI } from "./ci.js";

export class NoSkipsInCiReporter implements Reporter {
  private filtered = false;

  onInit(vitest: Vitest): void {
    this.filtered = Boolean(vitest.config.testNamePattern);
  }

  onTestRunEnd(testModules: ReadonlyArray<TestModule>, _errors: unknown, reason: TestRunEndReason): void {
    if (!isCI() || this.filtered || reason === "interrupted") return;
    const skipped: string[] = [];
    for (const m of testModules) {
      for (const t of m.children.allTests("skipped"))
        skipped.push(`${relative(process.cwd(), m.moduleId)}: ${t.fullName} (${t.options.mode})`);
    }
    if (skipped.length === 0) return;
    console.error(`\nno-skips-in-ci: ${skipped.length} test(s) skipped in CI; a missing prerequisite must fail, not skip:`);
    for (const s of skipped.slice(0, 50)) console.error(`  ${s}`);
    if (skipped.length > 50) console.error(`  … and ${skipped.length - 50} more`);
    process.exitCode = 1;
  }
}
