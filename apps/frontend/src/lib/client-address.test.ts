import { describe, expect, it } from "vitest";

import { addressFromForwardedFor } from "./client-address";

describe("the person's address from X-Forwarded-For", () => {
  it("takes the entry the nearest proxy added, not what the client claimed", () => {
    expect(addressFromForwardedFor("203.0.113.7")).toBe("203.0.113.7");
    expect(addressFromForwardedFor("10.0.0.1, 192.0.2.1 , 203.0.113.7")).toBe("203.0.113.7");
    expect(addressFromForwardedFor("2001:db8::7")).toBe("2001:db8::7");
    expect(addressFromForwardedFor("::ffff:127.0.0.1")).toBe("::ffff:127.0.0.1");
  });

  it("drops a port", () => {
    expect(addressFromForwardedFor("203.0.113.7:51234")).toBe("203.0.113.7");
    expect(addressFromForwardedFor("[2001:db8::7]:443")).toBe("2001:db8::7");
  });

  it("gives nothing for a missing or unusable header", () => {
    expect(addressFromForwardedFor(null)).toBeNull();
    expect(addressFromForwardedFor("")).toBeNull();
    expect(addressFromForwardedFor("unknown")).toBeNull();
    expect(addressFromForwardedFor("203.0.113.7, evil\r\nx-injected: 1")).toBeNull();
  });
});
