import { describe, expect, it } from "vitest";

import { summaryOf } from "./counts";

describe("summaryOf", () => {
  it("describes an empty, a finished and a busy list", () => {
    expect(summaryOf({ all: 0, open: 0, done: 0 })).toBe("Nothing to do yet");
    expect(summaryOf({ all: 4, open: 0, done: 4 })).toBe("All 4 done");
    expect(summaryOf({ all: 4, open: 1, done: 3 })).toBe("1 open · 3 done");
  });
});
