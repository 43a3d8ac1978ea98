import { describe, expect, it } from "vitest";

import { complementOf, countsFrom, summaryOf } from "./counts";

describe("countsFrom", () => {
  // Five todos: three open, two done, seen from each filter.
  it.each([
    ["all", 5, 3],
    ["open", 3, 2],
    ["done", 2, 3],
  ] as const)("derives every count when showing %s", (filter, shown, complement) => {
    expect(complementOf(filter)).toBe(filter === "open" ? "done" : "open");
    expect(countsFrom(filter, shown, complement)).toEqual({ all: 5, open: 3, done: 2 });
  });

  it("never reports negative counts when totals race", () => {
    expect(countsFrom("all", 2, 3).done).toBe(0);
  });
});

describe("summaryOf", () => {
  it("describes an empty, a finished and a busy list", () => {
    expect(summaryOf({ all: 0, open: 0, done: 0 })).toBe("Nothing to do yet");
    expect(summaryOf({ all: 4, open: 0, done: 4 })).toBe("All 4 done");
    expect(summaryOf({ all: 4, open: 1, done: 3 })).toBe("1 open · 3 done");
  });
});
