import type { Metadata } from "next";

import { logIn } from "@/app/actions/auth";
import { AuthForm } from "@/components/auth-form";
import { AuthShell } from "@/components/auth-shell";

export const metadata: Metadata = { title: "Log in" };

type LoginPageProps = { searchParams: Promise<Record<string, string | string[] | undefined>> };

export default async function LoginPage({ searchParams }: LoginPageProps) {
  const { expired } = await searchParams;
  return (
    <AuthShell title="Welcome back" subtitle="Log in to see your todos.">
      {expired !== undefined && (
        <p className="notice" role="status">
          Your session has ended. Please log in again.
        </p>
      )}
      <AuthForm mode="login" action={logIn} idempotencyKey={null} />
    </AuthShell>
  );
}
