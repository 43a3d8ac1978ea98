import type { Metadata } from "next";

import { signUp } from "@/app/actions/auth";
import { AuthForm } from "@/components/auth-form";
import { AuthShell } from "@/components/auth-shell";

export const metadata: Metadata = { title: "Sign up" };

export default function SignupPage() {
  return (
    <AuthShell title="Create your account" subtitle="A quiet place for the things you need to do.">
      <AuthForm mode="signup" action={signUp} />
    </AuthShell>
  );
}
