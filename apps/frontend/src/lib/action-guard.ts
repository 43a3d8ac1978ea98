// Server actions that Next.js would refuse with a 500 and an error log line (a foreign Origin,
// a body over its limit) are refused here first, as what they are: 403 and 413, logged as a
// warning. Either can be sent by anyone, so neither may fill the error logs and alerts.

/** Next.js's own limit for a server action's body, set explicitly in next.config.ts. */
export const ACTION_BODY_LIMIT_BYTES = 1024 * 1024;

export type ActionRequest = {
  method: string;
  /** Next-Action: present on every server action call. */
  actionId: string | null;
  origin: string | null;
  /**
   * The Host header. X-Forwarded-Host is not trusted for this: the ingress keeps the
   * browser's Host (see the chart README), while a client reaching the app directly could
   * send any X-Forwarded-Host it likes.
   */
  host: string | null;
  contentLength: string | null;
};

export type Refusal = { status: 403 | 413; reason: string };

function originHost(origin: string): string | null {
  try {
    return new URL(origin).host;
  } catch {
    return null;
  }
}

/** Why the action must not run, or null when it may. */
export function refusalOf(request: ActionRequest): Refusal | null {
  if (request.method !== "POST" || request.actionId === null) return null;
  // Browsers send Origin with every POST; a request without one carries no one's cookies
  // unknowingly, and Next.js lets it through as well.
  if (request.origin !== null && (request.host === null || originHost(request.origin) !== request.host)) {
    return { status: 403, reason: "origin does not match host" };
  }
  const length = Number(request.contentLength ?? "0");
  if (!Number.isFinite(length) || length > ACTION_BODY_LIMIT_BYTES) {
    return { status: 413, reason: `body over ${ACTION_BODY_LIMIT_BYTES} bytes` };
  }
  return null;
}

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** The caller's X-Request-ID when it is a plain token, else a new one. */
export function requestIdOf(header: string | null): string {
  return header !== null && REQUEST_ID.test(header) ? header : crypto.randomUUID();
}
