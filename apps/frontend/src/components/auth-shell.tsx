import type { ReactNode } from "react";

import { Brand } from "./brand";

type AuthShellProps = { title: string; subtitle: string; children: ReactNode };

export function AuthShell({ title, subtitle, children }: AuthShellProps) {
  return (
    <main className="auth-shell" id="main">
      <div className="card auth-card">
        <Brand href="/" />
        <h1 className="auth-title">{title}</h1>
        <p className="auth-subtitle">{subtitle}</p>
        {children}
      </div>
    </main>
  );
}
