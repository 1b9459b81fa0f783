// The terminal progress bar of `hcc score`: drawn only on a TTY and without --quiet, throttled to
// five updates a second, counts only (never member ids or codes), cleared when done.
import { afterEach, describe, expect, it, vi } from "vitest";
import { formatSeconds, ProgressBar } from "../../src/cli/progress.js";

/** A stand-in for process.stderr that records what is written. */
function fakeStream(isTTY: boolean): { stream: NodeJS.WriteStream; written: string[] } {
  const written: string[] = [];
  const stream = { isTTY, write: (s: string) => (written.push(s), true) } as unknown as NodeJS.WriteStream;
  return { stream, written };
}

let now = 0;
afterEach(() => {
  vi.restoreAllMocks();
});
function mockClock(): void {
  now = 1_000;
  vi.spyOn(performance, "now").mockImplementation(() => now);
}

describe("ProgressBar", () => {
  it("draws a bar with percent, members, rate and ETA when the total is known", () => {
    mockClock();
    const { stream, written } = fakeStream(true);
    const bar = new ProgressBar(1000, false, stream);
    bar.update({ membersRead: 300, membersScored: 250, elapsedMs: 5000 });
    expect(written).toHaveLength(1);
    const line = written[0] ?? "";
    expect(line.startsWith("\r[")).toBe(true);
    // 25% of 30 cells, 250 members in 5 s = 50/s, 750 left at 50/s = 15 s
    expect(line).toContain(`[${"#".repeat(8)}${"-".repeat(22)}]  25.0% `);
    expect(line).toContain("250 members, 50/s ETA 15s");
  });

  it("without a total shows the count and rate only, with thousands separators", () => {
    mockClock();
    const { stream, written } = fakeStream(true);
    new ProgressBar(null, false, stream).update({ membersRead: 0, membersScored: 1_234_567, elapsedMs: 1000 });
    expect(written[0]).toBe("\r1,234,567 members, 1,234,567/s   ");
  });

  it("caps the bar at 100% when more members are scored than announced", () => {
    mockClock();
    const { stream, written } = fakeStream(true);
    new ProgressBar(10, false, stream).update({ membersRead: 12, membersScored: 12, elapsedMs: 1000 });
    expect(written[0]).toContain(`[${"#".repeat(30)}] 100.0% `);
  });

  it("updates at most every 200 ms", () => {
    mockClock();
    const { stream, written } = fakeStream(true);
    const bar = new ProgressBar(100, false, stream);
    now = 1_000;
    bar.update({ membersRead: 1, membersScored: 1, elapsedMs: 1 });
    now = 1_150;
    bar.update({ membersRead: 2, membersScored: 2, elapsedMs: 150 });
    now = 1_201;
    bar.update({ membersRead: 3, membersScored: 3, elapsedMs: 201 });
    expect(written).toHaveLength(2);
    expect(written[1]).toContain("3 members");
  });

  it("writes nothing with --quiet or when stderr is not a terminal, and done() clears only a drawn bar", () => {
    mockClock();
    for (const [tty, quiet] of [
      [false, false],
      [true, true],
    ] as const) {
      const { stream, written } = fakeStream(tty);
      const bar = new ProgressBar(100, quiet, stream);
      bar.update({ membersRead: 50, membersScored: 50, elapsedMs: 1000 });
      bar.done();
      expect(written).toEqual([]);
    }
    const { stream, written } = fakeStream(true);
    new ProgressBar(100, false, stream).done();
    expect(written).toEqual(["\r\x1b[K"]);
  });
});

describe("formatSeconds", () => {
  it.each([
    [0, "0s"],
    [0.2, "1s"],
    [59, "59s"],
    [60, "1m00s"],
    [65, "1m05s"],
    [3599, "59m59s"],
    [3600, "60m00s"],
  ])("%s s → %s", (s, text) => {
    expect(formatSeconds(s)).toBe(text);
  });

  it("rounds up into the next minute instead of printing 60 seconds", () => {
    expect(formatSeconds(59.5)).toBe("1m00s");
    expect(formatSeconds(119.2)).toBe("2m00s");
  });

  it("never counts below zero (more members scored than announced)", () => {
    expect(formatSeconds(-3)).toBe("0s");
  });

  it("prints ? for an unknown rate", () => {
    expect(formatSeconds(Infinity)).toBe("?");
    expect(formatSeconds(NaN)).toBe("?");
  });
});
