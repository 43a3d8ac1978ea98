// @vitest-environment jsdom

import { cleanup, render, screen, waitFor } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { afterEach, describe, expect, it, vi } from "vitest";

import { DeleteWithUndoProvider } from "./delete-with-undo";
import { LogOutEverywhereForm } from "./log-out-form";
import { TopBar } from "./top-bar";

const ended = vi.hoisted(() => [] as [string, FormDataEntryValue | null][]);

vi.mock("@/app/actions/auth", () => ({
  logOut: (form: FormData) => {
    ended.push(["this", form.get("idempotencyKey")]);
    return Promise.resolve();
  },
  logOutEverywhere: (form: FormData) => {
    ended.push(["everywhere", form.get("idempotencyKey")]);
    return Promise.resolve();
  },
}));

afterEach(() => {
  cleanup();
  ended.length = 0;
});

const LOG_OUT_KEY = "5b1d0f4e-2c3a-4e8b-9f6d-7a8c1e2b3d4f";
const EVERYWHERE_KEY = "9e8d7c6b-5a4f-4e3d-8c2b-1a0f9e8d7c6b";

describe("the log-out forms", () => {
  it("carry the key the page minted, in a hidden field, and send it", async () => {
    const user = userEvent.setup();
    render(
      <DeleteWithUndoProvider deleteTodo={() => Promise.reject(new Error("nothing to delete"))} focusAfterDismissId="x">
        <TopBar email="ada@example.com" logOutKey={LOG_OUT_KEY} />
        <LogOutEverywhereForm idempotencyKey={EVERYWHERE_KEY} />
      </DeleteWithUndoProvider>,
    );
    const fields = [...document.querySelectorAll<HTMLInputElement>('form input[type="hidden"][name="idempotencyKey"]')];
    expect(fields.map((field) => field.value)).toEqual([LOG_OUT_KEY, EVERYWHERE_KEY]);

    await user.click(screen.getByRole("button", { name: "Log out" }));
    await user.click(screen.getByRole("button", { name: "Log out everywhere" }));
    await waitFor(() => {
      expect(ended).toEqual([
        ["this", LOG_OUT_KEY],
        ["everywhere", EVERYWHERE_KEY],
      ]);
    });
  });
});
