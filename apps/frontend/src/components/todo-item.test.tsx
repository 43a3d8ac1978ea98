// @vitest-environment jsdom

import { cleanup, render, screen, waitFor } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";

import type { Todo } from "@/lib/backend-client";
import type { TodoAction, TodoActionState, TodoFormState } from "@/lib/form-state";

import { DeleteWithUndoProvider } from "./delete-with-undo";

const refreshes = vi.hoisted(() => ({ count: 0 }));
vi.mock("next/navigation", () => ({
  useRouter: () => ({
    refresh: () => {
      refreshes.count += 1;
    },
  }),
}));
import { TodoItem, type TodoItemActions, type TodoItemKeys } from "./todo-item";

const TODO: Todo = {
  id: 3,
  title: "Renew passport",
  description: "Photos first",
  completed: false,
  createdAt: "2026-01-01T10:00:00Z",
  updatedAt: "2026-01-01T10:00:00Z",
};

/** The keys the page minted for the row. */
const KEYS: TodoItemKeys = {
  edit: "edit-0000000000000001",
  setCompleted: "complete-000000000001",
  delete: "delete-00000000000001",
};

type Call = { action: string; fields: Record<string, string> };

/**
 * Actions that record what the form sent and answer as the server actions would: a success
 * names a new key for the next action.
 */
function recordingActions(answers: {
  edit?: (state: TodoFormState) => TodoFormState;
  setCompleted?: TodoActionState;
  remove?: TodoActionState;
}): { actions: TodoItemActions; deleteTodo: TodoAction; calls: Call[] } {
  const calls: Call[] = [];
  const keyOf = (form: FormData): string => {
    const key = form.get("idempotencyKey");
    return typeof key === "string" ? key : "";
  };
  const record = (action: string, form: FormData) => {
    const fields: Record<string, string> = {};
    form.forEach((value, name) => {
      if (typeof value === "string") fields[name] = value;
    });
    calls.push({ action, fields });
  };
  return {
    calls,
    deleteTodo: (_state, form) => {
      record("remove", form);
      return Promise.resolve(answers.remove ?? { error: null, idempotencyKey: `next-${keyOf(form)}`, answered: null });
    },
    actions: {
      edit: (state, form) => {
        record("edit", form);
        return Promise.resolve(
          answers.edit?.(state) ?? { ...state, status: "saved", idempotencyKey: `next-${state.idempotencyKey}` },
        );
      },
      setCompleted: (_state, form) => {
        record("setCompleted", form);
        return Promise.resolve(
          answers.setCompleted ?? { error: null, idempotencyKey: `next-${keyOf(form)}`, answered: null },
        );
      },
    },
  };
}

/** The todo in a list, under the provider that defers deletions as the list page does. */
function listOf(todo: Todo, { actions, deleteTodo }: { actions: TodoItemActions; deleteTodo: TodoAction }) {
  return (
    <DeleteWithUndoProvider deleteTodo={deleteTodo} focusAfterDismissId="heading">
      <h1 id="heading" tabIndex={-1}>
        Todos
      </h1>
      <ul>
        <TodoItem todo={todo} actions={actions} keys={KEYS} />
      </ul>
    </DeleteWithUndoProvider>
  );
}

afterEach(cleanup);
beforeEach(() => {
  refreshes.count = 0;
});

