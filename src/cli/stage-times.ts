// Per-stage wall-clock times of `hcc nightly` (docs/pipeline.md "The nightly job"): each stage is timed
// around its call, and `dbt build` is split by what dbt itself recorded in target/run_results.json.
// With more than one dbt thread, seeds, models and tests overlap in time, so their rows are the
// wall time during which at least one node of that kind ran ("busy") and the sum of their nodes'
// execution times; they do not add up to the build. Names only stages and dbt nodes — never member
// ids or diagnosis codes.
import { existsSync, readFileSync } from "node:fs";

export interface StageTime {
  stage: string;
  seconds: number;
  /** e.g. "skipped: seed files unchanged since the last seed" */
  note?: string;
}

/** One dbt node from run_results.json: what ran, how long, when. */
export interface DbtNodeTime {
  unique_id: string;
  resource_type: string;
  status: string;
  execution_time: number;
  thread_id: string | null;
  started_at: string | null;
  completed_at: string | null;
}

/** Nodes of one kind (seeds, models or tests) in a dbt invocation. */
export interface DbtPhaseTime {
  nodes: number;
  /** wall time during which at least one of these nodes ran */
  busy_seconds: number;
  /** sum of the nodes' execution_time (exceeds busy_seconds when threads overlap) */
  node_seconds: number;
}

export interface DbtBuildTimes {
  /** the dbt process, start-up and parsing included */
  process_seconds: number;
  /** dbt's own elapsed_time: from the start of the run to the last node */
  run_seconds: number | null;
  threads_used: number;
  phases: Record<"seeds" | "models" | "tests", DbtPhaseTime>;
  nodes: DbtNodeTime[];
}

interface RunResultsFile {
  metadata?: { invocation_started_at?: string; generated_at?: string };
  elapsed_time?: number;
  results?: {
    unique_id: string;
    status: string;
    execution_time: number;
    thread_id?: string;
    timing?: { name: string; started_at?: string; completed_at?: string }[];
  }[];
}

const PHASE_OF: Record<string, "seeds" | "models" | "tests"> = {
  seed: "seeds",
  model: "models",
  test: "tests",
  unit_test: "tests",
};

/** Runs `fn` and appends its wall time to `times` under `stage`, also when it throws. */
export async function timeStage<T>(times: StageTime[], stage: string, fn: () => Promise<T> | T): Promise<T> {
  const t0 = performance.now();
  try {
    return await fn();
  } finally {
    times.push({ stage, seconds: (performance.now() - t0) / 1000 });
  }
}

/** Wall time covered by the union of [start, end] intervals (ms). */
function unionMs(intervals: [number, number][]): number {
  const sorted = [...intervals].sort((a, b) => a[0] - b[0]);
  let total = 0;
  let end = -Infinity;
  for (const [s, e] of sorted) {
    if (s > end) {
      total += e - s;
      end = e;
    } else if (e > end) {
      total += e - end;
      end = e;
    }
  }
  return total;
}

/**
 * Summarizes dbt's run_results.json for one invocation. `startedAfter` (ms since epoch) guards
 * against a stale file from an earlier invocation (dbt writes none when it fails before running):
 * then null.
 */
export function readDbtRunResults(file: string, processSeconds: number, startedAfter: number): DbtBuildTimes | null {
  if (!existsSync(file)) return null;
  const r = JSON.parse(readFileSync(file, "utf8")) as RunResultsFile;
  const started = Date.parse(r.metadata?.invocation_started_at ?? r.metadata?.generated_at ?? "");
  // dbt's timestamps are whole microseconds; allow a second of clock granularity
  if (!(started >= startedAfter - 1000)) return null;
  return summarizeDbtRunResults(r, processSeconds);
}

export function summarizeDbtRunResults(r: RunResultsFile, processSeconds: number): DbtBuildTimes {
  const nodes: DbtNodeTime[] = (r.results ?? []).map((n) => {
    const first = n.timing?.find((t) => t.started_at)?.started_at ?? null;
    const last = [...(n.timing ?? [])].reverse().find((t) => t.completed_at)?.completed_at ?? null;
    return {
      unique_id: n.unique_id,
      resource_type: n.unique_id.split(".")[0] ?? "",
      status: n.status,
      execution_time: n.execution_time,
      thread_id: n.thread_id ?? null,
      started_at: first,
      completed_at: last,
    };
  });
  const phase = (name: "seeds" | "models" | "tests"): DbtPhaseTime => {
    const of = nodes.filter((n) => PHASE_OF[n.resource_type] === name);
    const intervals = of
      .filter((n) => n.started_at && n.completed_at)
      .map((n): [number, number] => [Date.parse(n.started_at ?? ""), Date.parse(n.completed_at ?? "")]);
    return {
      nodes: of.length,
      busy_seconds: unionMs(intervals) / 1000,
      node_seconds: of.reduce((s, n) => s + n.execution_time, 0),
    };
  };
  return {
    process_seconds: processSeconds,
    run_seconds: r.elapsed_time ?? null,
    threads_used: new Set(nodes.map((n) => n.thread_id).filter((t) => t !== null)).size,
    phases: { seeds: phase("seeds"), models: phase("models"), tests: phase("tests") },
    nodes,
  };
}

/** The table `hcc nightly` prints at the end. */
export function formatStageTable(stages: StageTime[], dbt: DbtBuildTimes | null): string {
  const s = (x: number): string => x.toFixed(1).padStart(7);
  const lines = ["nightly stage times (wall clock, s):"];
  for (const st of stages) {
    lines.push(`  ${st.stage.padEnd(24)}${s(st.seconds)}${st.note ? `  ${st.note}` : ""}`);
    if (st.stage === "dbt build" && dbt) {
      if (dbt.run_seconds !== null) lines.push(`    ${"start-up + parse".padEnd(22)}${s(dbt.process_seconds - dbt.run_seconds)}`);
      for (const name of ["seeds", "models", "tests"] as const) {
        const p = dbt.phases[name];
        lines.push(`    ${name.padEnd(22)}${s(p.busy_seconds)}  busy; ${p.nodes} nodes, ${p.node_seconds.toFixed(1)} s summed`);
      }
      if (dbt.threads_used > 1)
        lines.push(`    (${dbt.threads_used} dbt threads: seeds, models and tests overlap and do not add up to the build)`);
    }
  }
  return lines.join("\n") + "\n";
}
