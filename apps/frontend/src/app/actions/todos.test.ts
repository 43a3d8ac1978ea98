import { beforeEach, describe, expect, it, vi } from "vitest";

import type { BackendResult } from "@/lib/backend-client";
import { todoActionState, todoFormState } from "@/lib/form-state";
import { isIdempotencyKey } from "@/lib/idempotency";

import { addTodo, deleteTodo, editTodo, setTodoCompleted } from "./todos";

// What the actions sent to the backend, and what it answers next.
const backendCalls = vi.hoisted(() => [] as { call: string; key: string }[]);
const answer = vi.hoisted(() => ({ next: null as BackendResult<unknown> | null }));

vi.mock("next/cache", () => ({ revalidatePath: () => undefined }));
vi.mock("next/navigation", () => ({
  redirect: (to: string) => {
    throw new Error(`redirect to ${to}`);
  },
}));
vi.mock("@/lib/server/session", () => ({
  readSessionToken: () => Promise.resolve("tok"),
  clearSession: () => Promise.resolve(),
}));
vi.mock("@/lib/server/backend", () => {
  const respond = (call: string, key: string) => {
    backendCalls.push({ call, key });
    return Promise.resolve(answer.next ?? { ok: true, value: true });
  };
  return {
    backend: () => ({
      createTodo: (_token: string, _input: unknown, key: string) => respond("createTodo", key),
      updateTodo: (_token: string, id: number, _input: unknown, key: string) => respond(`updateTodo ${id}`, key),
      setCompleted: (_token: string, id: number, completed: boolean, key: string) =>
        respond(`setCompleted ${id} ${completed}`, key),
      deleteTodo: (_token: string, id: number, key: string) => respond(`deleteTodo ${id}`, key),
    }),
  };
});

const KEY = "5b1d0f4e-2c3a-4e8b-9f6d-7a8c1e2b3d4f";

function form(fields: Record<string, string>): FormData {
  const data = new FormData();
  for (const [name, value] of Object.entries(fields)) data.set(name, value);
  return data;
}

const EMPTY = todoFormState({ title: "", description: "" }, KEY);

beforeEach(() => {
  backendCalls.length = 0;
  answer.next = null;
});

describe("the todo actions' idempotency keys", () => {
  it("send the form's key, and give the next add a new one once it is saved", async () => {
    const first = await addTodo(EMPTY, form({ title: "Buy milk", idempotencyKey: KEY }));
    expect(first.status).toBe("saved");
    expect(first.idempotencyKey).not.toBe(KEY);
    expect(isIdempotencyKey(first.idempotencyKey)).toBe(true);

    const second = await addTodo(first, form({ title: "Buy bread", idempotencyKey: first.idempotencyKey }));
    expect(second.idempotencyKey).not.toBe(first.idempotencyKey);
    expect(backendCalls).toEqual([
      { call: "createTodo", key: KEY },
      { call: "createTodo", key: first.idempotencyKey },
    ]);
  });

  it.each([
    ["no key", {}],
    ["a key too short", { idempotencyKey: "too-short" }],
    ["a key with other characters", { idempotencyKey: "5b1d0f4e 2c3a 4e8b 9f6d 7a8c1e2b3d4f" }],
  ])("mint a key in the action when the form has %s", async (_, fields) => {
    const state = await addTodo(EMPTY, form({ title: "Buy milk", ...fields }));
    const sent = backendCalls[0]?.key;
    expect(isIdempotencyKey(sent)).toBe(true);
    expect(sent).not.toBe(KEY);
    expect(state.status).toBe("saved");
  });

  it("keep the key when the outcome is unknown, so the same todo sent again is the same action", async () => {
    answer.next = { ok: false, failure: { kind: "unavailable" } };
    const failed = await addTodo(EMPTY, form({ title: "Buy milk", idempotencyKey: KEY }));
    expect(failed).toMatchObject({ status: "error", values: { title: "Buy milk" }, idempotencyKey: KEY });
    answer.next = { ok: false, failure: { kind: "timeout" } };
    const edited = await editTodo(failed, form({ id: "7", title: "Buy milk", idempotencyKey: KEY }));
    expect(edited.idempotencyKey).toBe(KEY);
    const toggled = await setTodoCompleted(
      todoActionState(KEY),
      form({ id: "7", completed: "true", idempotencyKey: KEY }),
    );
    expect(toggled.idempotencyKey).toBe(KEY);
  });

  it("keep the key when the input is refused before anything is sent", async () => {
    const refused = await addTodo(EMPTY, form({ title: " ", idempotencyKey: KEY }));
    expect(refused).toMatchObject({ status: "error", idempotencyKey: KEY });
    expect(backendCalls).toEqual([]);
  });

  it("renew the key once the backend has answered, even with a refusal", async () => {
    answer.next = { ok: false, failure: { kind: "invalid", fieldErrors: {} } };
    const refused = await editTodo(EMPTY, form({ id: "7", title: "B", idempotencyKey: KEY }));
    expect(refused.status).toBe("error");
    expect(refused.idempotencyKey).not.toBe(KEY);
    expect(isIdempotencyKey(refused.idempotencyKey)).toBe(true);
  });

  it("answer a complete or reopen with the completion the backend confirmed", async () => {
    const updatedAt = "2026-12-07T18:20:27.004123+00:00";
    answer.next = {
      ok: true,
      value: { id: 7, title: "Buy milk", description: null, completed: true, createdAt: updatedAt, updatedAt },
    };
    const completed = await setTodoCompleted(todoActionState(KEY), form({ id: "7", completed: "true", idempotencyKey: KEY }));
    expect(completed.answered).toEqual({ completed: true, updatedAt });
    answer.next = { ok: false, failure: { kind: "timeout" } };
    const unknown = await setTodoCompleted(completed, form({ id: "7", completed: "false", idempotencyKey: completed.idempotencyKey }));
    expect(unknown.answered).toBeNull();
  });

  it("send completing, reopening and deleting with the form's key", async () => {
    const completed = await setTodoCompleted(
      todoActionState(KEY),
      form({ id: "7", completed: "true", idempotencyKey: KEY }),
    );
    const reopened = await setTodoCompleted(
      completed,
      form({ id: "7", completed: "false", idempotencyKey: completed.idempotencyKey }),
    );
    const deleted = await deleteTodo(reopened, form({ id: "7", idempotencyKey: reopened.idempotencyKey }));
    expect(backendCalls).toEqual([
      { call: "setCompleted 7 true", key: KEY },
      { call: "setCompleted 7 false", key: completed.idempotencyKey },
      { call: "deleteTodo 7", key: reopened.idempotencyKey },
    ]);
    expect(new Set([KEY, completed.idempotencyKey, reopened.idempotencyKey, deleted.idempotencyKey]).size).toBe(4);
  });
});
