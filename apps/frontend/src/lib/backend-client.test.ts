// The client is exercised over real HTTP against a small scripted server on
// 127.0.0.1, so timeouts, refused connections and odd answers are genuine.

import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";

import {
  createBackendClient,
  type BackendClientOptions,
  type BackendFailure,
  type RetryReport,
} from "./backend-client";

type Seen = {
  method: string;
  url: string;
  authorization: string | undefined;
  body: unknown;
  clientAddress?: string | string[] | undefined;
  clientAddressSecret?: string | string[] | undefined;
  idempotencyKey?: string | string[] | undefined;
};
type Reply = (request: Seen, response: ServerResponse) => void;

let server: Server;
let baseUrl: string;
let reply: Reply;
const seen: Seen[] = [];

async function readBody(request: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  const text = Buffer.concat(chunks).toString("utf8");
  return text === "" ? undefined : (JSON.parse(text) as unknown);
}

function json(response: ServerResponse, status: number, body: unknown): void {
  response.writeHead(status, { "content-type": "application/json" });
  response.end(JSON.stringify(body));
}

const TODO = {
  id: 7,
  title: "Water plants",
  description: null,
  completed: false,
  created_at: "2026-01-01T10:00:00Z",
  updated_at: "2026-01-01T10:00:00Z",
};

