import "server-only";

import type { BackendFailure, TodoPage } from "../backend-client";
import { complementOf, countsFrom, type Counts } from "../counts";
import { outageOf, type LoadProblem } from "../messages";
import { PAGE_SIZE, type StatusFilter } from "../validation";
import { backend } from "./backend";

export type TodosView =
  | { kind: "ok"; email: string; page: TodoPage; counts: Counts }
  | { kind: "problem"; problem: LoadProblem }
  | { kind: "unauthorized" };

function viewOfFailure(failure: BackendFailure): TodosView {
  if (failure.kind === "unauthorized") return { kind: "unauthorized" };
  return { kind: "problem", problem: outageOf(failure) ?? "error" };
}

/** Everything the list page shows, fetched in parallel. */
export async function loadTodosView(token: string, filter: StatusFilter, pageNumber: number): Promise<TodosView> {
  const client = backend();
  const [me, list, complement] = await Promise.all([
    client.me(token),
    client.listTodos(token, { status: filter, limit: PAGE_SIZE, offset: (pageNumber - 1) * PAGE_SIZE }),
    client.listTodos(token, { status: complementOf(filter), limit: 1, offset: 0 }),
  ]);
  if (!me.ok) return viewOfFailure(me.failure);
  if (!list.ok) return viewOfFailure(list.failure);
  if (!complement.ok) return viewOfFailure(complement.failure);
  return {
    kind: "ok",
    email: me.value.email,
    page: list.value,
    counts: countsFrom(filter, list.value.total, complement.value.total),
  };
}
