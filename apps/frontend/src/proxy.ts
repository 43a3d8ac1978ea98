import { NextResponse, type NextRequest } from "next/server";

import { refusalOf, requestIdOf } from "@/lib/action-guard";
import { backendAnswers, backendMayBeAway } from "@/lib/server/backend";
import { SESSION_COOKIE } from "@/lib/server/session";
import {
  cacheControlFor,
  cameOverHttps,
  contentSecurityPolicy,
  newNonce,
  STRICT_TRANSPORT_SECURITY,
} from "@/lib/response-headers";

/**
 * Per-request work before Next.js answers: refused server actions (403, 413, see
 * action-guard.ts), the list's 503 while the backend is away, and the headers of every page
 * answer. Next.js reads the nonce from the request's Content-Security-Policy header (its
 * documented contract) and puts it on every script it renders.
 */
export async function proxy(request: NextRequest): Promise<NextResponse> {
  const refusal = refusalOf({
    method: request.method,
    actionId: request.headers.get("next-action"),
    origin: request.headers.get("origin"),
    host: request.headers.get("host"),
    contentLength: request.headers.get("content-length"),
  });
  if (refusal !== null) {
    const requestId = requestIdOf(request.headers.get("x-request-id"));
    console.warn(
      `server action refused with ${refusal.status}: ${refusal.reason} (request id ${requestId}, ${request.nextUrl.pathname})`,
    );
    return new NextResponse(null, { status: refusal.status, headers: { "X-Request-ID": requestId } });
  }

  const https = cameOverHttps(request.headers.get("x-forwarded-proto"));
  const policy = contentSecurityPolicy({
    nonce: newNonce(),
    https,
    development: process.env.NODE_ENV === "development",
  });
  const requestHeaders = new Headers(request.headers);
  requestHeaders.set("Content-Security-Policy", policy);
  // Next.js checks an action's Origin against X-Forwarded-Host when there is one; the host the
  // origin was checked against above is the one it must see.
  requestHeaders.delete("x-forwarded-host");

  // The list shows its own "can't be loaded" state when the backend is away; the document's
  // status says so too (503), for monitors, load balancers and logs. Asked before rendering
  // (once the page streams, its status is sent), only for a signed-in list document: the
  // in-page refreshes (RSC requests) stay 200, or the client router would reload the page.
  // And only while a backend call of this process has gone unanswered since the backend last
  // answered this check: a list page served while all is well costs one backend call, its own
  // (the first page after the backend goes away shows the outage with a 200).
  const backendAway =
    request.method === "GET" &&
    request.nextUrl.pathname === "/todos" &&
    request.headers.get("rsc") === null &&
    request.cookies.has(SESSION_COOKIE) &&
    backendMayBeAway() &&
    !(await backendAnswers());
  const response = NextResponse.next({ status: backendAway ? 503 : 200, request: { headers: requestHeaders } });
  response.headers.set("Content-Security-Policy", policy);
  response.headers.set("Cache-Control", cacheControlFor(request.nextUrl.pathname));
  if (https) response.headers.set("Strict-Transport-Security", STRICT_TRANSPORT_SECURITY);
  return response;
}

export const config = {
  // Pages and server actions; not the hashed static files, which Next.js serves as immutable,
  // nor the probes, which answer kubelet and carry no page.
  matcher: ["/((?!_next/static|_next/image|api/|favicon.ico|icon.svg|robots.txt).*)"],
};
