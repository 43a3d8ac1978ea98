"use client";

import { logOut, logOutEverywhere } from "@/app/actions/auth";

import { useDeleteWithUndo } from "./delete-with-undo";
import { IdempotencyKeyField } from "./form-fields";
import { SubmitButton } from "./submit-button";

type EndSessionFormProps = {
  end: (form: FormData) => Promise<void>;
  label: string;
  pendingLabel: string;
  /** Minted by the server component that renders the form: logging out is one action per page. */
  idempotencyKey: string;
};

/** A form whose button ends the session; a todo deleted a moment ago is deleted for good first. */
function EndSessionForm({ end, label, pendingLabel, idempotencyKey }: EndSessionFormProps) {
  const deletion = useDeleteWithUndo();
  return (
    <form
      action={async (form) => {
        await deletion.commitPending();
        await end(form);
      }}
    >
      <IdempotencyKeyField value={idempotencyKey} />
      <SubmitButton className="button button-secondary button-quiet" pendingLabel={pendingLabel}>
        {label}
      </SubmitButton>
    </form>
  );
}

export function LogOutForm({ idempotencyKey }: { idempotencyKey: string }) {
  return <EndSessionForm end={logOut} label="Log out" pendingLabel="Logging out…" idempotencyKey={idempotencyKey} />;
}

/** Ends every session of the account, on every browser and device. */
export function LogOutEverywhereForm({ idempotencyKey }: { idempotencyKey: string }) {
  return (
    <EndSessionForm
      end={logOutEverywhere}
      label="Log out everywhere"
      pendingLabel="Logging out everywhere…"
      idempotencyKey={idempotencyKey}
    />
  );
}
