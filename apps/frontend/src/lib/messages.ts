import type { BackendFailure } from "./backend-client";

export type Outage = "unavailable" | "timeout";

/** Backend failures that mean "try again later" rather than "fix your input". */
export function outageOf(failure: BackendFailure): Outage | null {
  if (failure.kind === "unavailable" || failure.kind === "timeout") return failure.kind;
  return null;
}

export const OUTAGE_MESSAGES: Record<Outage, string> = {
  unavailable: "We can't reach the todo service right now.",
  timeout: "The todo service is taking too long to answer.",
};

/** Why the list could not be shown: an outage, or an answer we could not use. */
export type LoadProblem = Outage | "error";

export const LOAD_PROBLEM_MESSAGES: Record<LoadProblem, string> = {
  ...OUTAGE_MESSAGES,
  error: "The todo service sent an answer we could not read.",
};

/** A short sentence for a failed change to a todo; never includes server details. */
export function todoFailureMessage(failure: BackendFailure): string {
  switch (failure.kind) {
    case "unavailable":
    case "timeout":
      return `${OUTAGE_MESSAGES[failure.kind]} Your change was not saved; please try again.`;
    case "not_found":
      return "This todo no longer exists. It may have been deleted elsewhere.";
    case "invalid":
      return "The service did not accept that change. Check the title and description.";
    default:
      return "Something went wrong while saving. Please try again.";
  }
}

/** Too many log-in or sign-up attempts: when to try again, in whole minutes. */
export function throttledMessage(retryAfterSeconds: number | null): string {
  if (retryAfterSeconds === null) return "Too many attempts. Please wait a while and try again.";
  const minutes = Math.max(1, Math.ceil(retryAfterSeconds / 60));
  return `Too many attempts. Please wait ${minutes === 1 ? "a minute" : `${minutes} minutes`} and try again.`;
}
