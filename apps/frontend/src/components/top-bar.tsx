import { logOut } from "@/app/actions/auth";

import { Brand } from "./brand";
import { SubmitButton } from "./submit-button";

export function TopBar({ email }: { email: string | null }) {
  return (
    <header className="topbar">
      <Brand href="/todos" />
      <div className="topbar-account">
        {email !== null && (
          <span className="topbar-email" title={email}>
            {email}
          </span>
        )}
        <form action={logOut}>
          <SubmitButton className="button button-secondary button-quiet" pendingLabel="Logging out…">
            Log out
          </SubmitButton>
        </form>
      </div>
    </header>
  );
}
