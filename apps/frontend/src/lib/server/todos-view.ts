import "server-only";

import type { BackendFailure, TodoPage } from "../backend-client";
import { outageOf, type LoadProblem } from "../messages";
import { PAGE_SIZE, type StatusFilter } from "../validation";
import { backend } from "./backend";

export type TodosView =
  | { kind: "ok"; email: string; page: TodoPage }
  | { kind: "problem"; problem: LoadProblem }
  | { kind: "unknown-cursor" }
  | { kind: "unauthorized" };

function viewOfFailure(failure: BackendFailure): TodosView {
  if (failure.kind === "unauthorized") return { kind: "unauthorized" };
  return { kind: "problem", problem: outageOf(failure) ?? "error" };
}

/** Everything the list page shows, in one backend call (two, from a backend older than it). */
export async function loadTodosView(token: string, filter: StatusFilter, cursor: string | null): Promise<TodosView> {
  const client = backend();
  const query = { status: filter, limit: PAGE_SIZE, cursor };
  const view = await client.todosView(token, query);
  if (view.ok) return { kind: "ok", email: view.value.user.email, page: view.value.page };
  if (view.failure.kind !== "not_found") return viewOfList(view.failure, cursor);
  // A backend without GET /me/todos (for the minutes of a rolling update, or a rollback).
  const [me, list] = await Promise.all([client.me(token), client.listTodos(token, query)]);
  if (!me.ok) return viewOfFailure(me.failure);
  if (!list.ok) return viewOfList(list.failure, cursor);
  return { kind: "ok", email: me.value.email, page: list.value };
}

function viewOfList(failure: BackendFailure, cursor: string | null): TodosView {
  // A cursor the backend refuses (edited by hand, or from an older release) starts over.
  if (failure.kind === "invalid" && cursor !== null) return { kind: "unknown-cursor" };
  return viewOfFailure(failure);
}
