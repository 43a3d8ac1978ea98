// @vitest-environment jsdom

import { cleanup, render, screen, waitFor } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { afterEach, describe, expect, it } from "vitest";

import { todoFormState, type SaveTodoAction, type TodoFormState } from "@/lib/form-state";

import { AddTodoForm } from "./add-todo-form";

afterEach(cleanup);

const KEY = "5b1d0f4e-2c3a-4e8b-9f6d-7a8c1e2b3d4f";
const NEXT_KEY = "9e8d7c6b-5a4f-4e3d-8c2b-1a0f9e8d7c6b";

function keyField(): HTMLInputElement | null {
  return document.querySelector<HTMLInputElement>('form input[type="hidden"][name="idempotencyKey"]');
}

describe("AddTodoForm", () => {
  it("sends the title and description, then clears them", async () => {
    const user = userEvent.setup();
    const sent: Record<string, FormDataEntryValue | null>[] = [];
    const action: SaveTodoAction = (state, form) => {
      sent.push({ title: form.get("title"), description: form.get("description") });
      return Promise.resolve({ ...state, status: "saved", values: { title: "", description: "" } });
    };
    render(<AddTodoForm action={action} idempotencyKey={KEY} />);
    await user.click(screen.getByText("Add a description"));
    await user.type(screen.getByLabelText("Description"), "Oat, not soy");
    await user.type(screen.getByLabelText("New todo"), "Buy milk{Enter}");
    expect(sent).toEqual([{ title: "Buy milk", description: "Oat, not soy" }]);
    await waitFor(() => {
      expect(screen.getByLabelText<HTMLInputElement>("New todo").value).toBe("");
    });
  });

  it("keeps what was typed and says what is wrong", async () => {
    const user = userEvent.setup();
    const action: SaveTodoAction = () =>
      Promise.resolve({
        status: "error",
        values: { title: "x", description: "too long" },
        fieldErrors: { description: "Keep the description under 2001 characters." },
        formError: "We can't reach the todo service right now.",
        idempotencyKey: KEY,
      });
    render(<AddTodoForm action={action} idempotencyKey={KEY} />);
    await user.type(screen.getByLabelText("New todo"), "x{Enter}");

    expect((await screen.findByRole("alert")).textContent).toBe("We can't reach the todo service right now.");
    expect(screen.getByText("Keep the description under 2001 characters.")).toBeTruthy();
    expect(screen.getByLabelText<HTMLInputElement>("New todo").value).toBe("x");
    // The description's disclosure opens so its error is visible.
    expect(screen.getByRole("group").hasAttribute("open")).toBe(true);
    expect(screen.getByLabelText<HTMLTextAreaElement>("Description").value).toBe("too long");
  });

  it("sends each todo with its key: the page's first, then the one each answer names", async () => {
    const user = userEvent.setup();
    const sent: (FormDataEntryValue | null)[] = [];
    const answers: TodoFormState[] = [
      // The service could not be reached: the same key again, for the same todo sent again.
      { ...todoFormState({ title: "Buy milk", description: "" }, KEY), status: "error", formError: "Not saved." },
      { ...todoFormState({ title: "", description: "" }, NEXT_KEY), status: "saved" },
    ];
    const action: SaveTodoAction = (_state, form) => {
      sent.push(form.get("idempotencyKey"));
      const answer = answers.shift();
      return answer === undefined ? Promise.reject(new Error("no answer left")) : Promise.resolve(answer);
    };
    render(<AddTodoForm action={action} idempotencyKey={KEY} />);
    expect(keyField()?.value).toBe(KEY);
    await user.type(screen.getByLabelText("New todo"), "Buy milk{Enter}");
    expect((await screen.findByRole("alert")).textContent).toBe("Not saved.");
    expect(keyField()?.value).toBe(KEY);
    await user.type(screen.getByLabelText("New todo"), "{Enter}");
    await waitFor(() => {
      expect(keyField()?.value).toBe(NEXT_KEY);
    });
    expect(sent).toEqual([KEY, KEY]);
  });
});
