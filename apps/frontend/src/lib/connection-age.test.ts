import { type AddressInfo } from "node:net";
import { Agent, createServer, get, type Server } from "node:http";

import { afterEach, describe, expect, it } from "vitest";

import { limitConnectionAge, MAX_CONNECTION_AGE_MS } from "./connection-age";

let stop: (() => void) | undefined;
let server: Server | undefined;

afterEach(async () => {
  stop?.();
  stop = undefined;
  await new Promise<void>((resolve) => {
    if (server) server.close(() => {
      resolve();
    });
    else resolve();
  });
  server = undefined;
});

/** A server on 127.0.0.1 that answers every request with the port of the client's connection. */
async function startServer(): Promise<string> {
  server = createServer((request, response) => response.end(String(request.socket.remotePort)));
  await new Promise<void>((resolve) => server?.listen(0, "127.0.0.1", resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
}

/** One GET through AGENT: the client port that served it and the Connection header. */
function fetchOver(agent: Agent, url: string): Promise<{ clientPort: string; connection: string | undefined }> {
  return new Promise((resolve, reject) => {
    get(url, { agent }, (response) => {
      let body = "";
      response.on("data", (chunk: Buffer) => {
        body += chunk.toString();
      });
      response.on("end", () => { resolve({ clientPort: body, connection: response.headers.connection }); });
    }).on("error", reject);
  });
}

describe("limitConnectionAge", () => {
  it("asks the client to close a kept-alive connection once it is older than the limit, and the next request opens a new one", async () => {
    let clock = 1_000;
    stop = limitConnectionAge(30_000, () => clock);
    const url = await startServer();
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    try {
      const first = await fetchOver(agent, url);
      clock += 29_999;
      const young = await fetchOver(agent, url);
      expect(young).toEqual({ clientPort: first.clientPort, connection: "keep-alive" });
      clock += 1;
      const old = await fetchOver(agent, url);
      expect(old).toEqual({ clientPort: first.clientPort, connection: "close" });
      const next = await fetchOver(agent, url);
      expect(next.clientPort).not.toBe(first.clientPort);
      expect(next.connection).toBe("keep-alive");
    } finally {
      agent.destroy();
    }
  });

  it("keeps connections for 30 s by default, and stops when told", async () => {
    expect(MAX_CONNECTION_AGE_MS).toBe(30_000);
    let clock = 0;
    limitConnectionAge(undefined, () => clock)();
    const url = await startServer();
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    try {
      const first = await fetchOver(agent, url);
      clock += 3_600_000;
      expect(await fetchOver(agent, url)).toEqual({ clientPort: first.clientPort, connection: "keep-alive" });
    } finally {
      agent.destroy();
    }
  });
});
