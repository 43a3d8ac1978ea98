// Every response header the app sets on purpose, in one place: the security headers, the
// Content-Security-Policy with its per-request nonce, HSTS, and the caching of each page.
// next.config.ts applies the constant ones to every path; src/proxy.ts applies the rest to
// every page answer.

export type Header = { key: string; value: string };

/** Headers that do not depend on the request: on every answer, static files included. */
export const CONSTANT_SECURITY_HEADERS: readonly Header[] = [
  { key: "X-Content-Type-Options", value: "nosniff" },
  // The app links nowhere else, so no other site needs to know where a visitor came from.
  { key: "Referrer-Policy", value: "same-origin" },
  // Older browsers that do not read frame-ancestors.
  { key: "X-Frame-Options", value: "DENY" },
  // A window we open (or that opens us) from another site gets no handle on this one.
  { key: "Cross-Origin-Opener-Policy", value: "same-origin" },
  {
    key: "Permissions-Policy",
    value: "camera=(), microphone=(), geolocation=(), payment=(), usb=(), browsing-topics=()",
  },
];

/**
 * HSTS, sent only on answers that went out over https: over plain http a browser ignores it,
 * and a local http run must not be pinned to https. No includeSubDomains: the app does not
 * own its parent domain's other hosts.
 */
export const STRICT_TRANSPORT_SECURITY = "max-age=63072000";

/**
 * Pages anyone may see, with nothing of an account in them. `no-cache` (rather than
 * `no-store`) keeps them eligible for the back/forward cache; `private` keeps shared caches
 * from storing them.
 */
export const PUBLIC_PAGES: readonly string[] = ["/login", "/signup"];
export const PUBLIC_PAGE_CACHE_CONTROL = "private, no-cache";
/** Everything else may hold a signed-in person's todos: never stored anywhere. */
export const PRIVATE_CACHE_CONTROL = "private, no-store";

export function cacheControlFor(pathname: string): string {
  return PUBLIC_PAGES.includes(pathname) ? PUBLIC_PAGE_CACHE_CONTROL : PRIVATE_CACHE_CONTROL;
}

/** True when the browser reached us over https, directly or through a proxy that says so. */
export function cameOverHttps(forwardedProto: string | null): boolean {
  return forwardedProto?.split(",")[0]?.trim().toLowerCase() === "https";
}

type PolicyOptions = { nonce: string; https: boolean; development: boolean };

/**
 * Scripts run only when they carry this answer's nonce (Next.js adds it to its own) or are
 * loaded by one that does ('strict-dynamic'); no inline script or handler runs otherwise.
 */
export function contentSecurityPolicy({ nonce, https, development }: PolicyOptions): string {
  const directives = [
    "default-src 'self'",
    // React's development build evaluates code to rebuild server stacks; production never does.
    `script-src 'self' 'nonce-${nonce}' 'strict-dynamic'${development ? " 'unsafe-eval'" : ""}`,
    `style-src 'self' 'nonce-${nonce}'`,
    "img-src 'self' data:",
    "font-src 'self'",
    "connect-src 'self'",
    "object-src 'none'",
    "base-uri 'self'",
    "form-action 'self'",
    "frame-ancestors 'none'",
    // Over plain http (a local run) this would send every asset request to https and break it.
    ...(https ? ["upgrade-insecure-requests"] : []),
  ];
  return directives.join("; ");
}

/** A fresh, unguessable nonce for one answer. */
export function newNonce(): string {
  const bytes = new Uint8Array(18);
  crypto.getRandomValues(bytes);
  return btoa(String.fromCharCode(...bytes));
}
