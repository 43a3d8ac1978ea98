import { isIP } from "node:net";

/**
 * The address of the person a request came from, from its X-Forwarded-For header: the last
 * entry, which is the one the nearest proxy added (the ingress controller's view of the
 * peer) or, with no proxy in front, the one Next.js sets from the connection. Entries further
 * left were sent by the client and prove nothing. Null when there is no usable address.
 */
export function addressFromForwardedFor(header: string | null): string | null {
  const last = header?.split(",").at(-1)?.trim() ?? "";
  // "[2001:db8::1]:443" and "203.0.113.7:51234" carry a port; plain IPv6 has colons of its own.
  const bracketed = /^\[([^\]]+)\](?::\d+)?$/.exec(last);
  const withPort = /^(\d{1,3}(?:\.\d{1,3}){3}):\d+$/.exec(last);
  const address = bracketed?.[1] ?? withPort?.[1] ?? last;
  return isIP(address) === 0 ? null : address;
}
