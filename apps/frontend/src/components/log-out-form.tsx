"use client";

import { logOut, logOutEverywhere } from "@/app/actions/auth";

import { useDeleteWithUndo } from "./delete-with-undo";
import { SubmitButton } from "./submit-button";

export function LogOutForm() {
  const deletion = useDeleteWithUndo();
  // A todo deleted a moment ago is deleted for good before the session ends.
  const endSession = (end: () => Promise<void>) => async () => {
    await deletion.commitPending();
    await end();
  };
  return (
    <>
      <form action={endSession(logOut)}>
        <SubmitButton className="button button-secondary button-quiet" pendingLabel="Logging out…">
          Log out
        </SubmitButton>
      </form>
      <form action={endSession(logOutEverywhere)}>
        <SubmitButton className="button button-secondary button-quiet" pendingLabel="Logging out everywhere…">
          Log out everywhere
        </SubmitButton>
      </form>
    </>
  );
}
