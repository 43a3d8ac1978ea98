// @vitest-environment jsdom

import { cleanup, render, screen } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { afterEach, describe, expect, it } from "vitest";

import type { AuthAction } from "@/lib/form-state";

import { AuthForm } from "./auth-form";

afterEach(cleanup);

describe("AuthForm", () => {
  it("sends the typed credentials", async () => {
    const user = userEvent.setup();
    const sent: (FormDataEntryValue | null)[][] = [];
    const action: AuthAction = (state, form) => {
      sent.push([form.get("email"), form.get("password")]);
      return Promise.resolve(state);
    };
    render(<AuthForm mode="login" action={action} />);
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
      });
    render(<AuthForm mode="signup" action={action} />);
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
      "At least 8 characters.",
      "Use at least 8 characters.",
    ]);
  });

  it("announces a failure of the whole form", async () => {
    const user = userEvent.setup();
    const action: AuthAction = (state) =>
      Promise.resolve({ ...state, formError: "That email and password don't match an account." });
    render(<AuthForm mode="login" action={action} />);
    await user.click(screen.getByRole("button", { name: "Log in" }));
    expect((await screen.findByRole("alert")).textContent).toBe("That email and password don't match an account.");
  });

  it("links to the other form", () => {
    render(<AuthForm mode="login" action={(state) => Promise.resolve(state)} />);
    expect(screen.getByRole("link", { name: "Create an account" }).getAttribute("href")).toBe("/signup");
  });
});
