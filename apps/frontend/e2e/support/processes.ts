// Starting and stopping the real servers the browser tests and the benchmark run against.

import { spawn, type ChildProcess, type SpawnOptions } from "node:child_process";
import { createWriteStream, mkdirSync } from "node:fs";
import { createServer } from "node:net";
import { dirname } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";

/** Asks the kernel for a free loopback port. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => {
        if (address === null || typeof address === "string") reject(new Error("no port assigned"));
        else resolve(address.port);
      });
    });
  });
}

export type Service = {
  readonly name: string;
  readonly logFile: string;
  /** Sends a signal, e.g. SIGSTOP/SIGCONT to make a server hang and wake up again. */
  signal(signal: NodeJS.Signals): void;
  stop(): Promise<void>;
};

type StartOptions = {
  name: string;
  command: string;
  args: string[];
  logFile: string;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  uid?: number;
  gid?: number;
  stopSignal?: NodeJS.Signals;
};

function exited(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve();
    else
      child.once("exit", () => {
        resolve();
      });
  });
}

/** Spawns a long-running server with its output in a log file. */
export function startService(options: StartOptions): { service: Service; child: ChildProcess } {
  mkdirSync(dirname(options.logFile), { recursive: true });
  const log = createWriteStream(options.logFile, { flags: "a" });
  const spawnOptions: SpawnOptions = {
    cwd: options.cwd,
    env: options.env ?? process.env,
    stdio: ["ignore", "pipe", "pipe"],
  };
  if (options.uid !== undefined) spawnOptions.uid = options.uid;
  if (options.gid !== undefined) spawnOptions.gid = options.gid;
  const child = spawn(options.command, options.args, spawnOptions);
  child.stdout?.pipe(log);
  child.stderr?.pipe(log);
  const done = exited(child);

  const service: Service = {
    name: options.name,
    logFile: options.logFile,
    signal(signal) {
      child.kill(signal);
    },
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill("SIGCONT"); // a paused server cannot act on SIGTERM
        child.kill(options.stopSignal ?? "SIGTERM");
        const graceful = await Promise.race([done.then(() => true), sleep(10_000).then(() => false)]);
        if (!graceful) child.kill("SIGKILL");
      }
      await done;
      log.end();
    },
  };
  return { service, child };
}

/** Polls until `probe` resolves true; fails early if the process died. */
export async function waitUntil(
  what: string,
  child: ChildProcess,
  probe: () => Promise<boolean>,
  { timeoutMs = 60_000, logFile }: { timeoutMs?: number; logFile: string },
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`${what} exited early (code ${String(child.exitCode)}); see ${logFile}`);
    }
    if (await probe()) return;
    await sleep(150);
  }
  throw new Error(`${what} not ready after ${timeoutMs} ms; see ${logFile}`);
}

export async function httpOk(url: string): Promise<boolean> {
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(2000) });
    await response.body?.cancel();
    return response.ok;
  } catch {
    return false;
  }
}
