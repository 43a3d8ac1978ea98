import { Brand } from "./brand";
import { LogOutForm } from "./log-out-form";

/** `logOutKey`: the key of the Log out form, minted by the page. */
export function TopBar({ email, logOutKey }: { email: string | null; logOutKey: string }) {
  return (
    <header className="topbar">
      <Brand href="/todos" />
      <div className="topbar-account">
        {email !== null && <AccountEmail email={email} />}
        <LogOutForm idempotencyKey={logOutKey} />
      </div>
    </header>
  );
}

/**
 * The signed-in address, in full where it fits. Where it does not, the name before the "@"
 * is shortened and the domain stays, so the account can still be told apart; the title
 * holds the full address.
 */
function AccountEmail({ email }: { email: string }) {
  const at = email.lastIndexOf("@");
  const name = at > 0 ? email.slice(0, at) : email;
  const domain = at > 0 ? email.slice(at) : "";
  return (
    <span className="topbar-email" title={email}>
      <span className="visually-hidden">Signed in as {email}</span>
      <span className="topbar-email-name" aria-hidden="true">
        {name}
      </span>
      <span className="topbar-email-domain" aria-hidden="true">
        {domain}
      </span>
    </span>
  );
}
