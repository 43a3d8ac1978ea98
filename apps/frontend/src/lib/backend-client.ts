// Typed client for the Todo API. Every call resolves to a result instead of
// throwing, so pages can render a calm error state for each kind of failure.

import type { Counts } from "./counts";
import type { StatusFilter, TodoInput } from "./validation";

export type Todo = {
  id: number;
  title: string;
  description: string | null;
  completed: boolean;
  createdAt: string;
  updatedAt: string;
};

/**
 * A page, newest first; each cursor leads to the page beside it, null when there is none.
 * Counts are null when the backend is a release older than this frontend (for the minutes of
 * a rolling update): it sends neither counts nor cursors, and the page shows the newest todos.
 */
export type TodoPage = {
  items: Todo[];
  counts: Counts | null;
  olderCursor: string | null;
  newerCursor: string | null;
  oldestCursor: string | null;
};
export type User = { id: number; email: string; createdAt: string };
/** What the list screen shows: whose list it is, and a page of it. */
export type ListView = { user: User; page: TodoPage };
export type Session = { token: string; expiresInSeconds: number };

export type BackendFailure =
  | { kind: "unavailable" } // refused, reset, DNS, or a 5xx from the backend
  | { kind: "timeout" }
  | { kind: "unauthorized" }
  | { kind: "not_found" }
  | { kind: "conflict" }
  | { kind: "invalid" }
  | { kind: "throttled"; retryAfterSeconds: number | null } // 429: too many attempts
  | { kind: "unexpected"; status: number };

export type BackendResult<Value> = { ok: true; value: Value } | { ok: false; failure: BackendFailure };

export type TodoChanges = Partial<TodoInput> & { completed?: boolean };

/**
 * The person's address, passed on to the backend with the secret it shares with the frontend:
 * every request reaches the backend from a frontend pod, so without it the backend's
 * per-address login limits would count everyone as one.
 */
export type ForwardedFor = { address: string; secret: string };

export type BackendClientOptions = {
  baseUrl: string;
  timeoutMs: number;
  onFailure?: (failure: BackendFailure, request: string) => void;
  /** A read whose connection dropped before any answer is sent once more; this hears of it. */
  onRetry?: (request: string) => void;
  forwardedFor?: ForwardedFor;
};

type Json = unknown;
type Parser<Value> = (body: Json) => Value | null;

function isRecord(value: Json): value is Record<string, Json> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function parseTodo(body: Json): Todo | null {
  if (!isRecord(body)) return null;
  const { id, title, description, completed, created_at, updated_at } = body;
  if (
    typeof id !== "number" ||
    typeof title !== "string" ||
    !(typeof description === "string" || description === null) ||
    typeof completed !== "boolean" ||
    typeof created_at !== "string" ||
    typeof updated_at !== "string"
  ) {
    return null;
  }
  return { id, title, description, completed, createdAt: created_at, updatedAt: updated_at };
}

function parseCounts(body: Json): Counts | null {
  if (!isRecord(body)) return null;
  const { all, open, done } = body;
  if (typeof all !== "number" || typeof open !== "number" || typeof done !== "number") return null;
  return { all, open, done };
}

function isCursor(value: Json): value is string | null {
  return typeof value === "string" || value === null;
}

function parseTodoPage(body: Json): TodoPage | null {
  if (!isRecord(body) || !Array.isArray(body.items)) return null;
  const items: Todo[] = [];
  for (const item of body.items) {
    const todo = parseTodo(item);
    if (todo === null) return null;
    items.push(todo);
  }
  if (!("counts" in body) && typeof body.total === "number") {
    return { items, counts: null, olderCursor: null, newerCursor: null, oldestCursor: null };
  }
  const { next_cursor, prev_cursor, last_cursor } = body;
  const counts = parseCounts(body.counts);
  if (counts === null || !isCursor(next_cursor) || !isCursor(prev_cursor) || !isCursor(last_cursor)) return null;
  return { items, counts, olderCursor: next_cursor, newerCursor: prev_cursor, oldestCursor: last_cursor };
}

function parseUser(body: Json): User | null {
  if (!isRecord(body)) return null;
  const { id, email, created_at } = body;
  if (typeof id !== "number" || typeof email !== "string" || typeof created_at !== "string") return null;
  return { id, email, createdAt: created_at };
}

function parseListView(body: Json): ListView | null {
  if (!isRecord(body)) return null;
  const user = parseUser(body.user);
  const page = parseTodoPage(body);
  return user === null || page === null ? null : { user, page };
}

function parseSession(body: Json): Session | null {
  if (!isRecord(body)) return null;
  const { access_token, expires_in } = body;
  if (typeof access_token !== "string" || access_token === "" || typeof expires_in !== "number") return null;
  return { token: access_token, expiresInSeconds: expires_in };
}

// DELETE answers 204 without a body; any other answer is a contract breach.
const parseNoContent: Parser<true> = (body) => (body === null ? true : null);

function retryAfterSeconds(response: Response): number | null {
  const value = Number(response.headers.get("retry-after") ?? "");
  return Number.isInteger(value) && value > 0 ? value : null;
}

