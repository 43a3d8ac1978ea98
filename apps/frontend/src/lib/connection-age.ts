// Client connections are closed once they are MAX_CONNECTION_AGE_MS old, so that pods the
// autoscaler adds get their share of the traffic. The frontend's Service balances connections,
// not requests: kube-proxy picks a pod when a connection opens, and a client that keeps its
// connection alive (a browser, a proxy, a load generator) stays on the pod it first reached for
// as long as it sends a request every few seconds. Measured under the load plan's 50 users
// (loadtest/README.md): the one pod that was there before the scale-out served all of them
// while four new ones idled. The first answer on a connection past its age says
// `Connection: close`; the client opens a new connection for its next request, which can land
// on any ready pod. The price: one TCP handshake per client every MAX_CONNECTION_AGE_MS.
import diagnosticsChannel from "node:diagnostics_channel";
import type { Socket } from "node:net";

// A type only: the metrics module is not loaded by this import.
import type { ServerRequestMessage } from "./request-metrics";

/** How long a kept-alive client connection serves requests before it is closed. */
export const MAX_CONNECTION_AGE_MS = 30_000;

/**
 * From now on, answers of the process's HTTP servers on a connection older than `maxAgeMs` ask
 * the client to close it. Returns a function that stops doing so.
 */
export function limitConnectionAge(maxAgeMs: number = MAX_CONNECTION_AGE_MS, now: () => number = Date.now): () => void {
  const openedAt = new WeakMap<Socket, number>();
  const onStart = (message: unknown): void => {
    const { response, socket } = message as ServerRequestMessage;
    const at = now();
    const opened = openedAt.get(socket);
    // At the request's start nothing of its answer is written yet, so the header can be set.
    if (opened === undefined) openedAt.set(socket, at);
    else if (at - opened >= maxAgeMs) response.setHeader("connection", "close");
  };
  diagnosticsChannel.subscribe("http.server.request.start", onStart);
  return () => diagnosticsChannel.unsubscribe("http.server.request.start", onStart);
}
