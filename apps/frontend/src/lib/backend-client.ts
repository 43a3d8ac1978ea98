// Typed client for the Todo API. Every call resolves to a result instead of
// throwing, so pages can render a calm error state for each kind of failure. Reads and keyed
// writes ride out a short outage (a backend pod replaced, its database restarting): they are sent
// again, with backoff, until they get an answer or the retry budget is spent.

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
  | { kind: "unavailable" } // refused, reset, DNS, or a 5xx from the backend (after any retries)
  | { kind: "timeout" }
  | { kind: "unauthorized" }
  | { kind: "not_found" }
  | { kind: "conflict" }
  /** 400 or 422; a 422 names the fields it refused, each with the backend's sentence for people. */
  | { kind: "invalid"; fieldErrors: FieldMessages }
  | { kind: "throttled"; retryAfterSeconds: number | null } // 429: too many attempts
  | { kind: "unexpected"; status: number };

/** A message per body field, by the field's name (`password`, `title`, ...). */
export type FieldMessages = Readonly<Record<string, string>>;

export type BackendResult<Value> = { ok: true; value: Value } | { ok: false; failure: BackendFailure };

export type TodoChanges = Partial<TodoInput> & { completed?: boolean };

/**
 * The person's address, passed on to the backend with the secret it shares with the frontend:
 * every request reaches the backend from a frontend pod, so without it the backend's
 * per-address login limits would count everyone as one.
 */
export type ForwardedFor = { address: string; secret: string };

/** How a call that was sent more than once ended: answered at last, or given up at the budget. */
export type RetryOutcome = "recovered" | "gave_up";

/** A call the client sent more than once, reported once when it ends. */
export type RetryReport = {
  /** Method and path, ids replaced by `{id}` and without the query: `PATCH /todos/{id}`. */
  request: string;
  attempts: number;
  /** Time spent waiting between attempts. */
  waitedMs: number;
  /** The whole call, from the first attempt to the answer. */
  elapsedMs: number;
  outcome: RetryOutcome;
  /** Why each attempt that was not the answer failed: `503`, `timeout`, `ECONNREFUSED`, ... */
  problems: string[];
  /** The backend answered with the first attempt's answer (`Idempotent-Replayed: true`). */
  replayed: boolean;
};

export type BackendClientOptions = {
  baseUrl: string;
  /** Deadline of each attempt, the answer's body included. */
  timeoutMs: number;
  /**
   * How long after a call starts a new attempt may still begin; 0 sends every call once. Reads and
   * keyed writes are sent again after a connection error, a timeout or a 502/503/504, so a call
   * takes at most this plus one attempt. Writes without a key are sent once.
   */
  retryBudgetMs: number;
  onFailure?: (failure: BackendFailure, request: string) => void;
  /** Hears of each call that was sent more than once, once, when it ends. */
  onRetries?: (report: RetryReport) => void;
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
  if (status === 400 || status === 422) return { kind: "invalid", fieldErrors: {} };
  if (status >= 500) return { kind: "unavailable" };
  return { kind: "unexpected", status };
}

/**
 * The first message of each body field that a 422 names: FastAPI lists the refusals as `detail`,
 * each with `loc` (`["body", "password"]`) and `msg`. Anything else names no field.
 */
function refusedFields(body: Json): FieldMessages {
  // A Map: a field's name comes from the answer, so it must not reach an object's prototype.
  const messages = new Map<string, string>();
  if (!isRecord(body) || !Array.isArray(body.detail)) return {};
  for (const refusal of body.detail as Json[]) {
    if (!isRecord(refusal) || !Array.isArray(refusal.loc) || typeof refusal.msg !== "string") continue;
    const [place, field] = refusal.loc as Json[];
    if (place === "body" && typeof field === "string" && !messages.has(field)) messages.set(field, refusal.msg);
  }
  return Object.fromEntries(messages);
}

function isTimeout(error: unknown): boolean {
  return error instanceof DOMException && (error.name === "TimeoutError" || error.name === "AbortError");
}

/**
 * Whether fetch failed for want of a connection (refused, reset, DNS failure, a body cut off):
 * undici wraps those in a TypeError with the network error as its cause. A request fetch could
 * not even make (an invalid header value) has no cause, and is not worth sending again.
 */
function connectionProblem(error: unknown): string | null {
  if (!(error instanceof TypeError) || error.cause === undefined) return null;
  const { cause } = error;
  const code = typeof cause === "object" && cause !== null && "code" in cause ? cause.code : undefined;
  return typeof code === "string" ? code : "connection";
}