describe("TodoItem", () => {
  it("shows the title, the description and the completion state", () => {
    const recorded = recordingActions({});
    render(listOf({ ...TODO, completed: true }, recorded));
    expect(screen.getByText("Renew passport")).toBeTruthy();
    expect(screen.getByText("Photos first")).toBeTruthy();
    expect(screen.getByRole("button", { name: "Done: Renew passport" }).getAttribute("aria-pressed")).toBe("true");
    expect(screen.getByRole("listitem").className).toContain("is-done");
  });

  it("asks to complete an open todo and to reopen a done one", async () => {
    const user = userEvent.setup();
    const recorded = recordingActions({});
    const { calls } = recorded;
    const { rerender } = render(listOf(TODO, recorded));
    await user.click(screen.getByRole("button", { name: "Done: Renew passport" }));
    await waitFor(() => {
      expect(calls).toEqual([
        { action: "setCompleted", fields: { id: "3", completed: "true", idempotencyKey: KEYS.setCompleted } },
      ]);
    });

    // Reopening is another action: it is sent with the key the first answer named.
    rerender(listOf({ ...TODO, completed: true }, recorded));
    await user.click(screen.getByRole("button", { name: "Done: Renew passport" }));
    await waitFor(() => {
      expect(calls[1]).toEqual({
        action: "setCompleted",
        fields: { id: "3", completed: "false", idempotencyKey: `next-${KEYS.setCompleted}` },
      });
    });
  });

  it("keeps a confirmed change when an older render of the page lands after it, and asks once for a fresh one", async () => {
    const user = userEvent.setup();
    const answeredAt = "2026-01-01T10:05:00.250000+00:00";
    const recorded = recordingActions({
      setCompleted: { error: null, idempotencyKey: "complete-000000000002", answered: { completed: true, updatedAt: answeredAt } },
    });
    const { calls } = recorded;
    const { rerender } = render(listOf(TODO, recorded));
    const toggle = () => screen.getByRole("button", { name: "Done: Renew passport" });
    await user.click(toggle());
    // The page still shows the todo as it was before the change (updated at 10:00).
    await waitFor(() => {
      expect(refreshes.count).toBe(1);
    });
    expect(toggle().getAttribute("aria-pressed")).toBe("true");
    expect(screen.getByRole("listitem").className).toContain("is-done");

    // The next click reopens what the person sees done.
    await user.click(toggle());
    await waitFor(() => {
      expect(calls[1]?.fields.completed).toBe("false");
    });

    // The fresh page agrees; no more refreshes.
    rerender(listOf({ ...TODO, completed: true, updatedAt: answeredAt }, recorded));
    expect(toggle().getAttribute("aria-pressed")).toBe("true");
    // A change made later elsewhere (a newer render) is shown as it is.
    rerender(listOf({ ...TODO, completed: false, updatedAt: "2026-01-01T10:07:00+00:00" }, recorded));
    expect(toggle().getAttribute("aria-pressed")).toBe("false");
    expect(refreshes.count).toBe(1);
  });

  it("shows why a change failed", async () => {
    const user = userEvent.setup();
    const recorded = recordingActions({
      setCompleted: {
        error: "We can't reach the todo service right now.",
        idempotencyKey: KEYS.setCompleted,
        answered: null,
      },
    });
    render(listOf(TODO, recorded));
    await user.click(screen.getByRole("button", { name: "Done: Renew passport" }));
    await waitFor(() => {
      expect(screen.getByRole("listitem").querySelector("[role=alert]")?.textContent).toBe(
        "We can't reach the todo service right now.",
      );
    });
  });

  it("hides a deleted todo at once and brings it back with Undo, sending nothing", async () => {
    const user = userEvent.setup();
    const recorded = recordingActions({});
    render(listOf(TODO, recorded));
    await user.click(screen.getByRole("button", { name: "Delete Renew passport" }));
    expect(screen.queryByRole("listitem")).toBeNull();
    expect(screen.getByRole("status").textContent).toContain("Deleted “Renew passport”.");

    await user.click(screen.getByRole("button", { name: "Undo" }));
    expect(screen.getByRole("listitem").textContent).toContain("Renew passport");
    expect(screen.getByRole("status").textContent).toBe("");
    expect(recorded.calls).toEqual([]);
  });

  it("from the keyboard: focus goes to Undo, and Escape deletes for good at once", async () => {
    const user = userEvent.setup();
    const recorded = recordingActions({});
    render(listOf(TODO, recorded));
    screen.getByRole("button", { name: "Delete Renew passport" }).focus();
    await user.keyboard("{Enter}");
    expect(document.activeElement).toBe(screen.getByRole("button", { name: "Undo" }));

    await user.keyboard("{Escape}");
    await waitFor(() => {
      expect(recorded.calls).toEqual([{ action: "remove", fields: { id: "3", idempotencyKey: KEYS.delete } }]);
    });
    expect(screen.queryByRole("listitem")).toBeNull();
    expect(document.activeElement).toBe(screen.getByRole("heading", { name: "Todos" }));
  });

  it("brings the todo back with the reason when deleting fails", async () => {
    const user = userEvent.setup();
    const recorded = recordingActions({
      remove: { error: "We can't reach the todo service right now.", idempotencyKey: KEYS.delete, answered: null },
    });
    render(listOf(TODO, recorded));
    screen.getByRole("button", { name: "Delete Renew passport" }).focus();
    await user.keyboard("{Enter}");
    await user.keyboard("{Escape}");
    expect((await screen.findByText(/was not deleted/)).closest("[role=alert]")?.textContent).toContain(
      "We can't reach the todo service right now.",
    );
    expect(screen.getByRole("listitem").textContent).toContain("Renew passport");
  });

  it("edits in place and closes once saved", async () => {
    const user = userEvent.setup();
    const recorded = recordingActions({});
    const { calls } = recorded;
    render(listOf(TODO, recorded));

    await user.click(screen.getByRole("button", { name: "Edit Renew passport" }));
    const title = screen.getByLabelText<HTMLInputElement>("Title");
    expect(document.activeElement).toBe(title);
    expect(title.value).toBe("Renew passport");
    expect(screen.getByLabelText<HTMLTextAreaElement>("Description").value).toBe("Photos first");

    await user.clear(title);
    await user.type(title, "Renew passport before May{Enter}");
    await waitFor(() => {
      expect(screen.queryByLabelText("Title")).toBeNull();
    });
    expect(calls).toEqual([
      {
        action: "edit",
        fields: { idempotencyKey: KEYS.edit, id: "3", title: "Renew passport before May", description: "Photos first" },
      },
    ]);
    expect(document.activeElement).toBe(screen.getByRole("button", { name: "Edit Renew passport" }));
  });

  it("keeps the editor open with the reason when saving fails", async () => {
    const user = userEvent.setup();
    const recorded = recordingActions({
      edit: (state) => ({ ...state, status: "error", fieldErrors: { title: "Give the todo a title." } }),
    });
    render(listOf(TODO, recorded));
    await user.click(screen.getByRole("button", { name: "Edit Renew passport" }));
    await user.click(screen.getByRole("button", { name: "Save" }));
    expect(await screen.findByText("Give the todo a title.")).toBeTruthy();
    expect(screen.getByLabelText("Title").getAttribute("aria-invalid")).toBe("true");
  });

  it("leaves the editor with Escape and returns focus to Edit", async () => {
    const user = userEvent.setup();
    const recorded = recordingActions({});
    const { calls } = recorded;
    render(listOf(TODO, recorded));
    await user.click(screen.getByRole("button", { name: "Edit Renew passport" }));
    await user.type(screen.getByLabelText("Title"), " changed");
    await user.keyboard("{Escape}");
    expect(screen.queryByLabelText("Title")).toBeNull();
    expect(screen.getByText("Renew passport")).toBeTruthy();
    expect(document.activeElement).toBe(screen.getByRole("button", { name: "Edit Renew passport" }));
    expect(calls).toEqual([]);
  });

  it("sends a second edit with the key the first one's answer named", async () => {
    const user = userEvent.setup();
    const recorded = recordingActions({});
    render(listOf(TODO, recorded));
    for (const title of ["Renew passport soon", "Renew passport now"]) {
      await user.click(screen.getByRole("button", { name: "Edit Renew passport" }));
      const field = screen.getByLabelText<HTMLInputElement>("Title");
      await user.clear(field);
      await user.type(field, `${title}{Enter}`);
      await waitFor(() => {
        expect(screen.queryByLabelText("Title")).toBeNull();
      });
    }
    expect(recorded.calls.map((call) => call.fields.idempotencyKey)).toEqual([KEYS.edit, `next-${KEYS.edit}`]);
  });

  it("sends a deletion again with the key its failed answer named", async () => {
    const user = userEvent.setup();
    const recorded = recordingActions({
      remove: { error: "We can't reach the todo service right now.", idempotencyKey: "named-by-answer-0001", answered: null },
    });
    render(listOf(TODO, recorded));
    for (let round = 0; round < 2; round += 1) {
      screen.getByRole("button", { name: "Delete Renew passport" }).focus();
      await user.keyboard("{Enter}");
      await user.keyboard("{Escape}");
      await screen.findByText(/was not deleted/);
    }
    expect(recorded.calls.map((call) => call.fields.idempotencyKey)).toEqual([KEYS.delete, "named-by-answer-0001"]);
  });
});
