import type { FieldErrors } from "./validation";

// Every state of a form that writes carries `idempotencyKey`: the key its next submission is
// sent with (src/lib/idempotency.ts). The first comes from the server component that renders
// the form; after that, each answer of the action names the next one.

export type AuthFormState = {
  email: string;
  fieldErrors: FieldErrors<"email" | "password">;
  formError: string | null;
  /** Signing up writes, and is keyed; logging in is not (null). */
  idempotencyKey: string | null;
};

export function authFormState(idempotencyKey: string | null): AuthFormState {
  return { email: "", fieldErrors: {}, formError: null, idempotencyKey };
}

export type TodoFormState = {
  status: "idle" | "saved" | "error";
  values: { title: string; description: string };
  fieldErrors: FieldErrors<"title" | "description">;
  formError: string | null;
  idempotencyKey: string;
};

export function todoFormState(values: TodoFormState["values"], idempotencyKey: string): TodoFormState {
  return { status: "idle", values, fieldErrors: {}, formError: null, idempotencyKey };
}

/** The completion a change left its todo in, as the backend answered it. */
export type CompletionAnswer = { completed: boolean; updatedAt: string };

/**
 * Outcome of a one-click change (complete, reopen, delete) on a single todo; `answered` is
 * the completion the backend confirmed, after a successful complete or reopen.
 */
export type TodoActionState = { error: string | null; idempotencyKey: string; answered: CompletionAnswer | null };

export function todoActionState(idempotencyKey: string): TodoActionState {
  return { error: null, idempotencyKey, answered: null };
}

export type SaveTodoAction = (state: TodoFormState, form: FormData) => Promise<TodoFormState>;
export type TodoAction = (state: TodoActionState, form: FormData) => Promise<TodoActionState>;
export type AuthAction = (state: AuthFormState, form: FormData) => Promise<AuthFormState>;
