// Idempotency keys: every write a person makes is sent to the backend with a key
// (`Idempotency-Key`), so that the backend client may send it again after a dropped connection,
// a timeout or a 502/503/504 without writing twice: the backend answers a repeat with the first
// answer. A key stands for one action of the person. It is minted on the server and rendered
// into the form as a hidden field (IDEMPOTENCY_KEY_FIELD), so it works without JavaScript too,
// and the action's answer carries the key of the form's next action (nextIdempotencyKey).

import type { BackendFailure } from "./backend-client";
import { outageOf } from "./messages";

/** The form field that carries the key of the form's action. */
export const IDEMPOTENCY_KEY_FIELD = "idempotencyKey";

/** The backend's rule for a key: 16 to 128 letters, digits, "_" or "-". */
const KEY_SHAPE = /^[A-Za-z0-9_-]{16,128}$/;

export function isIdempotencyKey(value: unknown): value is string {
  return typeof value === "string" && KEY_SHAPE.test(value);
}

/** A new key: a random UUID (122 random bits; 36 characters of the backend's alphabet). */
export function newIdempotencyKey(): string {
  return crypto.randomUUID();
}

/**
 * The key a form was rendered with, or a new one when it has none or a malformed one (a page
 * rendered by an older release, during a rolling update): the call is still keyed, so the
 * backend client may retry it, though a resubmission of that form is then a new action.
 */
export function idempotencyKeyOf(form: FormData): string {
  const value = form.get(IDEMPOTENCY_KEY_FIELD);
  return isIdempotencyKey(value) ? value : newIdempotencyKey();
}

/**
 * The key of the form's next action, after an action sent with `used` ended with `failure`
 * (null: it succeeded). While the outcome is unknown (the backend could not be reached or did
 * not answer in time), or nothing was sent (the input was refused before any call), the key
 * stays: sending the form again is the same action, and the backend answers it with the first
 * answer if the first did go through. Once the backend has answered, the action is over and the
 * next one gets a new key: reused with other input, the backend would refuse it (422).
 */
export function nextIdempotencyKey(used: string, failure: BackendFailure | null): string {
  return failure !== null && outageOf(failure) !== null ? used : newIdempotencyKey();
}
