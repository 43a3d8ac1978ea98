import "server-only";

import { headers } from "next/headers";

import { createBackendClient, type BackendClient } from "../backend-client";
import { addressFromForwardedFor } from "../client-address";
import { reportRetries } from "../retry-log";

const DEFAULT_BACKEND_URL = "http://127.0.0.1:8000";
const DEFAULT_TIMEOUT_MS = 5000;
// Long enough to ride out a backend pod replaced, or the database restarting and the backend's
// pods rejoining the Service after it (their readiness probes must pass again first).
const DEFAULT_RETRY_BUDGET_MS = 15_000;

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

/** BACKEND_RETRY_BUDGET_MS: 0 sends every call once; unset or not a number, the default. */
function retryBudgetFromEnv(): number {
  const raw = process.env.BACKEND_RETRY_BUDGET_MS ?? "";
  const value = Number(raw);
  return raw.trim() !== "" && Number.isFinite(value) && value >= 0 ? value : DEFAULT_RETRY_BUDGET_MS;
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
 * A client for the backend named by BACKEND_URL. The variables are read on each
 * request, not at build time, so one image serves every environment. With `clientAddress`
 * (from personAddress()) the client tells the backend whom it speaks for. A probe
 * (`probeDeadlineMs`) sends its one call once, within that deadline: it must answer quickly,
 * and says how the backend is now, not after an outage.
 */
export function backend({
  probeDeadlineMs,
  clientAddress,
}: { probeDeadlineMs?: number; clientAddress?: string | null } = {}): BackendClient {
  const secret = process.env.FORWARDED_ADDRESS_SECRET;
  return createBackendClient({
    baseUrl: process.env.BACKEND_URL ?? DEFAULT_BACKEND_URL,
    timeoutMs: Math.min(timeoutFromEnv(), probeDeadlineMs ?? Number.POSITIVE_INFINITY),
    retryBudgetMs: probeDeadlineMs === undefined ? retryBudgetFromEnv() : 0,
    forwardedFor: secret && clientAddress ? { address: clientAddress, secret } : undefined,
    onFailure: (failure, request) => {
      // Expected outcomes (wrong password, expired session, duplicate email) are not logged.
      if (failure.kind === "unavailable" || failure.kind === "timeout" || failure.kind === "unexpected") {
        console.error(`backend ${request} failed: ${JSON.stringify(failure)}`);
      }
      if (failure.kind === "unavailable" || failure.kind === "timeout") shared[AWAY] = true;
    },
    // A call sent more than once: logged once and counted, whether it got its answer or not.
    onRetries: reportRetries,
  });
}

// The list page's status check: short, so an outage costs the page little more than it would.
const PROBE_TIMEOUT_MS = 1000;

/** Whether the backend answers its liveness check now. */
export async function backendAnswers(): Promise<boolean> {
  const answers = (await backend({ probeDeadlineMs: PROBE_TIMEOUT_MS }).health()).ok;
  if (answers) shared[AWAY] = false;
  return answers;
}
