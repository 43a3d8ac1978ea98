// How a backend call the client sent more than once is reported: once per call, when it ends,
// whatever the number of attempts. One log line (the end-to-end rollout checks count these lines
// in the frontend pods' logs, e2e/support/rollout-checks.ts, so the line and its pattern live
// together), and one message on a diagnostics channel, which the metrics count
// (request-metrics.ts): the channel reaches the metrics registry, which instrumentation.ts loads
// in a bundle of its own, in the same process.

import diagnosticsChannel from "node:diagnostics_channel";

import type { RetryReport } from "./backend-client";

/** The channel a retried call's report is published on. */
export const BACKEND_RETRY_CHANNEL = "todo-frontend.backend-retries";

/**
 * The log line of a retried call: the request, then its report as JSON, e.g.
 * `backend POST /todos retried: {"attempts":3,"waited_ms":310,"elapsed_ms":342,"outcome":"recovered",...}`.
 */
export function retryLogLine(report: RetryReport): string {
  const { request, attempts, waitedMs, elapsedMs, outcome, problems, replayed } = report;
  const fields = { attempts, waited_ms: waitedMs, elapsed_ms: elapsedMs, outcome, problems, replayed };
  return `backend ${request} retried: ${JSON.stringify(fields)}`;
}

/** Matches a line retryLogLine wrote, wherever it sits in a log line. */
export const RETRY_LOG_LINE = /backend [A-Z]+ \S+ retried: \{/;

/** Logs a retried call once and publishes it for the metrics. */
export function reportRetries(report: RetryReport): void {
  console.warn(retryLogLine(report));
  diagnosticsChannel.channel(BACKEND_RETRY_CHANNEL).publish(report);
}
