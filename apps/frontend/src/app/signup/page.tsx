import type { Metadata } from "next";
import { connection } from "next/server";

import { signUp } from "@/app/actions/auth";
import { AuthForm } from "@/components/auth-form";
import { AuthShell } from "@/components/auth-shell";
import { newIdempotencyKey } from "@/lib/idempotency";

export const metadata: Metadata = { title: "Sign up" };

export default async function SignupPage() {
  // The form's key is one visitor's: this page must never be prerendered and shared (the root
  // layout renders every page per request already; this one says so itself).
  await connection();
  return (
    <AuthShell title="Create your account" subtitle="A quiet place for the things you need to do.">
      <AuthForm mode="signup" action={signUp} idempotencyKey={newIdempotencyKey()} />
    </AuthShell>
  );
}