beforeAll(async () => {
  server = createServer((request, response) => {
    void readBody(request).then((body) => {
      const entry = {
        method: request.method ?? "",
        url: request.url ?? "",
        authorization: request.headers.authorization,
        body,
        clientAddress: request.headers["x-client-address"],
        clientAddressSecret: request.headers["x-client-address-secret"],
        idempotencyKey: request.headers["idempotency-key"],
      };
      seen.push(entry);
      reply(entry, response);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterEach(() => {
  seen.length = 0;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

const KEY = "3f0c9a52-6a8e-4c59-9d1e-2b7f4e8a1c3d";

/** A client of the scripted server; it sends every call once unless given a retry budget. */
function client(timeoutMs = 2000, failures: BackendFailure[] = [], options: Partial<BackendClientOptions> = {}) {
  return createBackendClient({
    baseUrl: `${baseUrl}/`,
    timeoutMs,
    retryBudgetMs: 0,
    onFailure: (failure) => failures.push(failure),
    ...options,
  });
}

describe("successful calls", () => {
  it("logs in with a JSON body and returns the session", async () => {
    reply = (_, response) => {
      json(response, 200, { access_token: "tok", token_type: "bearer", expires_in: 3600 });
    };
    const result = await client().logIn("ada@example.com", "secret123");
    expect(result).toEqual({ ok: true, value: { token: "tok", expiresInSeconds: 3600 } });
    expect(seen).toEqual([
      {
        method: "POST",
        url: "/auth/login",
        authorization: undefined,
        body: { email: "ada@example.com", password: "secret123" },
      },
    ]);
  });

  it("passes the person's address and the shared secret on when given, and only then", async () => {
    reply = (_, response) => {
      json(response, 200, { access_token: "tok", token_type: "bearer", expires_in: 3600 });
    };
    const forwarding = client(2000, [], { forwardedFor: { address: "203.0.113.7", secret: "shared-secret" } });
    await forwarding.logIn("ada@example.com", "secret123");
    await forwarding.signUp("bob@example.com", "secret123", KEY);
    await client().logIn("ada@example.com", "secret123");
    expect(seen.map(({ url, clientAddress, clientAddressSecret }) => [url, clientAddress, clientAddressSecret])).toEqual([
      ["/auth/login", "203.0.113.7", "shared-secret"],
      ["/auth/signup", "203.0.113.7", "shared-secret"],
      ["/auth/login", undefined, undefined],
    ]);
  });

  it("lists todos with the bearer token and query, mapping field names", async () => {
    reply = (_, response) => {
      json(response, 200, {
        items: [TODO],
        total: 3,
        limit: 20,
        offset: 0,
        counts: { all: 5, open: 3, done: 2 },
        next_cursor: "b2xkZXI6Nw",
        prev_cursor: "bmV3ZXI6Nw",
        last_cursor: "bmV3ZXI6MA",
      });
    };
    const result = await client().listTodos("tok", { status: "open", limit: 20, cursor: "b2xkZXI6OA" });
    expect(result).toEqual({
      ok: true,
      value: {
        items: [
          {
            id: 7,
            title: "Water plants",
            description: null,
            completed: false,
            createdAt: "2026-01-01T10:00:00Z",
            updatedAt: "2026-01-01T10:00:00Z",
          },
        ],
        counts: { all: 5, open: 3, done: 2 },
        olderCursor: "b2xkZXI6Nw",
        newerCursor: "bmV3ZXI6Nw",
        oldestCursor: "bmV3ZXI6MA",
      },
    });
    expect(seen[0]).toMatchObject({
      method: "GET",
      url: "/todos?status=open&limit=20&cursor=b2xkZXI6OA",
      authorization: "Bearer tok",
    });
  });

  it("asks for the newest page without a cursor", async () => {
    reply = (_, response) => {
      const cursors = { next_cursor: null, prev_cursor: null, last_cursor: null };
      json(response, 200, { items: [], counts: { all: 0, open: 0, done: 0 }, ...cursors });
    };
    const result = await client().listTodos("tok", { status: "all", limit: 20, cursor: null });
    expect(result).toMatchObject({ ok: true, value: { items: [], olderCursor: null, oldestCursor: null } });
    expect(seen[0]?.url).toBe("/todos?status=all&limit=20");
  });

  it("reads the user and a page of the list in one call", async () => {
    reply = (_, response) => {
      const cursors = { next_cursor: null, prev_cursor: null, last_cursor: null };
      const user = { id: 3, email: "ana@example.com", created_at: "2026-01-01T09:00:00Z" };
      json(response, 200, { items: [TODO], total: 1, counts: { all: 1, open: 1, done: 0 }, ...cursors, user });
    };
    const result = await client().todosView("tok", { status: "open", limit: 20, cursor: "b2xkZXI6OA" });
    expect(result).toMatchObject({
      ok: true,
      value: {
        user: { id: 3, email: "ana@example.com", createdAt: "2026-01-01T09:00:00Z" },
        page: { items: [{ id: 7, title: "Water plants" }], counts: { all: 1, open: 1, done: 0 }, olderCursor: null },
      },
    });
    expect(seen[0]).toMatchObject({ url: "/me/todos?status=open&limit=20&cursor=b2xkZXI6OA", authorization: "Bearer tok" });
  });

  it("says not_found when the backend predates the one-call list, and unexpected without the user", async () => {
    reply = (_, response) => {
      json(response, 404, { detail: "Not Found" });
    };
    expect(await client().todosView("tok", { status: "all", limit: 20, cursor: null })).toEqual({
      ok: false,
      failure: { kind: "not_found" },
    });
    reply = (_, response) => {
      const cursors = { next_cursor: null, prev_cursor: null, last_cursor: null };
      json(response, 200, { items: [], total: 0, counts: { all: 0, open: 0, done: 0 }, ...cursors });
    };
    expect(await client().todosView("tok", { status: "all", limit: 20, cursor: null })).toEqual({
      ok: false,
      failure: { kind: "unexpected", status: 200 },
    });
  });

  it("uses the right verb and path for each change", async () => {
    reply = (request, response) => {
      if (request.method === "DELETE") {
        response.writeHead(204).end();
      } else {
        json(response, request.method === "POST" && request.url === "/todos" ? 201 : 200, TODO);
      }
    };
    const api = client();
    expect((await api.createTodo("t", { title: "A", description: null }, `${KEY}-1`)).ok).toBe(true);
    expect((await api.updateTodo("t", 7, { title: "B", description: "d" }, `${KEY}-2`)).ok).toBe(true);
    expect((await api.setCompleted("t", 7, true, `${KEY}-3`)).ok).toBe(true);
    expect((await api.setCompleted("t", 7, false, `${KEY}-4`)).ok).toBe(true);
    expect(await api.deleteTodo("t", 7, `${KEY}-5`)).toEqual({ ok: true, value: true });
    expect(seen.map((request) => `${request.method} ${request.url} ${String(request.idempotencyKey)}`)).toEqual([
      `POST /todos ${KEY}-1`,
      `PATCH /todos/7 ${KEY}-2`,
      `POST /todos/7/complete ${KEY}-3`,
      `POST /todos/7/uncomplete ${KEY}-4`,
      `DELETE /todos/7 ${KEY}-5`,
    ]);
    expect(seen[0]?.body).toEqual({ title: "A", description: null });
    expect(seen[1]?.body).toEqual({ title: "B", description: "d" });
  });
});

describe("failures", () => {
  it.each([
    [401, { kind: "unauthorized" }],
    [404, { kind: "not_found" }],
    [409, { kind: "conflict" }],
    [422, { kind: "invalid", fieldErrors: {} }],
    [500, { kind: "unavailable" }],
    [503, { kind: "unavailable" }],
    [429, { kind: "throttled", retryAfterSeconds: null }],
    [418, { kind: "unexpected", status: 418 }],
  ] as const)("maps HTTP %i to %j", async (status, failure) => {
    reply = (_, response) => {
      json(response, status, { detail: "Traceback (most recent call last): secret" });
    };
    expect(await client().me("tok")).toEqual({ ok: false, failure });
  });

  it("reads the refused fields of a 422, each with the backend's reason", async () => {
    const common = "This password is on a list of common or leaked passwords, so it is easy to guess. Choose another.";
    reply = (_, response) => {
      json(response, 422, {
        detail: [
          { type: "password_common", loc: ["body", "password"], msg: common, input: "password" },
          { type: "string_too_short", loc: ["body", "password"], msg: "a second reason is not shown" },
          { type: "missing", loc: ["query", "email"], msg: "not a body field" },
          { type: "strange", loc: "body", msg: "no field named" },
        ],
      });
    };
    expect(await client().signUp("ada@example.com", "password", KEY)).toEqual({
      ok: false,
      failure: { kind: "invalid", fieldErrors: { password: common } },
    });
  });

  it("reads how long to wait from a 429's Retry-After", async () => {
    reply = (_, response) => {
      response.writeHead(429, { "content-type": "application/json", "retry-after": "120" });
      response.end(JSON.stringify({ detail: "too many attempts, try again later" }));
    };
    expect(await client().logIn("ada@example.com", "guess")).toEqual({
      ok: false,
      failure: { kind: "throttled", retryAfterSeconds: 120 },
    });
  });

  it("reports a body that breaks the contract as unexpected", async () => {
    reply = (_, response) => {
      json(response, 200, { items: [{ ...TODO, completed: "yes" }], total: 1, limit: 20, offset: 0 });
    };
    expect(await client().listTodos("tok", { status: "all", limit: 20, cursor: null })).toEqual({
      ok: false,
      failure: { kind: "unexpected", status: 200 },
    });
    reply = (_, response) => {
      json(response, 200, { items: [TODO], total: 1, counts: { all: "1" }, next_cursor: null });
    };
    expect(await client().listTodos("tok", { status: "all", limit: 20, cursor: null })).toEqual({
      ok: false,
      failure: { kind: "unexpected", status: 200 },
    });
  });

  it("reads the page of an older backend, which has neither counts nor cursors", async () => {
    reply = (_, response) => {
      json(response, 200, { items: [TODO], total: 1, limit: 20, offset: 0 });
    };
    expect(await client().listTodos("tok", { status: "all", limit: 20, cursor: null })).toMatchObject({
      ok: true,
      value: { counts: null, olderCursor: null, newerCursor: null, oldestCursor: null },
    });
  });

  it("reports invalid JSON as unexpected", async () => {
    reply = (_, response) => {
      response.writeHead(200, { "content-type": "application/json" }).end("{not json");
    };
    expect(await client().me("tok")).toEqual({ ok: false, failure: { kind: "unexpected", status: 200 } });
  });

  it("gives up on a backend that does not answer in time", async () => {
    reply = () => {
      // Never answers; the client's deadline has to end the call.
    };
    const failures: BackendFailure[] = [];
    const started = Date.now();
    expect(await client(200, failures).me("tok")).toEqual({ ok: false, failure: { kind: "timeout" } });
    expect(Date.now() - started).toBeLessThan(2000);
    expect(failures).toEqual([{ kind: "timeout" }]);
  });

  it("gives up on a body that stalls after the headers", async () => {
    reply = (_, response) => {
      response.writeHead(200, { "content-type": "application/json" });
      response.write('{"id": 1,');
    };
    expect(await client(200).me("tok")).toEqual({ ok: false, failure: { kind: "timeout" } });
  });

  it("reports a refused connection as unavailable", async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, "127.0.0.1", resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    const api = createBackendClient({ baseUrl: `http://127.0.0.1:${port}`, timeoutMs: 2000, retryBudgetMs: 0 });
    expect(await api.health()).toEqual({ ok: false, failure: { kind: "unavailable" } });
  });
});

describe("retries", () => {
  /** A client with a retry budget that records what it reports. */
  function retrying(retryBudgetMs: number, timeoutMs = 2000) {
    const failures: BackendFailure[] = [];
    const reports: RetryReport[] = [];
    const api = client(timeoutMs, failures, { retryBudgetMs, onRetries: (report) => reports.push(report) });
    return { api, failures, reports };
  }

  /** The problem a failed attempt meets: an answer, a dropped connection, or no answer at all. */
  const PROBLEMS: Record<string, (response: ServerResponse) => void> = {
    "503": (response) => {
      json(response, 503, { detail: "database unavailable" });
    },
    "502": (response) => {
      json(response, 502, { detail: "bad gateway" });
    },
    "504": (response) => {
      json(response, 504, { detail: "gateway timeout" });
    },
    "a dropped connection": (response) => {
      response.socket?.destroy();
    },
    "no answer in time": () => {
      // The attempt's own deadline ends it.
    },
  };

  /** Fails the first `failing` requests with `problem`, then answers with `answer`. */
  function failingFirst(failing: number, problem: (response: ServerResponse) => void, answer: Reply): void {
    let count = 0;
    reply = (request, response) => {
      count += 1;
      if (count <= failing) problem(response);
      else answer(request, response);
    };
  }

  it.each(Object.keys(PROBLEMS))("sends a keyed write again after %s, with the same key and body", async (name) => {
    const problem = PROBLEMS[name];
    if (problem === undefined) throw new Error(name);
    failingFirst(2, problem, (_, response) => {
      json(response, 201, TODO);
    });
    const { api, failures, reports } = retrying(5000, 300);
    const result = await api.createTodo("tok", { title: "Water plants", description: null }, KEY);
    expect(result).toMatchObject({ ok: true, value: { id: 7 } });
    expect(seen).toHaveLength(3);
    for (const request of seen) {
      expect(request).toMatchObject({
        method: "POST",
        url: "/todos",
        idempotencyKey: KEY,
        body: { title: "Water plants", description: null },
      });
    }
    expect(failures).toEqual([]);
    expect(reports).toHaveLength(1);
    expect(reports[0]).toMatchObject({ request: "POST /todos", attempts: 3, outcome: "recovered", replayed: false });
  });

  it("rides out a backend that refuses connections until it is back", async () => {
    const standIn = createServer((_, response) => {
      json(response, 200, TODO);
    });
    await new Promise<void>((resolve) => standIn.listen(0, "127.0.0.1", resolve));
    const port = (standIn.address() as AddressInfo).port;
    await new Promise((resolve) => standIn.close(resolve));
    const reports: RetryReport[] = [];
    const api = createBackendClient({
      baseUrl: `http://127.0.0.1:${port}`,
      timeoutMs: 2000,
      retryBudgetMs: 5000,
      onRetries: (report) => reports.push(report),
    });
    const call = api.setCompleted("tok", 7, true, KEY);
    await new Promise((resolve) => setTimeout(resolve, 400));
    await new Promise<void>((resolve) => standIn.listen(port, "127.0.0.1", resolve));
    try {
      expect(await call).toMatchObject({ ok: true, value: { id: 7 } });
    } finally {
      standIn.closeAllConnections();
      await new Promise((resolve) => standIn.close(resolve));
    }
    expect(reports).toHaveLength(1);
    expect(reports[0]?.request).toBe("POST /todos/{id}/complete");
    expect(reports[0]?.outcome).toBe("recovered");
    expect(reports[0]?.problems).toContain("ECONNREFUSED");
    expect(reports[0]?.waitedMs).toBeGreaterThan(0);
  });

  it("sends reads again, each with no key", async () => {
    let count = 0;
    reply = (_, response) => {
      count += 1;
      if (count === 1) response.socket?.destroy();
      else if (count === 2) json(response, 503, { detail: "database unavailable" });
      else json(response, 200, { id: 3, email: "ana@example.com", created_at: "2026-01-01T09:00:00Z" });
    };
    const { api, reports } = retrying(5000);
    expect(await api.me("tok")).toMatchObject({ ok: true, value: { email: "ana@example.com" } });
    expect(seen.map((request) => [request.url, request.idempotencyKey])).toEqual([
      ["/me", undefined],
      ["/me", undefined],
      ["/me", undefined],
    ]);
    expect(reports).toEqual([
      expect.objectContaining({
        request: "GET /me",
        attempts: 3,
        outcome: "recovered",
        problems: [expect.any(String), "503"],
      }),
    ]);
  });

  it.each(["503", "a dropped connection"])("never sends a write without a key twice (%s)", async (name) => {
    reply = (_, response) => {
      PROBLEMS[name]?.(response);
    };
    const { api, failures, reports } = retrying(5000);
    expect(await api.logIn("ada@example.com", "secret123")).toEqual({ ok: false, failure: { kind: "unavailable" } });
    expect(seen.map((request) => `${request.method} ${request.url}`)).toEqual(["POST /auth/login"]);
    expect(failures).toEqual([{ kind: "unavailable" }]);
    expect(reports).toEqual([]);
  });

  it("sends nothing again without a budget, as the probes ask", async () => {
    reply = (_, response) => {
      json(response, 503, {});
    };
    const { api, reports } = retrying(0);
    expect(await api.health()).toEqual({ ok: false, failure: { kind: "unavailable" } });
    expect(seen).toHaveLength(1);
    expect(reports).toEqual([]);
  });

  it.each([500, 404, 422, 429])("takes a %i as the answer", async (status) => {
    reply = (_, response) => {
      json(response, status, {});
    };
    const { api, reports } = retrying(5000);
    expect((await api.deleteTodo("tok", 7, KEY)).ok).toBe(false);
    expect(seen).toHaveLength(1);
    expect(reports).toEqual([]);
  });

  it("stops at the budget, and reports the call once", async () => {
    reply = (_, response) => {
      json(response, 503, { detail: "database unavailable" });
    };
    const { api, failures, reports } = retrying(600);
    const started = Date.now();
    expect(await api.updateTodo("tok", 7, { title: "B" }, KEY)).toEqual({
      ok: false,
      failure: { kind: "unavailable" },
    });
    const elapsed = Date.now() - started;
    // Date.now() and the client's monotonic clock may round apart by a millisecond or so.
    expect(elapsed).toBeGreaterThanOrEqual(595);
    expect(elapsed).toBeLessThan(1000);
    // Backoff from 100 ms: a few attempts, not one per millisecond.
    expect(seen.length).toBeGreaterThanOrEqual(3);
    expect(seen.length).toBeLessThanOrEqual(7);
    expect(failures).toEqual([{ kind: "unavailable" }]);
    expect(reports).toHaveLength(1);
    expect(reports[0]).toMatchObject({ request: "PATCH /todos/{id}", attempts: seen.length, outcome: "gave_up" });
    expect(reports[0]?.problems).toEqual(seen.map(() => "503"));
  });

  it("takes no longer than the budget and one attempt, however slow the backend", async () => {
    reply = () => {
      // Never answers.
    };
    const { api, reports } = retrying(500, 300);
    const started = Date.now();
    expect(await api.createTodo("tok", { title: "A", description: null }, KEY)).toEqual({
      ok: false,
      failure: { kind: "timeout" },
    });
    const elapsed = Date.now() - started;
    expect(elapsed).toBeGreaterThanOrEqual(495);
    expect(elapsed).toBeLessThan(500 + 300 + 150);
    expect(reports[0]).toMatchObject({ outcome: "gave_up", problems: seen.map(() => "timeout") });
    expect(seen.length).toBeGreaterThanOrEqual(2);
  });

  it("waits as long as Retry-After says", async () => {
    failingFirst(
      1,
      (response) => {
        response.writeHead(503, { "content-type": "application/json", "retry-after": "1" }).end("{}");
      },
      (_, response) => {
        response.writeHead(204).end();
      },
    );
    const { api, reports } = retrying(5000);
    const started = Date.now();
    expect(await api.deleteTodo("tok", 7, KEY)).toEqual({ ok: true, value: true });
    expect(Date.now() - started).toBeGreaterThanOrEqual(995);
    expect(reports[0]).toMatchObject({ attempts: 2, waitedMs: 1000, outcome: "recovered" });
  });

  it("makes its last attempt as the budget ends when Retry-After reaches past it", async () => {
    reply = (_, response) => {
      response.writeHead(503, { "content-type": "application/json", "retry-after": "5" }).end("{}");
    };
    const { api, reports } = retrying(600);
    const started = Date.now();
    expect(await api.deleteTodo("tok", 7, KEY)).toEqual({ ok: false, failure: { kind: "unavailable" } });
    const elapsed = Date.now() - started;
    expect(elapsed).toBeGreaterThanOrEqual(595);
    expect(elapsed).toBeLessThan(1000);
    expect(seen).toHaveLength(2);
    expect(reports[0]).toMatchObject({ attempts: 2, outcome: "gave_up", problems: ["503", "503"] });
  });

  it("says when the backend answered a retry with the first attempt's answer", async () => {
    failingFirst(1, (response) => response.socket?.destroy(), (_, response) => {
      response.writeHead(201, { "content-type": "application/json", "idempotent-replayed": "true" });
      response.end(JSON.stringify(TODO));
    });
    const { api, reports } = retrying(5000);
    expect((await api.createTodo("tok", { title: "Water plants", description: null }, KEY)).ok).toBe(true);
    expect(reports[0]).toMatchObject({ attempts: 2, outcome: "recovered", replayed: true });
  });
});