// The answers of a backend that is away for a moment: its pods restarting, its database gone.
const RETRYABLE_STATUSES: ReadonlySet<number> = new Set([502, 503, 504]);
// Exponential backoff between attempts: 100 ms, 200, 400, ... capped at 2 s, each with jitter.
const FIRST_BACKOFF_MS = 100;
const MAX_BACKOFF_MS = 2000;

/** The wait before attempt `attempt + 1`: somewhere in the upper half of its backoff step. */
function backoffMs(attempt: number): number {
  const step = Math.min(MAX_BACKOFF_MS, FIRST_BACKOFF_MS * 2 ** (attempt - 1));
  return step / 2 + (Math.random() * step) / 2;
}

const sleep = (ms: number) =>
  new Promise<void>((resolve) => {
    setTimeout(resolve, ms);
  });

/** The request's name in logs and metrics: ids become `{id}`, so the names are few. */
function requestName(method: string, path: string): string {
  const route = (path.split("?")[0] ?? path).replace(/\/\d+(?=\/|$)/g, "/{id}");
  return `${method} ${route}`;
}

/** An attempt that another one may get past, with the wait the backend asked for (Retry-After). */
type Unanswered = { final: false; failure: BackendFailure; problem: string; retryAfterMs: number | null };

/** One attempt's end: final (an answer, or a request that could not be made), or unanswered. */
type Attempt<Value> = { final: true; result: BackendResult<Value>; replayed: boolean } | Unanswered;

/** The end of an attempt that failed for want of an answer in time or of a connection, else null. */
function unanswered(error: unknown): Unanswered | null {
  if (isTimeout(error)) return { final: false, failure: { kind: "timeout" }, problem: "timeout", retryAfterMs: null };
  const problem = connectionProblem(error);
  return problem === null ? null : { final: false, failure: { kind: "unavailable" }, problem, retryAfterMs: null };
}

type PageQuery = { status: StatusFilter; limit: number; cursor: string | null };

function pageSearch(query: PageQuery): string {
  const params = new URLSearchParams({ status: query.status, limit: String(query.limit) });
  if (query.cursor !== null) params.set("cursor", query.cursor);
  return params.toString();
}

