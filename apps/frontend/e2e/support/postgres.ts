// A throwaway PostgreSQL cluster on 127.0.0.1, built with the machine's initdb.

import { execFileSync, spawnSync } from "node:child_process";
import { chmodSync, chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

import { freePort, startService, waitUntil, type Service } from "./processes";

export type Postgres = Service & { readonly url: string };

function binDir(): string {
  const override = process.env.PG_BIN_DIR;
  if (override !== undefined && override !== "") return override;
  const root = "/usr/lib/postgresql";
  const versions = existsSync(root)
    ? readdirSync(root)
        .filter((name) => existsSync(join(root, name, "bin", "initdb")))
        .sort((a, b) => Number(b) - Number(a))
    : [];
  const newest = versions[0];
  if (newest === undefined) {
    throw new Error("PostgreSQL server binaries not found: install the postgresql package or set PG_BIN_DIR");
  }
  return join(root, newest, "bin");
}

/** initdb refuses to run as root, so root runs the cluster as "nobody". */
function serverAccount(): { uid: number; gid: number } | null {
  if (process.getuid?.() !== 0) return null;
  const uid = Number(execFileSync("id", ["-u", "nobody"], { encoding: "utf8" }).trim());
  const gid = Number(execFileSync("id", ["-g", "nobody"], { encoding: "utf8" }).trim());
  return { uid, gid };
}

export async function startPostgres(logDir: string): Promise<Postgres> {
  const bin = binDir();
  const account = serverAccount();
  const root = mkdtempSync(join(tmpdir(), "todo-frontend-pg-"));
  chmodSync(root, 0o755);
  if (account !== null) chownSync(root, account.uid, account.gid);
  const data = join(root, "data");
  const asAccount = account === null ? {} : { uid: account.uid, gid: account.gid };

  const init = spawnSync(
    join(bin, "initdb"),
    ["-D", data, "-U", "postgres", "-A", "trust", "-E", "UTF8", "--locale=C", "--no-sync"],
    { cwd: root, encoding: "utf8", ...asAccount },
  );
  if (init.status !== 0) {
    rmSync(root, { recursive: true, force: true });
    throw new Error(`initdb failed: ${init.stderr}`);
  }

  const port = await freePort();
  const logFile = join(logDir, "postgres.log");
  const { service, child } = startService({
    name: "postgres",
    command: join(bin, "postgres"),
    // Durability is pointless for a throwaway test database; speed is not.
    args: ["-D", data, "-p", String(port), "-k", root, "-c", "listen_addresses=127.0.0.1",
      "-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off",
      "-c", "max_connections=200"],
    cwd: root,
    logFile,
    stopSignal: "SIGINT", // fast shutdown
    ...asAccount,
  });
  const stop = async () => {
    await service.stop();
    rmSync(root, { recursive: true, force: true });
  };
  try {
    await waitUntil("postgres", child, () => Promise.resolve(ready(bin, port)), { logFile, timeoutMs: 30_000 });
    const created = spawnSync(join(bin, "createdb"), ["-h", "127.0.0.1", "-p", String(port), "-U", "postgres", "todo"], {
      encoding: "utf8",
    });
    if (created.status !== 0) throw new Error(`createdb failed: ${created.stderr}`);
  } catch (error) {
    await stop();
    throw error;
  }
  return { ...service, stop, url: `postgresql://postgres@127.0.0.1:${port}/todo` };
}

function ready(bin: string, port: number): boolean {
  return spawnSync(join(bin, "pg_isready"), ["-q", "-h", "127.0.0.1", "-p", String(port)]).status === 0;
}
