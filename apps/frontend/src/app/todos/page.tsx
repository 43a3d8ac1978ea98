import type { Metadata } from "next";
import { redirect } from "next/navigation";

import { addTodo, editTodo, setTodoCompleted } from "@/app/actions/todos";
import { AddTodoForm } from "@/components/add-todo-form";
import { EmptyState } from "@/components/empty-state";
import { FilterTabs } from "@/components/filter-tabs";
import { LogOutEverywhereForm } from "@/components/log-out-form";
import { Pager } from "@/components/pager";
import { ServiceProblem } from "@/components/service-problem";
import { TodoItem, type TodoItemActions, type TodoItemKeys } from "@/components/todo-item";
import { TopBar } from "@/components/top-bar";
import { summaryOf } from "@/lib/counts";
import { newIdempotencyKey } from "@/lib/idempotency";
import { readSessionToken } from "@/lib/server/session";
import { loadTodosView } from "@/lib/server/todos-view";
import { listHref, parseCursor, parseStatusFilter } from "@/lib/validation";

export const metadata: Metadata = { title: "Your todos" };

const itemActions: TodoItemActions = { edit: editTodo, setCompleted: setTodoCompleted };

// Every form that writes gets the key of its first action here, on each render of the page
// (src/lib/idempotency.ts); the forms then take the next key from their action's answer.
function itemKeys(): TodoItemKeys {
  return { edit: newIdempotencyKey(), setCompleted: newIdempotencyKey(), delete: newIdempotencyKey() };
}

type TodosPageProps = { searchParams: Promise<Record<string, string | string[] | undefined>> };

export default async function TodosPage({ searchParams }: TodosPageProps) {
  const token = await readSessionToken();
  if (token === null) redirect("/login");
  const params = await searchParams;
  const filter = parseStatusFilter(params.status);
  const cursor = parseCursor(params.cursor);
  const view = await loadTodosView(token, filter, cursor);

  if (view.kind === "unauthorized") redirect("/login?expired=1");
  if (view.kind === "unknown-cursor") redirect(listHref(filter));

  if (view.kind === "problem") {
    return (
      <>
        <TopBar email={null} logOutKey={newIdempotencyKey()} />
        <main className="page" id="main">
          <section className="card list-card" aria-labelledby="list-title">
            <h1 id="list-title" className="list-title" tabIndex={-1}>
              Your todos
            </h1>
            <ServiceProblem problem={view.problem} />
          </section>
        </main>
      </>
    );
  }

  const { page, email } = view;
  const { counts } = page;
  // A page emptied by deletions (say, the last todo of the oldest page) shows the newer one.
  if (page.items.length === 0 && cursor !== null) redirect(listHref(filter, page.newerCursor));

  return (
    <>
      <TopBar email={email} logOutKey={newIdempotencyKey()} />
      <main className="page" id="main">
        <section className="card list-card" aria-labelledby="list-title">
          <div className="list-header">
            <h1 id="list-title" className="list-title" tabIndex={-1}>
              Your todos
            </h1>
            {counts !== null && <p className="list-summary">{summaryOf(counts)}</p>}
          </div>
          <AddTodoForm action={addTodo} idempotencyKey={newIdempotencyKey()} />
          <FilterTabs current={filter} counts={counts} />
          {page.items.length === 0 ? (
            <EmptyState filter={filter} />
          ) : (
            <ul className="todo-list" aria-label="Todos">
              {page.items.map((todo) => (
                <TodoItem key={todo.id} todo={todo} actions={itemActions} keys={itemKeys()} />
              ))}
            </ul>
          )}
          <Pager filter={filter} page={page} />
        </section>
        <div className="session-actions">
          <LogOutEverywhereForm idempotencyKey={newIdempotencyKey()} />
        </div>
      </main>
    </>
  );
}
