// The real backend of apps/backend, run from its cached virtualenv.

import { execFileSync, spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { join, resolve } from "node:path";

import { freePort, httpOk, startService, waitUntil, type Service } from "./processes";

const BACKEND_DIR = resolve(__dirname, "..", "..", "..", "backend");

/** The venv made by apps/backend/scripts/ensure-venv.sh (its last line of output). */
export function backendPython(): string {
  const given = process.env.BACKEND_VENV;
  const venv =
    given !== undefined && given !== ""
      ? given
      : execFileSync("bash", [join(BACKEND_DIR, "scripts", "ensure-venv.sh")], {
          encoding: "utf8",
          stdio: ["ignore", "pipe", "inherit"],
        })
          .trim()
          .split("\n")
          .at(-1);
  if (venv === undefined || venv === "") throw new Error("ensure-venv.sh printed no venv path");
  return join(venv, "bin", "python");
}

export type BackendSettings = { python: string; databaseUrl: string; jwtSecret: string };

export function backendSettings(databaseUrl: string): BackendSettings {
  return { python: backendPython(), databaseUrl, jwtSecret: randomBytes(32).toString("hex") };
}

/** Shared by the frontend and the backend: the frontend passes on each person's address. */
export const FORWARDED_ADDRESS_SECRET = "e2e-frontend-to-backend-secret-0123456789";
/** Failed log-ins one address may make per window; auth.spec.ts fills it on purpose. */
export const LOGIN_ADDRESS_ATTEMPTS = 6;

function backendEnv(settings: BackendSettings): NodeJS.ProcessEnv {
  return {
    ...process.env,
    // The cached venv is shared by every checkout on the machine: this one's sources go first.
    PYTHONPATH: [join(BACKEND_DIR, "src"), process.env.PYTHONPATH].filter(Boolean).join(":"),
    DATABASE_URL: settings.databaseUrl,
    JWT_SECRET: settings.jwtSecret,
    LOG_LEVEL: "warning",
    WEB_CONCURRENCY: process.env.BACKEND_WORKERS ?? "1",
    FORWARDED_ADDRESS_SECRET,
    LOGIN_ADDRESS_ATTEMPTS: String(LOGIN_ADDRESS_ATTEMPTS),
    // Every test signs up from the same address.
    SIGNUP_ADDRESS_ATTEMPTS: "100000",
  };
}

export function migrate(settings: BackendSettings): void {
  const result = spawnSync(settings.python, ["-m", "todo_api", "migrate"], {
    env: backendEnv(settings),
    encoding: "utf8",
    timeout: 120_000,
  });
  if (result.status !== 0) throw new Error(`backend migrate failed: ${result.stderr}`);
}

export type Backend = Service & { readonly url: string };

/** Starts `python -m todo_api serve` on the given (or a free) loopback port and waits for /health. */
export async function startBackend(settings: BackendSettings, logDir: string, port?: number): Promise<Backend> {
  const chosenPort = port ?? (await freePort());
  const url = `http://127.0.0.1:${chosenPort}`;
  const logFile = join(logDir, "backend.log");
  const { service, child } = startService({
    name: "backend",
    command: settings.python,
    args: ["-m", "todo_api", "serve", "--host", "127.0.0.1", "--port", String(chosenPort)],
    env: backendEnv(settings),
    logFile,
  });
  try {
    await waitUntil("backend", child, () => httpOk(`${url}/health`), { logFile });
  } catch (error) {
    await service.stop();
    throw error;
  }
  return { ...service, url };
}
