// The log line of a read the backend client had to send twice (its kept-alive connection
// dropped before any answer). The end-to-end rollout checks count these lines in the frontend
// pods' logs (e2e/support/rollout-checks.ts), so the line and its pattern live together.

export function retryLogLine(request: string): string {
  return `backend ${request} retried: the connection dropped before any answer`;
}

/** Matches a line retryLogLine wrote, wherever it sits in a log line. */
export const RETRY_LOG_LINE = /backend [A-Z]+ \S+ retried: the connection dropped/;