export function createBackendClient({
  baseUrl,
  timeoutMs,
  retryBudgetMs,
  onFailure,
  onRetries,
  forwardedFor,
}: BackendClientOptions) {
  const root = baseUrl.replace(/\/+$/, "");

  async function attempt<Value>(url: string, init: RequestInit, parse: Parser<Value>): Promise<Attempt<Value>> {
    let response: Response;
    try {
      response = await fetch(url, { ...init, signal: AbortSignal.timeout(timeoutMs) });
    } catch (error) {
      const failure: BackendFailure = { kind: "unavailable" };
      return unanswered(error) ?? { final: true, result: { ok: false, failure }, replayed: false };
    }
    const answer = (result: BackendResult<Value>): Attempt<Value> => ({
      final: true,
      result,
      replayed: response.headers.get("idempotent-replayed") === "true",
    });
    try {
      if (!response.ok) {
        const failure = failureForStatus(response.status, response);
        // A 422's body says which fields were refused and why; other failures' bodies are not read.
        if (response.status === 422 && failure.kind === "invalid") {
          failure.fieldErrors = refusedFields(await response.json().catch((): Json => null));
        } else {
          await response.body?.cancel();
        }
        if (!RETRYABLE_STATUSES.has(response.status)) return answer({ ok: false, failure });
        const retryAfter = retryAfterSeconds(response);
        return {
          final: false,
          failure,
          problem: String(response.status),
          retryAfterMs: retryAfter === null ? null : retryAfter * 1000,
        };
      }
      const value = parse(response.status === 204 ? null : ((await response.json()) as Json));
      if (value === null) return answer({ ok: false, failure: { kind: "unexpected", status: response.status } });
      return answer({ ok: true, value });
    } catch (error) {
      // The body can time out or be cut off after the headers arrived.
      return unanswered(error) ?? answer({ ok: false, failure: { kind: "unexpected", status: response.status } });
    }
  }

  async function call<Value>(
    method: "GET" | "POST" | "PATCH" | "DELETE",
    path: string,
    parse: Parser<Value>,
    { token, body, idempotencyKey }: { token?: string; body?: Json; idempotencyKey?: string } = {},
  ): Promise<BackendResult<Value>> {
    const request = requestName(method, path);
    const headers: Record<string, string> = { accept: "application/json" };
    if (token !== undefined) headers.authorization = `Bearer ${token}`;
    if (body !== undefined) headers["content-type"] = "application/json";
    if (idempotencyKey !== undefined) headers["idempotency-key"] = idempotencyKey;
    if (forwardedFor !== undefined) {
      headers["x-client-address"] = forwardedFor.address;
      headers["x-client-address-secret"] = forwardedFor.secret;
    }
    const init: RequestInit = {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      cache: "no-store",
    };
    // A read changes nothing, and the backend answers a repeated key with the first answer: both
    // are safe to send again. A write without a key could be written twice.
    const mayRetry = method === "GET" || idempotencyKey !== undefined;

    const started = performance.now();
    const problems: string[] = [];
    let attempts = 0;
    let waitedMs = 0;
    const end = (result: BackendResult<Value>, outcome: RetryOutcome, replayed: boolean): BackendResult<Value> => {
      if (attempts > 1) {
        const elapsedMs = Math.round(performance.now() - started);
        onRetries?.({ request, attempts, waitedMs, elapsedMs, outcome, problems, replayed });
      }
      if (!result.ok) onFailure?.(result.failure, request);
      return result;
    };

    for (;;) {
      attempts += 1;
      const outcome = await attempt(`${root}${path}`, init, parse);
      if (outcome.final) return end(outcome.result, "recovered", outcome.replayed);
      problems.push(outcome.problem);
      const wait = mayRetry ? waitBeforeRetry(started, attempts, outcome.retryAfterMs) : null;
      if (wait === null) return end({ ok: false, failure: outcome.failure }, "gave_up", false);
      await sleep(wait);
      waitedMs += Math.round(wait);
    }
  }

  /**
   * How long to wait before the next attempt, or null when the budget is spent: the backoff, or
   * the wait the backend asked for (Retry-After). A wait that would end past the budget is cut
   * short, for a last attempt as the budget ends.
   */
  function waitBeforeRetry(started: number, attempts: number, retryAfterMs: number | null): number | null {
    const remaining = retryBudgetMs - (performance.now() - started);
    if (remaining <= 0) return null;
    return Math.min(retryAfterMs ?? backoffMs(attempts), remaining);
  }

  // Every write a person makes carries the key of their action (src/lib/idempotency.ts), so it
  // may be sent again; logging in, which writes nothing the person could see twice, does not.
  return {
    health: () => call("GET", "/health", (body) => (isRecord(body) && body.status === "ok" ? true : null)),
    signUp: (email: string, password: string, idempotencyKey: string) =>
      call("POST", "/auth/signup", parseSession, { body: { email, password }, idempotencyKey }),
    logIn: (email: string, password: string) => call("POST", "/auth/login", parseSession, { body: { email, password } }),
    /** Ends this token's session on the backend: it is refused from now on. */
    logOut: (token: string, idempotencyKey: string) =>
      call("POST", "/auth/logout", parseNoContent, { token, idempotencyKey }),
    /** Ends every session of the token's user, this one included. */
    logOutEverywhere: (token: string, idempotencyKey: string) =>
      call("POST", "/auth/logout-everywhere", parseNoContent, { token, idempotencyKey }),
    me: (token: string) => call("GET", "/me", parseUser, { token }),
    /** A page of the list: the newest, or the one a page's cursor leads to. */
    listTodos: (token: string, query: PageQuery) => call("GET", `/todos?${pageSearch(query)}`, parseTodoPage, { token }),
    /**
     * The user and a page of the list in one call (`GET /me/todos`). A backend older than the
     * endpoint answers not_found: ask me() and listTodos() instead.
     */
    todosView: (token: string, query: PageQuery) =>
      call("GET", `/me/todos?${pageSearch(query)}`, parseListView, { token }),
    createTodo: (token: string, input: TodoInput, idempotencyKey: string) =>
      call("POST", "/todos", parseTodo, { token, body: input, idempotencyKey }),
    updateTodo: (token: string, id: number, changes: TodoChanges, idempotencyKey: string) =>
      call("PATCH", `/todos/${id}`, parseTodo, { token, body: changes, idempotencyKey }),
    setCompleted: (token: string, id: number, completed: boolean, idempotencyKey: string) =>
      call("POST", `/todos/${id}/${completed ? "complete" : "uncomplete"}`, parseTodo, { token, idempotencyKey }),
    deleteTodo: (token: string, id: number, idempotencyKey: string) =>
      call("DELETE", `/todos/${id}`, parseNoContent, { token, idempotencyKey }),
  };
}

export type BackendClient = ReturnType<typeof createBackendClient>;
