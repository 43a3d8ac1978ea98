import "server-only";

import { headers } from "next/headers";

import { createBackendClient, type BackendClient } from "../backend-client";
import { addressFromForwardedFor } from "../client-address";
import { retryLogLine } from "../retry-log";

const DEFAULT_BACKEND_URL = "http://127.0.0.1:8000";
const DEFAULT_TIMEOUT_MS = 5000;

// Whether a backend call of this process went unanswered (refused, 5xx, timed out) since the
// backend last answered the proxy's check. On globalThis: the proxy is bundled apart from the
// pages and route handlers that call the backend, but runs in the same process.
const AWAY = Symbol.for("todo-frontend.backend-away");
const shared = globalThis as { [AWAY]?: boolean };

/** Whether the backend may be away: a call failed for want of an answer since it last answered. */
export function backendMayBeAway(): boolean {
  return shared[AWAY] === true;
}

function timeoutFromEnv(): number {
  const value = Number(process.env.BACKEND_TIMEOUT_MS);
  return Number.isFinite(value) && value > 0 ? value : DEFAULT_TIMEOUT_MS;
}

/**
 * The address of the person making the current request, for the backend's per-address login
 * limits, or null when FORWARDED_ADDRESS_SECRET (shared with the backend) is not set.
 */
export async function personAddress(): Promise<string | null> {
  if (!process.env.FORWARDED_ADDRESS_SECRET) return null;
  return addressFromForwardedFor((await headers()).get("x-forwarded-for"));
}

/**
 * A client for the backend named by BACKEND_URL. The variable is read on each
 * request, not at build time, so one image serves every environment. With `clientAddress`
 * (from personAddress()) the client tells the backend whom it speaks for.
 */
export function backend({ maxTimeoutMs, clientAddress }: { maxTimeoutMs?: number; clientAddress?: string | null } = {}): BackendClient {
  const secret = process.env.FORWARDED_ADDRESS_SECRET;
  return createBackendClient({
    baseUrl: process.env.BACKEND_URL ?? DEFAULT_BACKEND_URL,
    timeoutMs: Math.min(timeoutFromEnv(), maxTimeoutMs ?? Number.POSITIVE_INFINITY),
    forwardedFor: secret && clientAddress ? { address: clientAddress, secret } : undefined,
    onFailure: (failure, request) => {
      // Expected outcomes (wrong password, expired session, duplicate email) are not logged.
      if (failure.kind === "unavailable" || failure.kind === "timeout" || failure.kind === "unexpected") {
        console.error(`backend ${request} failed: ${JSON.stringify(failure)}`);
      }
      if (failure.kind === "unavailable" || failure.kind === "timeout") shared[AWAY] = true;
    },
    // Not an error for the user, but a request that needed a second try: counted by whoever
    // measures dropped connections (the end-to-end rollout checks do).
    onRetry: (request) => {
      console.warn(retryLogLine(request));
    },
  });
}

// The list page's status check: short, so an outage costs the page little more than it would.
const PROBE_TIMEOUT_MS = 1000;

/** Whether the backend answers its liveness check now. */
export async function backendAnswers(): Promise<boolean> {
  const answers = (await backend({ maxTimeoutMs: PROBE_TIMEOUT_MS }).health()).ok;
  if (answers) shared[AWAY] = false;
  return answers;
}
