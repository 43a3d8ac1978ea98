// The client is exercised over real HTTP against a small scripted server on
// 127.0.0.1, so timeouts, refused connections and odd answers are genuine.

import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";

import { createBackendClient, type BackendFailure } from "./backend-client";

type Seen = {
  method: string;
  url: string;
  authorization: string | undefined;
  body: unknown;
  clientAddress?: string | string[] | undefined;
  clientAddressSecret?: string | string[] | undefined;
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

function client(timeoutMs = 2000, failures: BackendFailure[] = []) {
  return createBackendClient({ baseUrl: `${baseUrl}/`, timeoutMs, onFailure: (failure) => failures.push(failure) });
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
    const forwarding = createBackendClient({
      baseUrl,
      timeoutMs: 2000,
      forwardedFor: { address: "203.0.113.7", secret: "shared-secret" },
    });
    await forwarding.logIn("ada@example.com", "secret123");
    await forwarding.signUp("bob@example.com", "secret123");
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
    expect((await api.createTodo("t", { title: "A", description: null })).ok).toBe(true);
    expect((await api.updateTodo("t", 7, { title: "B", description: "d" })).ok).toBe(true);
    expect((await api.setCompleted("t", 7, true)).ok).toBe(true);
    expect((await api.setCompleted("t", 7, false)).ok).toBe(true);
    expect(await api.deleteTodo("t", 7)).toEqual({ ok: true, value: true });
    expect(seen.map((request) => `${request.method} ${request.url}`)).toEqual([
      "POST /todos",
      "PATCH /todos/7",
      "POST /todos/7/complete",
      "POST /todos/7/uncomplete",
      "DELETE /todos/7",
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
    [422, { kind: "invalid" }],
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

  it("sends a read once more when the connection drops before any answer", async () => {
    let dropped = 0;
    reply = (_, response) => {
      if (dropped === 0) {
        dropped += 1;
        response.socket?.destroy();
        return;
      }
      json(response, 200, { status: "ok" });
    };
    const failures: BackendFailure[] = [];
    const retried: string[] = [];
    const api = createBackendClient({
      baseUrl,
      timeoutMs: 2000,
      onFailure: (failure) => failures.push(failure),
      onRetry: (request) => retried.push(request),
    });
    expect(await api.health()).toEqual({ ok: true, value: true });
    expect(seen.map((request) => `${request.method} ${request.url}`)).toEqual(["GET /health", "GET /health"]);
    expect(failures).toEqual([]);
    expect(retried).toEqual(["GET /health"]);
  });

  it("reports a read whose second try drops too as unavailable", async () => {
    reply = (_, response) => {
      response.socket?.destroy();
    };
    expect(await client().health()).toEqual({ ok: false, failure: { kind: "unavailable" } });
    expect(seen).toHaveLength(2);
  });

  it("never sends a write twice", async () => {
    reply = (_, response) => {
      response.socket?.destroy();
    };
    expect(await client().createTodo("tok", { title: "Once", description: null })).toEqual({
      ok: false,
      failure: { kind: "unavailable" },
    });
    expect(seen.map((request) => `${request.method} ${request.url}`)).toEqual(["POST /todos"]);
  });

  it("reports a refused connection as unavailable", async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, "127.0.0.1", resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    const api = createBackendClient({ baseUrl: `http://127.0.0.1:${port}`, timeoutMs: 2000 });
    expect(await api.health()).toEqual({ ok: false, failure: { kind: "unavailable" } });
  });
});
