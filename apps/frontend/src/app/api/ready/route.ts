import { backend } from "@/lib/server/backend";

// Readiness: only take traffic while the backend answers its liveness check.
export const dynamic = "force-dynamic";

// Probes have short deadlines of their own; answer well within them: one attempt, no retries.
const READY_TIMEOUT_MS = 2000;

export async function GET(): Promise<Response> {
  const health = await backend({ probeDeadlineMs: READY_TIMEOUT_MS }).health();
  const headers = { "cache-control": "no-store" };
  return health.ok
    ? Response.json({ status: "ready" }, { headers })
    : Response.json({ status: "backend unavailable" }, { status: 503, headers });
}
