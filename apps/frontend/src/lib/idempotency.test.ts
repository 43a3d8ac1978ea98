import { describe, expect, it } from "vitest";

import {
  IDEMPOTENCY_KEY_FIELD,
  idempotencyKeyOf,
  isIdempotencyKey,
  newIdempotencyKey,
  nextIdempotencyKey,
} from "./idempotency";

describe("idempotency keys", () => {
  it("follow the backend's rule: 16 to 128 of A-Z, a-z, 0-9, _ and -", () => {
    for (const key of ["a".repeat(16), "Z9_-".repeat(32), "5b1d0f4e-2c3a-4e8b-9f6d-7a8c1e2b3d4f"]) {
      expect(isIdempotencyKey(key)).toBe(true);
    }
    const sixteen = "a".repeat(16);
    for (const key of ["a".repeat(15), "a".repeat(129), `${sixteen}=`, `${sixteen}\n`, "ä".repeat(16), 16, null]) {
      expect(isIdempotencyKey(key)).toBe(false);
    }
  });

  it("are new each time they are minted", () => {
    const keys = Array.from({ length: 100 }, newIdempotencyKey);
    expect(keys.every(isIdempotencyKey)).toBe(true);
    expect(new Set(keys).size).toBe(100);
  });

  it("are read from the form's field, or minted when it has none or a malformed one", () => {
    const form = new FormData();
    form.set(IDEMPOTENCY_KEY_FIELD, "5b1d0f4e-2c3a-4e8b-9f6d-7a8c1e2b3d4f");
    expect(idempotencyKeyOf(form)).toBe("5b1d0f4e-2c3a-4e8b-9f6d-7a8c1e2b3d4f");
    form.set(IDEMPOTENCY_KEY_FIELD, "short");
    expect(idempotencyKeyOf(form)).not.toBe("short");
    expect(isIdempotencyKey(idempotencyKeyOf(new FormData()))).toBe(true);
  });

  it("stay while the outcome is unknown, and change once the backend has answered", () => {
    const used = newIdempotencyKey();
    expect(nextIdempotencyKey(used, { kind: "unavailable" })).toBe(used);
    expect(nextIdempotencyKey(used, { kind: "timeout" })).toBe(used);
    for (const failure of [null, { kind: "invalid", fieldErrors: {} }, { kind: "conflict" }, { kind: "not_found" }] as const) {
      expect(nextIdempotencyKey(used, failure)).not.toBe(used);
    }
  });
});
