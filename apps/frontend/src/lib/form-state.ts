import type { FieldErrors } from "./validation";

export type AuthFormState = {
  email: string;
  fieldErrors: FieldErrors<"email" | "password">;
  formError: string | null;
};

export const initialAuthFormState: AuthFormState = { email: "", fieldErrors: {}, formError: null };

export type TodoFormState = {
  status: "idle" | "saved" | "error";
  values: { title: string; description: string };
  fieldErrors: FieldErrors<"title" | "description">;
  formError: string | null;
};

export function todoFormState(values: TodoFormState["values"]): TodoFormState {
  return { status: "idle", values, fieldErrors: {}, formError: null };
}

/** Outcome of a one-click change (complete, reopen, delete) on a single todo. */
export type TodoActionState = { error: string | null };

export const initialTodoActionState: TodoActionState = { error: null };

export type SaveTodoAction = (state: TodoFormState, form: FormData) => Promise<TodoFormState>;
export type TodoAction = (state: TodoActionState, form: FormData) => Promise<TodoActionState>;
export type AuthAction = (state: AuthFormState, form: FormData) => Promise<AuthFormState>;
