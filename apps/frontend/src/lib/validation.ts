// Input rules shared by the forms and the server actions. They mirror the
// backend's contract so most mistakes are caught before a round trip.

export const PASSWORD_MIN = 8;
export const PASSWORD_MAX = 128;
export const TITLE_MAX = 200;
export const DESCRIPTION_MAX = 2000;
export const PAGE_SIZE = 20;

export const STATUS_FILTERS = ["all", "open", "done"] as const;
export type StatusFilter = (typeof STATUS_FILTERS)[number];

export type FieldErrors<Field extends string> = Partial<Record<Field, string>>;

export type Credentials = { email: string; password: string };
export type TodoInput = { title: string; description: string | null };

export type Validated<Value, Field extends string> =
  | { ok: true; value: Value }
  | { ok: false; errors: FieldErrors<Field> };

// Deliberately loose: the backend does the authoritative check; this only
// catches obvious typos such as a missing "@" or domain.
const EMAIL_SHAPE = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

function text(form: FormData, name: string): string {
  const value = form.get(name);
  return typeof value === "string" ? value : "";
}

/**
 * Signing up enforces the password rules; logging in only needs something
 * typed, so people with an older password are not told it is "too short".
 */
export function readCredentials(
  form: FormData,
  mode: "signup" | "login",
): Validated<Credentials, "email" | "password"> {
  const email = text(form, "email").trim();
  const password = text(form, "password");
  const errors: FieldErrors<"email" | "password"> = {};
  if (email === "") {
    errors.email = "Enter your email address.";
  } else if (!EMAIL_SHAPE.test(email)) {
    errors.email = "Enter an email address like name@example.com.";
  }
  if (password === "") {
    errors.password = "Enter your password.";
  } else if (mode === "login") {
    // Nothing more to check before asking the backend.
  } else if (password.length < PASSWORD_MIN) {
    errors.password = `Use at least ${PASSWORD_MIN} characters.`;
  } else if (password.length > PASSWORD_MAX) {
    errors.password = `Use at most ${PASSWORD_MAX} characters.`;
  }
  return Object.keys(errors).length > 0 ? { ok: false, errors } : { ok: true, value: { email, password } };
}

export function readTodoInput(form: FormData): Validated<TodoInput, "title" | "description"> {
  const title = text(form, "title").trim();
  const description = text(form, "description").trim();
  const errors: FieldErrors<"title" | "description"> = {};
  if (title === "") {
    errors.title = "Give the todo a title.";
  } else if (title.length > TITLE_MAX) {
    errors.title = `Keep the title under ${TITLE_MAX + 1} characters.`;
  }
  if (description.length > DESCRIPTION_MAX) {
    errors.description = `Keep the description under ${DESCRIPTION_MAX + 1} characters.`;
  }
  return Object.keys(errors).length > 0
    ? { ok: false, errors }
    : { ok: true, value: { title, description: description === "" ? null : description } };
}

export function readTodoId(form: FormData): number | null {
  const raw = text(form, "id");
  if (!/^[1-9]\d{0,15}$/.test(raw)) {
    return null;
  }
  const id = Number(raw);
  return Number.isSafeInteger(id) ? id : null;
}

type SearchParam = string | string[] | undefined;

function first(param: SearchParam): string | undefined {
  return Array.isArray(param) ? param[0] : param;
}

export function parseStatusFilter(param: SearchParam): StatusFilter {
  const value = first(param);
  return STATUS_FILTERS.find((filter) => filter === value) ?? "all";
}

// The backend's cursors are opaque base64url text; anything else means the first page.
const CURSOR_SHAPE = /^[A-Za-z0-9_-]{1,40}$/;

export function parseCursor(param: SearchParam): string | null {
  const value = first(param);
  return value !== undefined && CURSOR_SHAPE.test(value) ? value : null;
}

/** Query string for a list view; the defaults are left out to keep URLs short. */
export function listHref(filter: StatusFilter, cursor: string | null = null): string {
  const params = new URLSearchParams();
  if (filter !== "all") {
    params.set("status", filter);
  }
  if (cursor !== null) {
    params.set("cursor", cursor);
  }
  const query = params.toString();
  return query === "" ? "/todos" : `/todos?${query}`;
}
