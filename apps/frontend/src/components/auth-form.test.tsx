// @vitest-environment jsdom

import { cleanup, render, screen } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { afterEach, describe, expect, it } from "vitest";

import type { AuthAction } from "@/lib/form-state";

import { AuthForm } from "./auth-form";

afterEach(cleanup);

const KEY = "5b1d0f4e-2c3a-4e8b-9f6d-7a8c1e2b3d4f";
const NEXT_KEY = "9e8d7c6b-5a4f-4e3d-8c2b-1a0f9e8d7c6b";

/** The key field of the form on the screen, if any. */
function keyField(): HTMLInputElement | null {
  return document.querySelector<HTMLInputElement>('form input[type="hidden"][name="idempotencyKey"]');
}

describe("AuthForm", () => {
  it("sends the typed credentials", async () => {
    const user = userEvent.setup();
    const sent: (FormDataEntryValue | null)[][] = [];
    const action: AuthAction = (state, form) => {
      sent.push([form.get("email"), form.get("password")]);
      return Promise.resolve(state);
    };
    render(<AuthForm mode="login" action={action} idempotencyKey={null} />);
    await user.type(screen.getByLabelText("Email"), "ada@example.com");
    await user.type(screen.getByLabelText("Password"), "secret password{Enter}");
    expect(sent).toEqual([["ada@example.com", "secret password"]]);
  });

  it("shows field errors next to their fields and keeps the email", async () => {
    const user = userEvent.setup();
    const action: AuthAction = () =>
      Promise.resolve({
        email: "ada@",
        fieldErrors: { email: "Enter an email address like name@example.com.", password: "Use at least 8 characters." },
        formError: null,
        idempotencyKey: KEY,
      });
    render(<AuthForm mode="signup" action={action} idempotencyKey={KEY} />);
    await user.type(screen.getByLabelText("Email"), "ada@");
    await user.click(screen.getByRole("button", { name: "Create account" }));

    const email = await screen.findByLabelText<HTMLInputElement>("Email");
    expect(await screen.findByText("Enter an email address like name@example.com.")).toBeTruthy();
    expect(email.value).toBe("ada@");
    expect(email.getAttribute("aria-invalid")).toBe("true");
    const password = screen.getByLabelText("Password");
    // The hint and the error both describe the password field.
    const describedBy = password.getAttribute("aria-describedby")?.split(" ") ?? [];
    expect(describedBy.map((id) => document.getElementById(id)?.textContent)).toEqual([
      "At least 8 characters, and not a common password or your email address.",
      "Use at least 8 characters.",
    ]);
  });

  it("shows the backend's reason for refusing a password next to the password field", async () => {
    const user = userEvent.setup();
    const reason = "This password is on a list of common or leaked passwords, so it is easy to guess. Choose another.";
    const action: AuthAction = () =>
      Promise.resolve({ email: "ada@example.com", fieldErrors: { password: reason }, formError: null, idempotencyKey: KEY });
    render(<AuthForm mode="signup" action={action} idempotencyKey={KEY} />);
    await user.type(screen.getByLabelText("Email"), "ada@example.com");
    await user.type(screen.getByLabelText("Password"), "password{Enter}");

    expect(await screen.findByText(reason)).toBeTruthy();
    const password = screen.getByLabelText("Password");
    expect(password.getAttribute("aria-invalid")).toBe("true");
    const describedBy = password.getAttribute("aria-describedby")?.split(" ") ?? [];
    expect(describedBy.map((id) => document.getElementById(id)?.textContent)).toContain(reason);
    expect(screen.queryByRole("alert", { name: reason })).toBeNull();
  });

  it("announces a failure of the whole form", async () => {
    const user = userEvent.setup();
    const action: AuthAction = (state) =>
      Promise.resolve({ ...state, formError: "That email and password don't match an account." });
    render(<AuthForm mode="login" action={action} idempotencyKey={null} />);
    await user.click(screen.getByRole("button", { name: "Log in" }));
    expect((await screen.findByRole("alert")).textContent).toBe("That email and password don't match an account.");
  });

  it("links to the other form", () => {
    render(<AuthForm mode="login" action={(state) => Promise.resolve(state)} idempotencyKey={null} />);
    expect(screen.getByRole("link", { name: "Create an account" }).getAttribute("href")).toBe("/signup");
  });

  it("sends the sign-up with the key the page minted, and the next one with the key of the answer", async () => {
    const user = userEvent.setup();
    const sent: (FormDataEntryValue | null)[] = [];
    const action: AuthAction = (state, form) => {
      sent.push(form.get("idempotencyKey"));
      const formError = "We can't reach the todo service right now.";
      return Promise.resolve({ ...state, formError, idempotencyKey: NEXT_KEY });
    };
    render(<AuthForm mode="signup" action={action} idempotencyKey={KEY} />);
    expect(keyField()?.value).toBe(KEY);
    await user.type(screen.getByLabelText("Email"), "ada@example.com");
    await user.type(screen.getByLabelText("Password"), "secret password{Enter}");
    await screen.findByRole("alert");
    expect(keyField()?.value).toBe(NEXT_KEY);
    await user.type(screen.getByLabelText("Password"), "secret password{Enter}");
    expect(sent).toEqual([KEY, NEXT_KEY]);
  });

  it("has no key when logging in, which is not keyed", () => {
    render(<AuthForm mode="login" action={(state) => Promise.resolve(state)} idempotencyKey={null} />);
    expect(keyField()).toBeNull();
  });
});
