// The frontend's request metrics for Prometheus, under the backend's names and labels
// (http_requests_total{method,route,status}, http_request_duration_seconds{method,route}), so
// one alert rule and one dashboard panel cover both. They show what the backend's cannot: how
// long a person waits for a page, server rendering and backend calls included, and the pages
// that fail before any backend call. Node's HTTP server reports every request it serves on
// diagnostics_channel, so nothing of Next.js is patched. Served on a port of their own
// (METRICS_PORT, src/instrumentation.ts), off the frontend's public Service. Beside them, the
// backend calls the frontend had to send more than once (frontend_backend_retries_total,
// frontend_backend_retried_calls_total), reported on a diagnostics channel (retry-log.ts).
import diagnosticsChannel from "node:diagnostics_channel";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { Socket } from "node:net";

import { collectDefaultMetrics, Counter, Histogram, Registry } from "prom-client";

import type { RetryReport } from "./backend-client";
import { BACKEND_RETRY_CHANNEL } from "./retry-log";

/**
 * The paths that are their own route label: the pages and route handlers of src/app, and the
 * files served at fixed paths. Anything else shares one label (the backend's "unmatched"), so
 * that scanners cannot blow up the metrics' cardinality.
 */
const ROUTES: readonly string[] = [
  "/",
  "/login",
  "/signup",
  "/todos",
  "/api/health",
  "/api/ready",
  "/favicon.ico",
  "/icon.svg",
  "/robots.txt",
];
/** Next.js's hashed build files, one label for all. */
const STATIC_PREFIX = "/_next/static";
export const UNMATCHED_ROUTE = "unmatched";
// A request's URL is its path and query: parsed against any base.
const BASE_URL = "http://frontend.invalid";
// The backend's buckets (apps/backend/src/todo_api/observability.py): both histograms add up.
const LATENCY_BUCKETS = [0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/** The route label of a request's URL (path and query, as the server received it). */
export function routeLabel(url: string): string {
  const { pathname } = new URL(url, BASE_URL);
  if (ROUTES.includes(pathname)) return pathname;
  if (pathname.startsWith(`${STATIC_PREFIX}/`)) return STATIC_PREFIX;
  return UNMATCHED_ROUTE;
}

export interface RequestMetrics {
  registry: Registry;
  /** Counts one answered request and its duration. */
  record(method: string, url: string, status: number, seconds: number): void;
  /** Counts a backend call sent more than once: its retries, and how it ended. */
  recordRetries(report: RetryReport): void;
}

/** A registry with the request metrics and Node.js's own (memory, event loop lag, CPU). */
export function createRequestMetrics(): RequestMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const requests = new Counter({
    name: "http_requests_total",
    help: "HTTP requests by method, route and status",
    labelNames: ["method", "route", "status"] as const,
    registers: [registry],
  });
  const latency = new Histogram({
    name: "http_request_duration_seconds",
    help: "HTTP request latency by method and route",
    labelNames: ["method", "route"] as const,
    buckets: LATENCY_BUCKETS,
    registers: [registry],
  });
  // `request` is the backend call with its ids as {id} (`PATCH /todos/{id}`): a few dozen at most.
  const retries = new Counter({
    name: "frontend_backend_retries_total",
    help: "Backend calls sent again (after a connection error, a timeout or a 502/503/504), by request",
    labelNames: ["request"] as const,
    registers: [registry],
  });
  const retriedCalls = new Counter({
    name: "frontend_backend_retried_calls_total",
    help: "Backend calls sent more than once, by request and outcome (recovered: answered; gave_up: budget spent)",
    labelNames: ["request", "outcome"] as const,
    registers: [registry],
  });
  return {
    registry,
    record(method, url, status, seconds) {
      const route = routeLabel(url);
      requests.inc({ method, route, status: String(status) });
      latency.observe({ method, route }, seconds);
    },
    recordRetries({ request, attempts, outcome }) {
      retries.inc({ request }, attempts - 1);
      retriedCalls.inc({ request, outcome });
    },
  };
}

/** What Node's HTTP server publishes on its request channels (also read by connection-age.ts). */
export interface ServerRequestMessage {
  request: IncomingMessage;
  response: ServerResponse;
  socket: Socket;
  server: Server;
}

/**
 * Records every request the process's HTTP servers answer, except those of `ignored` (the
 * metrics endpoint's own). A request whose client goes away before the answer ends is not
 * counted. Returns a function that stops recording.
 */
function recordServerRequests(metrics: RequestMetrics, ignored?: Server): () => void {
  const started = new WeakMap<IncomingMessage, bigint>();
  const onStart = (message: unknown): void => {
    const { request, server } = message as ServerRequestMessage;
    if (server !== ignored) started.set(request, process.hrtime.bigint());
  };
  const onFinish = (message: unknown): void => {
    const { request, response } = message as ServerRequestMessage;
    const start = started.get(request);
    if (start === undefined) return;
    const seconds = Number(process.hrtime.bigint() - start) / 1e9;
    metrics.record(request.method ?? "GET", request.url ?? "/", response.statusCode, seconds);
  };
  diagnosticsChannel.subscribe("http.server.request.start", onStart);
  diagnosticsChannel.subscribe("http.server.response.finish", onFinish);
  return () => {
    diagnosticsChannel.unsubscribe("http.server.request.start", onStart);
    diagnosticsChannel.unsubscribe("http.server.response.finish", onFinish);
  };
}

/** METRICS_PORT as a port number; anything else is a mistake in the Deployment, said at start. */
export function metricsPort(value: string): number {
  const port = Number(value);
  if (!/^\d+$/.test(value) || port < 1 || port > 65535) {
    throw new Error(`METRICS_PORT is ${JSON.stringify(value)}; accepted: a port number from 1 to 65535`);
  }
  return port;
}

/** Counts the retried backend calls the process reports (retry-log.ts). Returns a function that stops. */
function recordBackendRetries(metrics: RequestMetrics): () => void {
  const onReport = (message: unknown): void => {
    metrics.recordRetries(message as RetryReport);
  };
  diagnosticsChannel.subscribe(BACKEND_RETRY_CHANNEL, onReport);
  return () => {
    diagnosticsChannel.unsubscribe(BACKEND_RETRY_CHANNEL, onReport);
  };
}

/**
 * Serves the metrics at GET /metrics on `port` (every address), and records the requests of the
 * process's other servers and its retried backend calls until it closes. Resolves once it listens.
 */
export async function serveMetrics(port: number, metrics: RequestMetrics = createRequestMetrics()): Promise<Server> {
  const server = createServer((request, response) => {
    if (request.method !== "GET" || new URL(request.url ?? "/", BASE_URL).pathname !== "/metrics") {
      response.writeHead(404).end();
      return;
    }
    metrics.registry.metrics().then(
      (text) => response.writeHead(200, { "content-type": metrics.registry.contentType }).end(text),
      (error: unknown) => {
        console.error("metrics could not be collected:", error);
        response.writeHead(500).end();
      },
    );
  });
  server.once("close", recordServerRequests(metrics, server));
  server.once("close", recordBackendRetries(metrics));
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, () => {
      server.off("error", reject);
      resolve();
    });
  });
  return server;
}