function failureForStatus(status: number, response: Response): BackendFailure {
  if (status === 429) return { kind: "throttled", retryAfterSeconds: retryAfterSeconds(response) };
  if (status === 401 || status === 403) return { kind: "unauthorized" };
  if (status === 404) return { kind: "not_found" };
  if (status === 409) return { kind: "conflict" };
  if (status === 400 || status === 422) return { kind: "invalid" };
  if (status >= 500) return { kind: "unavailable" };
  return { kind: "unexpected", status };
}

function isTimeout(error: unknown): boolean {
  return error instanceof DOMException && (error.name === "TimeoutError" || error.name === "AbortError");
}

type PageQuery = { status: StatusFilter; limit: number; cursor: string | null };

function pageSearch(query: PageQuery): string {
  const params = new URLSearchParams({ status: query.status, limit: String(query.limit) });
  if (query.cursor !== null) params.set("cursor", query.cursor);
  return params.toString();
}

export function createBackendClient({ baseUrl, timeoutMs, onFailure, onRetry, forwardedFor }: BackendClientOptions) {
  const root = baseUrl.replace(/\/+$/, "");

  async function call<Value>(
    method: "GET" | "POST" | "PATCH" | "DELETE",
    path: string,
    parse: Parser<Value>,
    { token, body }: { token?: string; body?: Json } = {},
  ): Promise<BackendResult<Value>> {
    const request = `${method} ${path.split("?")[0] ?? path}`;
    const fail = (failure: BackendFailure): BackendResult<Value> => {
      onFailure?.(failure, request);
      return { ok: false, failure };
    };
    const headers: Record<string, string> = { accept: "application/json" };
    if (token !== undefined) headers.authorization = `Bearer ${token}`;
    if (body !== undefined) headers["content-type"] = "application/json";
    if (forwardedFor !== undefined) {
      headers["x-client-address"] = forwardedFor.address;
      headers["x-client-address-secret"] = forwardedFor.secret;
    }

    // One deadline for the call, retry included.
    const signal = AbortSignal.timeout(timeoutMs);
    const send = () =>
      fetch(`${root}${path}`, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        cache: "no-store",
        signal,
      });
    let response: Response;
    try {
      try {
        response = await send();
      } catch (error) {
        // A kept-alive connection can be closed by a backend pod that is shutting down just as
        // a request goes out on it (rolling updates, scale-downs). No answer came, so a read is
        // safe to send once more, on a new connection to a pod that is still serving.
        if (method !== "GET" || isTimeout(error)) throw error;
        onRetry?.(request);
        response = await send();
      }
    } catch (error) {
      return fail(isTimeout(error) ? { kind: "timeout" } : { kind: "unavailable" });
    }

    try {
      if (!response.ok) {
        await response.body?.cancel();
        return fail(failureForStatus(response.status, response));
      }
      const value = parse(response.status === 204 ? null : ((await response.json()) as Json));
      return value === null ? fail({ kind: "unexpected", status: response.status }) : { ok: true, value };
    } catch (error) {
      // The body can time out or be cut off after the headers arrived.
      return fail(isTimeout(error) ? { kind: "timeout" } : { kind: "unexpected", status: response.status });
    }
  }

  return {
    health: () => call("GET", "/health", (body) => (isRecord(body) && body.status === "ok" ? true : null)),
    signUp: (email: string, password: string) =>
      call("POST", "/auth/signup", parseSession, { body: { email, password } }),
    logIn: (email: string, password: string) => call("POST", "/auth/login", parseSession, { body: { email, password } }),
    /** Ends this token's session on the backend: it is refused from now on. */
    logOut: (token: string) => call("POST", "/auth/logout", parseNoContent, { token }),
    /** Ends every session of the token's user, this one included. */
    logOutEverywhere: (token: string) => call("POST", "/auth/logout-everywhere", parseNoContent, { token }),
    me: (token: string) => call("GET", "/me", parseUser, { token }),
    /** A page of the list: the newest, or the one a page's cursor leads to. */
    listTodos: (token: string, query: PageQuery) => call("GET", `/todos?${pageSearch(query)}`, parseTodoPage, { token }),
    /**
     * The user and a page of the list in one call (`GET /me/todos`). A backend older than the
     * endpoint answers not_found: ask me() and listTodos() instead.
     */
    todosView: (token: string, query: PageQuery) =>
      call("GET", `/me/todos?${pageSearch(query)}`, parseListView, { token }),
    createTodo: (token: string, input: TodoInput) => call("POST", "/todos", parseTodo, { token, body: input }),
    updateTodo: (token: string, id: number, changes: TodoChanges) =>
      call("PATCH", `/todos/${id}`, parseTodo, { token, body: changes }),
    setCompleted: (token: string, id: number, completed: boolean) =>
      call("POST", `/todos/${id}/${completed ? "complete" : "uncomplete"}`, parseTodo, { token }),
    deleteTodo: (token: string, id: number) => call("DELETE", `/todos/${id}`, parseNoContent, { token }),
  };
}

export type BackendClient = ReturnType<typeof createBackendClient>;
