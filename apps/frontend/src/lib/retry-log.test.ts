import diagnosticsChannel from "node:diagnostics_channel";

import { describe, expect, it, vi } from "vitest";

import type { RetryReport } from "./backend-client";
import { BACKEND_RETRY_CHANNEL, reportRetries, RETRY_LOG_LINE, retryLogLine } from "./retry-log";

const REPORT: RetryReport = {
  request: "POST /todos/{id}/complete",
  attempts: 3,
  waitedMs: 310,
  elapsedMs: 342,
  outcome: "recovered",
  problems: ["ECONNREFUSED", "503"],
  replayed: false,
};

describe("the log line of a retried backend call", () => {
  it("names the request, then gives the report as JSON", () => {
    expect(retryLogLine(REPORT)).toBe(
      "backend POST /todos/{id}/complete retried: " +
        '{"attempts":3,"waited_ms":310,"elapsed_ms":342,"outcome":"recovered","problems":["ECONNREFUSED","503"],' +
        '"replayed":false}',
    );
  });

  it("is matched by the pattern the end-to-end rollout checks count, for any request", () => {
    for (const request of ["GET /health", "GET /me/todos", "DELETE /todos/{id}"]) {
      expect(`2026-12-01T22:00:00Z ${retryLogLine({ ...REPORT, request })}`).toMatch(RETRY_LOG_LINE);
    }
  });

  it("is not confused with the failure lines", () => {
    expect('backend GET /todos failed: {"kind":"unavailable"}').not.toMatch(RETRY_LOG_LINE);
  });
});

describe("reporting a retried call", () => {
  it("logs one line and publishes the report for the metrics", () => {
    const warn = vi.spyOn(console, "warn").mockImplementation(() => undefined);
    const published: unknown[] = [];
    const listen = (message: unknown) => published.push(message);
    diagnosticsChannel.subscribe(BACKEND_RETRY_CHANNEL, listen);
    try {
      reportRetries(REPORT);
    } finally {
      diagnosticsChannel.unsubscribe(BACKEND_RETRY_CHANNEL, listen);
    }
    expect(warn.mock.calls).toEqual([[retryLogLine(REPORT)]]);
    expect(published).toEqual([REPORT]);
  });
});
