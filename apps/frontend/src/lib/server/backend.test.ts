import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";

import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";

import { RETRY_LOG_LINE } from "../retry-log";
import { backend } from "./backend";

vi.mock("server-only", () => ({}));
vi.mock("next/headers", () => ({ headers: () => Promise.resolve(new Headers()) }));

// A backend whose /health answers 503 to the first `failing` requests, then 200.
let server: Server;
let requests = 0;
let failing = 0;

beforeAll(async () => {
  server = createServer((_, response) => {
    requests += 1;
    const status = requests <= failing ? 503 : 200;
    response.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify({ status: "ok" }));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
});

afterEach(() => {
  vi.unstubAllEnvs();
  requests = 0;
});

afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
});

function failFirst(count: number): void {
  failing = count;
  vi.stubEnv("BACKEND_URL", `http://127.0.0.1:${(server.address() as AddressInfo).port}`);
}

describe("the backend client of a request", () => {
  it("rides out an outage within BACKEND_RETRY_BUDGET_MS, and logs the retries once", async () => {
    const warn = vi.spyOn(console, "warn").mockImplementation(() => undefined);
    failFirst(2);
    vi.stubEnv("BACKEND_RETRY_BUDGET_MS", "3000");
    expect(await backend().health()).toEqual({ ok: true, value: true });
    expect(requests).toBe(3);
    expect(warn).toHaveBeenCalledTimes(1);
    expect(String(warn.mock.calls[0]?.[0])).toMatch(RETRY_LOG_LINE);
  });

  it.each([
    ["unset", undefined],
    ["empty", ""],
    ["not a number", "soon"],
    ["negative", "-1"],
  ])("retries with the default budget when BACKEND_RETRY_BUDGET_MS is %s", async (_, value) => {
    vi.spyOn(console, "warn").mockImplementation(() => undefined);
    failFirst(1);
    vi.stubEnv("BACKEND_RETRY_BUDGET_MS", value);
    expect(await backend().health()).toEqual({ ok: true, value: true });
    expect(requests).toBe(2);
  });

  it("sends each call once with BACKEND_RETRY_BUDGET_MS=0", async () => {
    vi.spyOn(console, "error").mockImplementation(() => undefined);
    failFirst(1);
    vi.stubEnv("BACKEND_RETRY_BUDGET_MS", "0");
    expect(await backend().health()).toEqual({ ok: false, failure: { kind: "unavailable" } });
    expect(requests).toBe(1);
  });

  it("sends a probe's call once, whatever the budget", async () => {
    vi.spyOn(console, "error").mockImplementation(() => undefined);
    failFirst(1);
    vi.stubEnv("BACKEND_RETRY_BUDGET_MS", "3000");
    expect(await backend({ probeDeadlineMs: 2000 }).health()).toEqual({ ok: false, failure: { kind: "unavailable" } });
    expect(requests).toBe(1);
  });
});
