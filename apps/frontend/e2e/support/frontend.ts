// The production build of this app, run as the standalone server the image ships.

import { existsSync } from "node:fs";
import { join, resolve } from "node:path";

import { FORWARDED_ADDRESS_SECRET } from "./backend";
import { freePort, httpOk, startService, waitUntil, type Service } from "./processes";

const SERVER = resolve(__dirname, "..", "..", ".next", "standalone", "server.js");

export type Frontend = Service & { readonly url: string };

/** `name` names the server and its log file; `env` adds to or overrides its environment. */
type FrontendOptions = { name?: string; env?: Record<string, string> };

export async function startFrontend(
  backendUrl: string,
  logDir: string,
  { name = "frontend", env = {} }: FrontendOptions = {},
): Promise<Frontend> {
  if (!existsSync(SERVER)) throw new Error(`${SERVER} is missing: run \`npm run build\` first`);
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const logFile = join(logDir, `${name}.log`);
  const { service, child } = startService({
    name,
    command: process.execPath,
    args: [SERVER],
    env: {
      ...process.env,
      NODE_ENV: "production",
      NEXT_TELEMETRY_DISABLED: "1",
      PORT: String(port),
      HOSTNAME: "127.0.0.1",
      BACKEND_URL: backendUrl,
      FORWARDED_ADDRESS_SECRET,
      // Short enough that the "backend is slow" state shows up within a test's patience.
      BACKEND_TIMEOUT_MS: process.env.BACKEND_TIMEOUT_MS ?? "3000",
      // Likewise the outage states: a stopped backend is tried for 2 s, not the default 15 s
      // (retries.spec.ts starts a frontend of its own with a long budget).
      BACKEND_RETRY_BUDGET_MS: process.env.BACKEND_RETRY_BUDGET_MS ?? "2000",
      ...env,
    },
    logFile,
  });
  try {
    await waitUntil(name, child, () => httpOk(`${url}/api/health`), { logFile });
  } catch (error) {
    await service.stop();
    throw error;
  }
  return { ...service, url };
}
