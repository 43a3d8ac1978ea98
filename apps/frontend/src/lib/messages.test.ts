import { describe, expect, it } from "vitest";

import { outageOf, throttledMessage, todoFailureMessage } from "./messages";

describe("failure messages", () => {
  it("treats only unreachable and slow backends as outages", () => {
    expect(outageOf({ kind: "unavailable" })).toBe("unavailable");
    expect(outageOf({ kind: "timeout" })).toBe("timeout");
    expect(outageOf({ kind: "unauthorized" })).toBeNull();
    expect(outageOf({ kind: "unexpected", status: 418 })).toBeNull();
  });

  it("tells the person whether their change was saved, without server details", () => {
    expect(todoFailureMessage({ kind: "unavailable" })).toBe(
      "We can't reach the todo service right now. Your change was not saved; please try again.",
    );
    expect(todoFailureMessage({ kind: "timeout" })).toContain("taking too long");
    expect(todoFailureMessage({ kind: "not_found" })).toContain("no longer exists");
    expect(todoFailureMessage({ kind: "invalid", fieldErrors: {} })).toContain("did not accept");
    expect(todoFailureMessage({ kind: "unexpected", status: 418 })).not.toContain("418");
  });

  it("says when to try again after too many attempts", () => {
    expect(throttledMessage(30)).toBe("Too many attempts. Please wait a minute and try again.");
    expect(throttledMessage(240)).toBe("Too many attempts. Please wait 4 minutes and try again.");
    expect(throttledMessage(null)).toBe("Too many attempts. Please wait a while and try again.");
    expect(outageOf({ kind: "throttled", retryAfterSeconds: 30 })).toBeNull();
  });
});
