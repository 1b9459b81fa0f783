// Terminal progress for long runs: a bar with members/s and ETA on a TTY (none when not a TTY or
// with --quiet). Prints counts only — never member ids or diagnosis codes.
import type { ScoreProgress } from "../pipeline/score-run.js";

export class ProgressBar {
  private last = 0;
  private readonly enabled: boolean;
  constructor(
    private readonly total: number | null,
    quiet: boolean,
    private readonly out: NodeJS.WriteStream = process.stderr,
  ) {
    this.enabled = !quiet && out.isTTY === true;
  }

  update(p: ScoreProgress): void {
    if (!this.enabled) return;
    const now = performance.now();
    if (now - this.last < 200) return;
    this.last = now;
    const rate = p.membersScored / Math.max(p.elapsedMs / 1000, 1e-3);
    const width = 30;
    let bar = "";
    let eta = "";
    if (this.total && this.total > 0) {
      const frac = Math.min(1, p.membersScored / this.total);
      const filled = Math.round(frac * width);
      bar = `[${"#".repeat(filled)}${"-".repeat(width - filled)}] ${(frac * 100).toFixed(1).padStart(5)}% `;
      eta = ` ETA ${formatSeconds((this.total - p.membersScored) / Math.max(rate, 1))}`;
    }
    this.out.write(
      `\r${bar}${p.membersScored.toLocaleString("en-US")} members, ${Math.round(rate).toLocaleString("en-US")}/s${eta}   `,
    );
  }

  done(): void {
    if (this.enabled) this.out.write("\r\x1b[K");
  }
}

export function formatSeconds(s: number): string {
  if (!Number.isFinite(s)) return "?";
  const whole = Math.max(0, Math.ceil(s)); // round up first: 119.2 s is 2m00s, not 1m60s
  if (whole < 60) return `${whole}s`;
  const m = Math.floor(whole / 60);
  return `${m}m${String(whole - m * 60).padStart(2, "0")}s`;
}
