// @vitest-environment jsdom

import { cleanup, render, screen, waitFor } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { afterEach, describe, expect, it } from "vitest";

import type { SaveTodoAction } from "@/lib/form-state";

import { AddTodoForm } from "./add-todo-form";

afterEach(cleanup);

describe("AddTodoForm", () => {
  it("sends the title and description, then clears them", async () => {
    const user = userEvent.setup();
    const sent: Record<string, FormDataEntryValue | null>[] = [];
    const action: SaveTodoAction = (state, form) => {
      sent.push({ title: form.get("title"), description: form.get("description") });
      return Promise.resolve({ ...state, status: "saved", values: { title: "", description: "" } });
    };
    render(<AddTodoForm action={action} />);
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
      });
    render(<AddTodoForm action={action} />);
    await user.type(screen.getByLabelText("New todo"), "x{Enter}");

    expect((await screen.findByRole("alert")).textContent).toBe("We can't reach the todo service right now.");
    expect(screen.getByText("Keep the description under 2001 characters.")).toBeTruthy();
    expect(screen.getByLabelText<HTMLInputElement>("New todo").value).toBe("x");
    // The description's disclosure opens so its error is visible.
    expect(screen.getByRole("group").hasAttribute("open")).toBe(true);
    expect(screen.getByLabelText<HTMLTextAreaElement>("Description").value).toBe("too long");
  });
});
