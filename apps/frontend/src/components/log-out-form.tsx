"use client";

import { logOut, logOutEverywhere } from "@/app/actions/auth";

import { useDeleteWithUndo } from "./delete-with-undo";
import { SubmitButton } from "./submit-button";

/** A form whose button ends the session; a todo deleted a moment ago is deleted for good first. */
function EndSessionForm({ end, label, pendingLabel }: { end: () => Promise<void>; label: string; pendingLabel: string }) {
  const deletion = useDeleteWithUndo();
  return (
    <form
      action={async () => {
        await deletion.commitPending();
        await end();
      }}
    >
      <SubmitButton className="button button-secondary button-quiet" pendingLabel={pendingLabel}>
        {label}
      </SubmitButton>
    </form>
  );
}

export function LogOutForm() {
  return <EndSessionForm end={logOut} label="Log out" pendingLabel="Logging out…" />;
}

/** Ends every session of the account, on every browser and device. */
export function LogOutEverywhereForm() {
  return <EndSessionForm end={logOutEverywhere} label="Log out everywhere" pendingLabel="Logging out everywhere…" />;
}
