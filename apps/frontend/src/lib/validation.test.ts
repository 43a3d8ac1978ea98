import { describe, expect, it } from "vitest";

import {
  DESCRIPTION_MAX,
  listHref,
  parseCursor,
  parseStatusFilter,
  readCredentials,
  readTodoId,
  readTodoInput,
  TITLE_MAX,
} from "./validation";

function form(fields: Record<string, string>): FormData {
  const data = new FormData();
  for (const [name, value] of Object.entries(fields)) data.set(name, value);
  return data;
}

describe("readCredentials", () => {
  it("accepts a trimmed email and a long enough password", () => {
    expect(readCredentials(form({ email: "  ada@example.com ", password: "12345678" }), "signup")).toEqual({
      ok: true,
      value: { email: "ada@example.com", password: "12345678" },
    });
  });

  it("explains each missing or malformed field", () => {
    expect(readCredentials(form({}), "signup")).toEqual({
      ok: false,
      errors: { email: "Enter your email address.", password: "Enter your password." },
    });
    expect(readCredentials(form({ email: "ada@", password: "1234567" }), "signup")).toEqual({
      ok: false,
      errors: { email: "Enter an email address like name@example.com.", password: "Use at least 8 characters." },
    });
    expect(readCredentials(form({ email: "a@b.co", password: "x".repeat(129) }), "signup")).toEqual({
      ok: false,
      errors: { password: "Use at most 128 characters." },
    });
  });

  it("does not judge the length of a password at log-in", () => {
    expect(readCredentials(form({ email: "a@b.co", password: "short" }), "login")).toEqual({
      ok: true,
      value: { email: "a@b.co", password: "short" },
    });
  });

  it("keeps spaces inside passwords", () => {
    const result = readCredentials(form({ email: "a@b.co", password: " pass word " }), "signup");
    expect(result.ok && result.value.password).toBe(" pass word ");
  });
});

describe("readTodoInput", () => {
  it("trims the title and turns an empty description into null", () => {
    expect(readTodoInput(form({ title: "  Buy milk ", description: "   " }))).toEqual({
      ok: true,
      value: { title: "Buy milk", description: null },
    });
  });

  it("keeps a description", () => {
    expect(readTodoInput(form({ title: "Call", description: "after 5 pm\n" }))).toEqual({
      ok: true,
      value: { title: "Call", description: "after 5 pm" },
    });
  });

  it("rejects an empty or overlong title and an overlong description", () => {
    expect(readTodoInput(form({ title: "   " }))).toEqual({ ok: false, errors: { title: "Give the todo a title." } });
    expect(readTodoInput(form({ title: "x".repeat(TITLE_MAX) })).ok).toBe(true);
    expect(readTodoInput(form({ title: "x".repeat(TITLE_MAX + 1) }))).toEqual({
      ok: false,
      errors: { title: "Keep the title under 201 characters." },
    });
    expect(readTodoInput(form({ title: "ok", description: "y".repeat(DESCRIPTION_MAX + 1) }))).toEqual({
      ok: false,
      errors: { description: "Keep the description under 2001 characters." },
    });
  });
});

describe("readTodoId", () => {
  it.each([
    ["1", 1],
    ["42", 42],
    ["0", null],
    ["-3", null],
    ["1.5", null],
    ["12abc", null],
    ["", null],
    ["99999999999999999", null],
  ])("reads %j as %j", (raw, expected) => {
    expect(readTodoId(form({ id: raw }))).toBe(expected);
  });

  it("is null without an id", () => {
    expect(readTodoId(form({}))).toBeNull();
  });
});

describe("search parameters", () => {
  it("falls back to all for unknown filters", () => {
    expect(parseStatusFilter("open")).toBe("open");
    expect(parseStatusFilter(["done", "open"])).toBe("done");
    expect(parseStatusFilter("everything")).toBe("all");
    expect(parseStatusFilter(undefined)).toBe("all");
  });

  it("keeps a cursor of the backend's shape and drops anything else", () => {
    expect(parseCursor("b2xkZXI6NDI")).toBe("b2xkZXI6NDI");
    expect(parseCursor(["bmV3ZXI6MA", "b2xkZXI6NDI"])).toBe("bmV3ZXI6MA");
    expect(parseCursor("")).toBeNull();
    expect(parseCursor("b2xk ZXI6NDI")).toBeNull();
    expect(parseCursor("b2xkZXI6NDI=")).toBeNull();
    expect(parseCursor("a".repeat(41))).toBeNull();
    expect(parseCursor(undefined)).toBeNull();
  });

  it("builds short list URLs", () => {
    expect(listHref("all")).toBe("/todos");
    expect(listHref("all", null)).toBe("/todos");
    expect(listHref("open")).toBe("/todos?status=open");
    expect(listHref("done", "b2xkZXI6NDI")).toBe("/todos?status=done&cursor=b2xkZXI6NDI");
    expect(listHref("all", "bmV3ZXI6MA")).toBe("/todos?cursor=bmV3ZXI6MA");
  });
});
