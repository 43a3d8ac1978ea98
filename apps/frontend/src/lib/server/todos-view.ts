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

/** Everything the list page shows, fetched in parallel (the page carries the counts). */
export async function loadTodosView(token: string, filter: StatusFilter, cursor: string | null): Promise<TodosView> {
  const client = backend();
  const [me, list] = await Promise.all([
    client.me(token),
    client.listTodos(token, { status: filter, limit: PAGE_SIZE, cursor }),
  ]);
  if (!me.ok) return viewOfFailure(me.failure);
  // A cursor the backend refuses (edited by hand, or from an older release) starts over.
  if (!list.ok && list.failure.kind === "invalid" && cursor !== null) return { kind: "unknown-cursor" };
  if (!list.ok) return viewOfFailure(list.failure);
  return { kind: "ok", email: me.value.email, page: list.value };
}
