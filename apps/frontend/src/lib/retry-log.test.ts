import { describe, expect, it } from "vitest";

import { RETRY_LOG_LINE, retryLogLine } from "./retry-log";

describe("the retry log line the end-to-end rollout checks count", () => {
  it("is matched by its pattern, for any read", () => {
    for (const request of ["GET /health", "GET /todos?limit=50&cursor=abc", "GET /auth/me"]) {
      expect(`2026-12-01T22:00:00Z ${retryLogLine(request)}`).toMatch(RETRY_LOG_LINE);
    }
  });

  it("is not confused with the failure lines", () => {
    expect('backend GET /todos failed: {"kind":"unavailable"}').not.toMatch(RETRY_LOG_LINE);
  });
});
