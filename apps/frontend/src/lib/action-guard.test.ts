import { describe, expect, it } from "vitest";

import { ACTION_BODY_LIMIT_BYTES, refusalOf, requestIdOf, type ActionRequest } from "./action-guard";

const sameSite: ActionRequest = {
  method: "POST",
  actionId: "7f3a",
  origin: "https://todo.example.com",
  host: "todo.example.com",
  contentLength: "120",
};

describe("refusalOf", () => {
  it("lets a same-origin action of a normal size through", () => {
    expect(refusalOf(sameSite)).toBeNull();
  });

  it("refuses a foreign origin with 403", () => {
    expect(refusalOf({ ...sameSite, origin: "https://evil.example" })?.status).toBe(403);
    expect(refusalOf({ ...sameSite, origin: "null" })?.status).toBe(403);
    expect(refusalOf({ ...sameSite, host: null })?.status).toBe(403);
  });

  it("refuses a body over the limit with 413", () => {
    expect(refusalOf({ ...sameSite, contentLength: String(ACTION_BODY_LIMIT_BYTES + 1) })?.status).toBe(413);
    expect(refusalOf({ ...sameSite, contentLength: String(ACTION_BODY_LIMIT_BYTES) })).toBeNull();
  });

  it("leaves pages and other requests alone", () => {
    expect(refusalOf({ ...sameSite, method: "GET", origin: "https://evil.example" })).toBeNull();
    expect(refusalOf({ ...sameSite, actionId: null, origin: "https://evil.example" })).toBeNull();
  });
});

describe("requestIdOf", () => {
  it("keeps a plain request id and replaces anything else", () => {
    expect(requestIdOf("abc-123")).toBe("abc-123");
    expect(requestIdOf("bad id\nwith newline")).not.toContain("\n");
    expect(requestIdOf(null)).toMatch(/^[0-9a-f-]{36}$/);
  });
});
