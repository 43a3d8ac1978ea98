import { readdirSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { join, relative, sep } from "node:path";

import { afterEach, describe, expect, it, vi } from "vitest";

import type { RetryReport } from "./backend-client";
import { reportRetries } from "./retry-log";
import { createRequestMetrics, metricsPort, routeLabel, serveMetrics, UNMATCHED_ROUTE } from "./request-metrics";

const SRC_APP = join(import.meta.dirname, "..", "app");
const PUBLIC = join(import.meta.dirname, "..", "..", "public");

/** The URL paths src/app serves: its pages, route handlers and icon files. */
function appPaths(): string[] {
  return readdirSync(SRC_APP, { recursive: true, encoding: "utf8" }).flatMap((file) => {
    const parts = relative(SRC_APP, join(SRC_APP, file)).split(sep);
    const name = parts.pop() ?? "";
    const folder = parts.length === 0 ? "" : `/${parts.join("/")}`;
    if (name === "page.tsx" || name === "route.ts") return [folder || "/"];
    return ["favicon.ico", "icon.svg"].includes(name) ? [`${folder}/${name}`] : [];
  });
}

describe("route labels", () => {
  it("name every page, route handler and fixed file of the app, and nothing else", () => {
    const served = [...appPaths(), ...readdirSync(PUBLIC).map((file) => `/${file}`)];
    expect(served).toContain("/todos");
    expect(served).toContain("/api/ready");
    expect(served.map(routeLabel)).toEqual(served);
  });

  it("leave out the query and group the build's static files", () => {
    expect(routeLabel("/todos?status=open&_rsc=1x2y3")).toBe("/todos");
    expect(routeLabel("/_next/static/chunks/app-4f3e2a.js")).toBe("/_next/static");
  });

  it("share one label for any other path, so that a scan cannot add series", () => {
    for (const path of ["/wp-login.php", "/todos/", "/todos/123", "/api/../etc/passwd", "/_next/staticx"]) {
      expect(routeLabel(path)).toBe(UNMATCHED_ROUTE);
    }
  });
});

describe("METRICS_PORT", () => {
  it("is a port number", () => {
    expect(metricsPort("9464")).toBe(9464);
    for (const wrong of ["0", "65536", "94a64", " 9464", "-1"]) {
      expect(() => metricsPort(wrong)).toThrow(`METRICS_PORT is ${JSON.stringify(wrong)}; accepted: a port number from 1 to 65535`);
    }
  });
});

describe("the metrics endpoint", () => {
  const servers: Server[] = [];
  afterEach(async () => {
    await Promise.all(servers.splice(0).map((server) => new Promise((resolve) => server.close(resolve))));
  });

  const urlOf = (server: Server, path: string): string => `http://127.0.0.1:${(server.address() as AddressInfo).port}${path}`;

  /** A stand-in for the Next.js server: answers each path with the status its name says, after a pause. */
  async function appServer(): Promise<Server> {
    const server = createServer((request, response) => {
      const status = request.url?.startsWith("/todos") ? 503 : 200;
      setTimeout(() => response.writeHead(status).end("page"), 30);
    });
    servers.push(server);
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    return server;
  }

  it("counts the app server's answers by method, route and status, and times them", async () => {
    const metrics = await serveMetrics(0);
    servers.push(metrics);
    const app = await appServer();
    for (const path of ["/", "/todos?status=open", "/todos", "/no-such-page"]) {
      await (await fetch(urlOf(app, path))).text();
    }
    await (await fetch(urlOf(app, "/login"), { method: "POST" })).text();

    const answer = await fetch(urlOf(metrics, "/metrics"));
    expect(answer.status).toBe(200);
    expect(answer.headers.get("content-type")).toMatch(/^text\/plain; version=0\.0\.4/);
    const text = await answer.text();
    expect(text).toContain('http_requests_total{method="GET",route="/",status="200"} 1');
    expect(text).toContain('http_requests_total{method="GET",route="/todos",status="503"} 2');
    expect(text).toContain('http_requests_total{method="GET",route="unmatched",status="200"} 1');
    expect(text).toContain('http_requests_total{method="POST",route="/login",status="200"} 1');
    // Every request took the stand-in's 30 ms pause: none in the 25 ms bucket, all in 50 ms.
    expect(text).toContain('http_request_duration_seconds_bucket{le="0.025",method="GET",route="/todos"} 0');
    expect(text).toContain('http_request_duration_seconds_bucket{le="0.05",method="GET",route="/todos"} 2');
    expect(text).toContain('http_request_duration_seconds_count{method="GET",route="/todos"} 2');
    // Node.js's own metrics come along.
    expect(text).toMatch(/^nodejs_eventloop_lag_seconds /m);
  });

  it("does not count its own scrapes, and answers nothing else", async () => {
    const metrics = await serveMetrics(0);
    servers.push(metrics);
    await (await fetch(urlOf(metrics, "/metrics"))).text();
    expect((await fetch(urlOf(metrics, "/"))).status).toBe(404);
    expect((await fetch(urlOf(metrics, "/metrics"), { method: "POST" })).status).toBe(404);
    expect(await (await fetch(urlOf(metrics, "/metrics"))).text()).not.toMatch(/^http_requests_total\{/m);
  });

  it("stops recording once it is closed", async () => {
    const metrics = createRequestMetrics();
    const endpoint = await serveMetrics(0, metrics);
    await new Promise((resolve) => endpoint.close(resolve));
    const app = await appServer();
    await (await fetch(urlOf(app, "/"))).text();
    expect(await metrics.registry.getSingleMetricAsString("http_requests_total")).not.toContain("route=");
  });
});

describe("retried backend calls", () => {
  const report = (request: string, attempts: number, outcome: RetryReport["outcome"]): RetryReport => ({
    request,
    attempts,
    waitedMs: 300,
    elapsedMs: 320,
    outcome,
    problems: Array.from({ length: attempts - 1 }, () => "503"),
    replayed: false,
  });

  it("are counted from the reports the backend client's callers publish, until the endpoint closes", async () => {
    vi.spyOn(console, "warn").mockImplementation(() => undefined);
    const metrics = createRequestMetrics();
    const endpoint = await serveMetrics(0, metrics);
    reportRetries(report("POST /todos", 3, "recovered"));
    reportRetries(report("POST /todos", 2, "recovered"));
    reportRetries(report("GET /me/todos", 8, "gave_up"));
    await new Promise((resolve) => endpoint.close(resolve));
    reportRetries(report("POST /todos", 2, "gave_up"));

    const retries = await metrics.registry.getSingleMetricAsString("frontend_backend_retries_total");
    expect(retries).toContain('frontend_backend_retries_total{request="POST /todos"} 3');
    expect(retries).toContain('frontend_backend_retries_total{request="GET /me/todos"} 7');
    const calls = await metrics.registry.getSingleMetricAsString("frontend_backend_retried_calls_total");
    expect(calls).toContain('frontend_backend_retried_calls_total{request="POST /todos",outcome="recovered"} 2');
    expect(calls).toContain('frontend_backend_retried_calls_total{request="GET /me/todos",outcome="gave_up"} 1');
    expect(calls).not.toContain('request="POST /todos",outcome="gave_up"');
  });
});
