"use client";

import Link from "next/link";
import { useActionState, useId } from "react";

import { authFormState, type AuthAction } from "@/lib/form-state";
import { PASSWORD_MIN } from "@/lib/validation";

import { FieldError, FormAlert, IdempotencyKeyField } from "./form-fields";
import { SubmitButton } from "./submit-button";

type AuthFormProps = {
  mode: "signup" | "login";
  action: AuthAction;
  /**
   * Signing up: the key of the first submission, minted by the page; each answer names the
   * next one. Logging in is not keyed: null.
   */
  idempotencyKey: string | null;
};

const COPY = {
  signup: {
    submit: "Create account",
    pending: "Creating account…",
    switchText: "Already have an account?",
    switchLink: "Log in",
    switchHref: "/login",
    passwordAutocomplete: "new-password",
  },
  login: {
    submit: "Log in",
    pending: "Logging in…",
    switchText: "New here?",
    switchLink: "Create an account",
    switchHref: "/signup",
    passwordAutocomplete: "current-password",
  },
} as const;

export function AuthForm({ mode, action, idempotencyKey }: AuthFormProps) {
  const [state, formAction] = useActionState(action, authFormState(idempotencyKey));
  const id = useId();
  const copy = COPY[mode];
  const emailError = state.fieldErrors.email;
  const passwordError = state.fieldErrors.password;
  const passwordHintId = `${id}-password-hint`;
  const passwordErrorId = `${id}-password-error`;
  const passwordDescribedBy =
    [mode === "signup" ? passwordHintId : null, passwordError === undefined ? null : passwordErrorId]
      .filter((value) => value !== null)
      .join(" ") || undefined;

  return (
    <>
      <form action={formAction} className="auth-form" noValidate>
        {state.idempotencyKey !== null && <IdempotencyKeyField value={state.idempotencyKey} />}
        <FormAlert message={state.formError} />
        <div className="field">
          <label className="field-label" htmlFor={`${id}-email`}>
            Email
          </label>
          <input
            id={`${id}-email`}
            className="input"
            name="email"
            type="email"
            autoComplete="email"
            inputMode="email"
            required
            defaultValue={state.email}
            aria-invalid={emailError !== undefined}
            aria-describedby={emailError === undefined ? undefined : `${id}-email-error`}
          />
          <FieldError id={`${id}-email-error`} message={emailError} />
        </div>
        <div className="field">
          <label className="field-label" htmlFor={`${id}-password`}>
            Password
          </label>
          <input
            id={`${id}-password`}
            className="input"
            name="password"
            type="password"
            autoComplete={copy.passwordAutocomplete}
            required
            aria-invalid={passwordError !== undefined}
            aria-describedby={passwordDescribedBy}
          />
          {mode === "signup" && (
            <p className="field-hint" id={passwordHintId}>
              At least {PASSWORD_MIN} characters, and not a common password or your email address.
            </p>
          )}
          <FieldError id={passwordErrorId} message={passwordError} />
        </div>
        <SubmitButton className="button button-block" pendingLabel={copy.pending}>
          {copy.submit}
        </SubmitButton>
      </form>
      <p className="auth-switch">
        {copy.switchText} <Link href={copy.switchHref}>{copy.switchLink}</Link>
      </p>
    </>
  );
}
