"use server";

import { revalidatePath } from "next/cache";
import { redirect } from "next/navigation";

import type { BackendFailure, BackendResult } from "@/lib/backend-client";
import type { CompletionAnswer, TodoActionState, TodoFormState } from "@/lib/form-state";
import { idempotencyKeyOf, nextIdempotencyKey } from "@/lib/idempotency";
import { todoFailureMessage } from "@/lib/messages";
import { backend } from "@/lib/server/backend";
import { clearSession, readSessionToken } from "@/lib/server/session";
import { readTodoId, readTodoInput } from "@/lib/validation";

// Each action sends the key its form was rendered with (a new one when the form has none), and
// answers with the key of the form's next action: the same one after a failure whose outcome is
// unknown, so that sending the form again is recognised as the same action, else a new one.

async function requireToken(): Promise<string> {
  const token = await readSessionToken();
  if (token === null) redirect("/login");
  return token;
}

/** An expired or revoked token sends the person back to log in. */
async function leaveIfUnauthorized(failure: BackendFailure): Promise<void> {
  if (failure.kind === "unauthorized") {
    await clearSession();
    redirect("/login?expired=1");
  }
}

function formValues(form: FormData): TodoFormState["values"] {
  const title = form.get("title");
  const description = form.get("description");
  return {
    title: typeof title === "string" ? title : "",
    description: typeof description === "string" ? description : "",
  };
}

type Save = (
  token: string,
  input: { title: string; description: string | null },
  idempotencyKey: string,
) => Promise<BackendResult<unknown>>;

async function saveTodo(form: FormData, save: Save): Promise<TodoFormState> {
  const values = formValues(form);
  const idempotencyKey = idempotencyKeyOf(form);
  const input = readTodoInput(form);
  if (!input.ok) {
    return { status: "error", values, fieldErrors: input.errors, formError: null, idempotencyKey };
  }
  const result = await save(await requireToken(), input.value, idempotencyKey);
  if (!result.ok) {
    await leaveIfUnauthorized(result.failure);
    return {
      status: "error",
      values,
      fieldErrors: {},
      formError: todoFailureMessage(result.failure),
      idempotencyKey: nextIdempotencyKey(idempotencyKey, result.failure),
    };
  }
  revalidatePath("/todos");
  return {
    status: "saved",
    values: { title: "", description: "" },
    fieldErrors: {},
    formError: null,
    idempotencyKey: nextIdempotencyKey(idempotencyKey, null),
  };
}

export async function addTodo(_state: TodoFormState, form: FormData): Promise<TodoFormState> {
  return saveTodo(form, (token, input, key) => backend().createTodo(token, input, key));
}

export async function editTodo(state: TodoFormState, form: FormData): Promise<TodoFormState> {
  const id = readTodoId(form);
  if (id === null) {
    return { ...state, status: "error", formError: "This todo could not be identified. Reload the page." };
  }
  return saveTodo(form, (token, input, key) => backend().updateTodo(token, id, input, key));
}

async function changeTodo<Value>(
  form: FormData,
  change: (token: string, id: number, idempotencyKey: string) => Promise<BackendResult<Value>>,
  answeredBy: (value: Value) => CompletionAnswer | null,
): Promise<TodoActionState> {
  const idempotencyKey = idempotencyKeyOf(form);
  const id = readTodoId(form);
  if (id === null) return { error: "This todo could not be identified. Reload the page.", idempotencyKey, answered: null };
  const result = await change(await requireToken(), id, idempotencyKey);
  if (!result.ok) {
    await leaveIfUnauthorized(result.failure);
    if (result.failure.kind === "not_found") revalidatePath("/todos");
    return {
      error: todoFailureMessage(result.failure),
      idempotencyKey: nextIdempotencyKey(idempotencyKey, result.failure),
      answered: null,
    };
  }
  revalidatePath("/todos");
  return { error: null, idempotencyKey: nextIdempotencyKey(idempotencyKey, null), answered: answeredBy(result.value) };
}

export async function setTodoCompleted(_state: TodoActionState, form: FormData): Promise<TodoActionState> {
  const completed = form.get("completed") === "true";
  return changeTodo(
    form,
    (token, id, key) => backend().setCompleted(token, id, completed, key),
    (todo) => ({ completed: todo.completed, updatedAt: todo.updatedAt }),
  );
}

export async function deleteTodo(_state: TodoActionState, form: FormData): Promise<TodoActionState> {
  return changeTodo(form, (token, id, key) => backend().deleteTodo(token, id, key), () => null);
}
