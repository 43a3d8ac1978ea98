"use client";

import { logOut } from "@/app/actions/auth";

import { useDeleteWithUndo } from "./delete-with-undo";
import { SubmitButton } from "./submit-button";

export function LogOutForm() {
  const deletion = useDeleteWithUndo();
  return (
    <form
      action={async () => {
        // A todo deleted a moment ago is deleted for good before the session ends.
        await deletion.commitPending();
        await logOut();
      }}
    >
      <SubmitButton className="button button-secondary button-quiet" pendingLabel="Logging out…">
        Log out
      </SubmitButton>
    </form>
  );
}
