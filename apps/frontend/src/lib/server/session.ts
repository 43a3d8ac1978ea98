import "server-only";

import { cookies, headers } from "next/headers";

import type { Session } from "../backend-client";
import { cameOverHttps } from "../response-headers";

export const SESSION_COOKIE = "todo_session";

export async function readSessionToken(): Promise<string | null> {
  const cookie = (await cookies()).get(SESSION_COOKIE);
  return cookie === undefined || cookie.value === "" ? null : cookie.value;
}

async function servedOverHttps(): Promise<boolean> {
  return cameOverHttps((await headers()).get("x-forwarded-proto"));
}

export async function storeSession(session: Session): Promise<void> {
  (await cookies()).set(SESSION_COOKIE, session.token, {
    httpOnly: true,
    sameSite: "lax",
    secure: await servedOverHttps(),
    path: "/",
    // The cookie lives exactly as long as the token inside it.
    maxAge: Math.max(0, Math.floor(session.expiresInSeconds)),
  });
}

export async function clearSession(): Promise<void> {
  (await cookies()).delete(SESSION_COOKIE);
}
