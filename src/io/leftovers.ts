// Working files of a run are named with the process id (`<prefix>.<pid>.<suffix>`), so the next
// run can tell a dead run's leftovers from a live concurrent run's and remove them.
import { readdirSync, rmSync } from "node:fs";
import { join } from "node:path";

function alive(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM"; // exists, not ours
  }
}

/** The name of this process's working entry: `<prefix>.<pid>.<suffix>`. */
export function workName(prefix: string, suffix: string): string {
  return `${prefix}.${process.pid}.${suffix}`;
}

/** Removes entries `<prefix>.<pid>.*` in dir whose process is gone; returns how many. */
export function sweepLeftovers(dir: string, prefix: string): number {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return 0;
  }
  let n = 0;
  for (const name of names) {
    if (!name.startsWith(prefix + ".")) continue;
    const pid = Number(name.slice(prefix.length + 1).split(".")[0]);
    if (!Number.isInteger(pid) || pid <= 0 || alive(pid)) continue;
    rmSync(join(dir, name), { recursive: true, force: true });
    n++;
  }
  return n;
}
