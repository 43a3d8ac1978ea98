import { beforeEach, describe, expect, it, vi } from "vitest";

import type { BackendResult } from "@/lib/backend-client";
import { authFormState } from "@/lib/form-state";
import { isIdempotencyKey } from "@/lib/idempotency";

import { logIn, logOut, logOutEverywhere, signUp } from "./auth";

const backendCalls = vi.hoisted(() => [] as unknown[][]);
const answer = vi.hoisted(() => ({ next: null as BackendResult<unknown> | null }));

vi.mock("next/navigation", () => ({
  redirect: (to: string) => {
    throw new Error(`redirect to ${to}`);
  },
}));
vi.mock("@/lib/server/session", () => ({
  readSessionToken: () => Promise.resolve("tok"),
  clearSession: () => Promise.resolve(),
  storeSession: () => Promise.resolve(),
}));
vi.mock("@/lib/server/backend", () => {
  const respond = (...call: unknown[]) => {
    backendCalls.push(call);
    return Promise.resolve(answer.next ?? { ok: true, value: { token: "tok", expiresInSeconds: 60 } });
  };
  return {
    personAddress: () => Promise.resolve(null),
    backend: () => ({
      signUp: (email: string, _password: string, key: string) => respond("signUp", email, key),
      logIn: (...args: unknown[]) => respond("logIn", ...args),
      logOut: (token: string, key: string) => respond("logOut", token, key),
      logOutEverywhere: (token: string, key: string) => respond("logOutEverywhere", token, key),
    }),
  };
});

const KEY = "5b1d0f4e-2c3a-4e8b-9f6d-7a8c1e2b3d4f";
const PASSWORD = "a calm password 42";

function form(fields: Record<string, string>): FormData {
  const data = new FormData();
  for (const [name, value] of Object.entries(fields)) data.set(name, value);
  return data;
}

beforeEach(() => {
  backendCalls.length = 0;
  answer.next = null;
});

describe("signing up", () => {
  it("sends the form's key", async () => {
    const fields = { email: "ada@example.com", password: PASSWORD, idempotencyKey: KEY };
    await expect(signUp(authFormState(KEY), form(fields))).rejects.toThrow("redirect to /todos");
    expect(backendCalls).toEqual([["signUp", "ada@example.com", KEY]]);
  });

  it("mints a key when the form has none", async () => {
    await expect(signUp(authFormState(null), form({ email: "ada@example.com", password: PASSWORD }))).rejects.toThrow();
    expect(isIdempotencyKey(backendCalls[0]?.[2])).toBe(true);
  });

  it("keeps the key after an outage, and renews it once the backend refused", async () => {
    answer.next = { ok: false, failure: { kind: "timeout" } };
    const fields = { email: "ada@example.com", password: PASSWORD, idempotencyKey: KEY };
    expect((await signUp(authFormState(KEY), form(fields))).idempotencyKey).toBe(KEY);
    answer.next = { ok: false, failure: { kind: "conflict" } };
    const taken = await signUp(authFormState(KEY), form(fields));
    expect(taken.formError).toContain("already exists");
    expect(taken.idempotencyKey).not.toBe(KEY);
    expect(isIdempotencyKey(taken.idempotencyKey)).toBe(true);
  });

  it("shows the backend's reason for refusing the password next to the password field", async () => {
    const reason = "The password must not be your email address.";
    answer.next = { ok: false, failure: { kind: "invalid", fieldErrors: { password: reason, title: "not a field here" } } };
    const fields = { email: "ada@example.com", password: "ada@example.com", idempotencyKey: KEY };
    const state = await signUp(authFormState(KEY), form(fields));
    expect(state.fieldErrors).toEqual({ password: reason });
    expect(state.formError).toBeNull();
    expect(state.email).toBe("ada@example.com");
  });

  it("says the details were refused when the backend names no field", async () => {
    answer.next = { ok: false, failure: { kind: "invalid", fieldErrors: {} } };
    const state = await signUp(authFormState(KEY), form({ email: "ada@example.com", password: PASSWORD, idempotencyKey: KEY }));
    expect(state.fieldErrors).toEqual({});
    expect(state.formError).toContain("did not accept");
  });
});

describe("logging in", () => {
  it("is not keyed", async () => {
    answer.next = { ok: false, failure: { kind: "unauthorized" } };
    const fields = { email: "ada@example.com", password: PASSWORD, idempotencyKey: KEY };
    const state = await logIn(authFormState(null), form(fields));
    expect(state.idempotencyKey).toBeNull();
    expect(backendCalls).toEqual([["logIn", "ada@example.com", PASSWORD]]);
  });
});

describe("logging out", () => {
  it("sends the form's key, here and everywhere, and mints one when the form has none", async () => {
    await expect(logOut(form({ idempotencyKey: KEY }))).rejects.toThrow("redirect to /login");
    await expect(logOutEverywhere(form({}))).rejects.toThrow("redirect to /login");
    expect(backendCalls[0]).toEqual(["logOut", "tok", KEY]);
    expect(backendCalls[1]?.[0]).toBe("logOutEverywhere");
    expect(isIdempotencyKey(backendCalls[1]?.[2])).toBe(true);
  });

  it("takes a 401 as done: the first attempt of a retried log-out went through", async () => {
    answer.next = { ok: false, failure: { kind: "unauthorized" } };
    const warn = vi.spyOn(console, "warn");
    await expect(logOut(form({ idempotencyKey: KEY }))).rejects.toThrow("redirect to /login");
    expect(warn).not.toHaveBeenCalled();
  });
});
