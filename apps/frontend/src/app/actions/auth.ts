"use server";

import { redirect } from "next/navigation";

import type { BackendFailure } from "@/lib/backend-client";
import type { AuthFormState } from "@/lib/form-state";
import { idempotencyKeyOf, nextIdempotencyKey } from "@/lib/idempotency";
import { OUTAGE_MESSAGES, outageOf, throttledMessage } from "@/lib/messages";
import { backend, personAddress } from "@/lib/server/backend";
import { clearSession, readSessionToken, storeSession } from "@/lib/server/session";
import { readCredentials, type FieldErrors } from "@/lib/validation";

type Mode = "signup" | "login";

/** The backend's reasons for refusing the email or the password, shown next to each field. */
function refusedCredentials(failure: BackendFailure): FieldErrors<"email" | "password"> {
  if (failure.kind !== "invalid") return {};
  const { email, password } = failure.fieldErrors;
  return { ...(email === undefined ? {} : { email }), ...(password === undefined ? {} : { password }) };
}

function failureMessage(mode: Mode, failure: BackendFailure): string {
  const outage = outageOf(failure);
  if (outage !== null) return `${OUTAGE_MESSAGES[outage]} Please try again in a moment.`;
  if (failure.kind === "throttled") return throttledMessage(failure.retryAfterSeconds);
  if (mode === "login" && failure.kind === "unauthorized") return "That email and password don't match an account.";
  if (mode === "signup" && failure.kind === "conflict") return "An account with this email already exists. Log in instead.";
  if (failure.kind === "invalid") return "The service did not accept these details. Check the email and password.";
  return "Something went wrong. Please try again.";
}

/**
 * Signing up is keyed (the form's key, or a new one), and answers with the key of the form's
 * next submission (src/lib/idempotency.ts); logging in writes nothing to repeat, and is not.
 */
async function authenticate(mode: Mode, form: FormData): Promise<AuthFormState> {
  const input = readCredentials(form, mode);
  const typedEmail = form.get("email");
  const email = typeof typedEmail === "string" ? typedEmail.trim() : "";
  const idempotencyKey = mode === "signup" ? idempotencyKeyOf(form) : null;
  if (!input.ok) {
    return { email, fieldErrors: input.errors, formError: null, idempotencyKey };
  }
  const client = backend({ clientAddress: await personAddress() });
  const result =
    idempotencyKey !== null
      ? await client.signUp(input.value.email, input.value.password, idempotencyKey)
      : await client.logIn(input.value.email, input.value.password);
  if (!result.ok) {
    const fieldErrors = refusedCredentials(result.failure);
    return {
      email,
      fieldErrors,
      formError: Object.keys(fieldErrors).length > 0 ? null : failureMessage(mode, result.failure),
      idempotencyKey: idempotencyKey === null ? null : nextIdempotencyKey(idempotencyKey, result.failure),
    };
  }
  await storeSession(result.value);
  redirect("/todos");
}

export async function signUp(_state: AuthFormState, form: FormData): Promise<AuthFormState> {
  return authenticate("signup", form);
}

export async function logIn(_state: AuthFormState, form: FormData): Promise<AuthFormState> {
  return authenticate("login", form);
}

/**
 * Ends the session on the backend first, so the token is refused even if someone kept a copy
 * of the cookie; the cookie is cleared whatever the backend answers (an expired token has
 * nothing left to end, and an unreachable backend must not keep anyone signed in here). The
 * call is keyed, so it is retried through a short outage; a retry whose first attempt went
 * through finds the token revoked (401): done as well.
 */
async function endSession(scope: "this" | "everywhere", form: FormData): Promise<void> {
  const token = await readSessionToken();
  if (token !== null) {
    const client = backend();
    const key = idempotencyKeyOf(form);
    const result = scope === "this" ? await client.logOut(token, key) : await client.logOutEverywhere(token, key);
    if (!result.ok && result.failure.kind !== "unauthorized") {
      console.warn(`log out (${scope}): the backend did not end the session: ${result.failure.kind}`);
    }
  }
  await clearSession();
  redirect("/login");
}

export async function logOut(form: FormData): Promise<void> {
  await endSession("this", form);
}

export async function logOutEverywhere(form: FormData): Promise<void> {
  await endSession("everywhere", form);
}
