// Frontend benchmark: standalone output size, runtime image size against a single-stage
// build, and p95 time to first byte of the todo list page under 50 concurrent users,
// against the production build, the real backend and PostgreSQL on 127.0.0.1.
// Writes bench-results/frontend-<time>.json and bench-results/latest.json.

import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, statSync, writeFileSync } from "node:fs";
import { cpus, loadavg, release, totalmem } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";

import { backendSettings, migrate, startBackend, type Backend } from "../e2e/support/backend";
import { startFrontend, type Frontend } from "../e2e/support/frontend";
import { APP_DIR } from "../e2e/support/paths";
import { startPostgres, type Postgres } from "../e2e/support/postgres";
import { freePort, httpOk } from "../e2e/support/processes";
import { runLoad, type LoadResult } from "./load";

const RESULTS_DIR = join(APP_DIR, "bench-results");
const LOG_DIR = join(RESULTS_DIR, "logs");
const USERS = 50;
const DURATION_S = Number(process.env.BENCH_DURATION_S ?? "20");
const DOCKER = process.env.DOCKER ?? "/usr/bin/docker";
const NODE_IMAGE = process.env.NODE_IMAGE ?? "todo-base/node:24";
const MB = 1_000_000;
// Targets: the list page serves at least this share of the backend's list calls per second,
// with p95 time to first byte under this many ms, at USERS concurrent users.
const MIN_PAGE_SHARE = 0.3;
const MAX_PAGE_P95_MS = 500;

function directoryBytes(path: string): number {
  let bytes = 0;
  for (const entry of readdirSync(path, { withFileTypes: true })) {
    const child = join(path, entry.name);
    if (entry.isDirectory()) bytes += directoryBytes(child);
    else if (entry.isFile()) bytes += statSync(child).size;
  }
  return bytes;
}

const megabytes = (bytes: number): number => Math.round((bytes / MB) * 10) / 10;

async function seedUser(backendUrl: string): Promise<string> {
  const response = await fetch(`${backendUrl}/auth/signup`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ email: `bench-${Date.now()}@example.com`, password: "benchmark password" }),
  });
  const session = (await response.json()) as { access_token?: string };
  if (response.status !== 201 || session.access_token === undefined) {
    throw new Error(`sign-up failed with ${response.status}`);
  }
  // A full first page, as a person with a busy list would see it.
  for (let number = 1; number <= 20; number += 1) {
    const created = await fetch(`${backendUrl}/todos`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${session.access_token}` },
      body: JSON.stringify({ title: `Errand number ${number}`, description: number % 3 === 0 ? "With a note" : null }),
    });
    if (created.status !== 201) throw new Error(`creating a todo failed with ${created.status}`);
  }
  return session.access_token;
}

async function measuredLoad(url: string, headers: Record<string, string>): Promise<LoadResult> {
  // Every seeded title appears on a good answer; an outage page would lack them.
  const options = { url, headers, users: USERS, durationMs: DURATION_S * 1000, maxRequests: 200_000, expectText: "Errand number 1" };
  // Warm the server's code paths and connection pools first; those figures are discarded.
  await runLoad({ ...options, users: 10, durationMs: 3000 });
  return runLoad(options);
}

const oneMinuteLoad = (): number => Math.round((loadavg()[0] ?? 0) * 10) / 10;

type ImageFigures =
  | { skipped: string }
  | {
      baseImage: string;
      baseMB: number;
      multiStageMB: number;
      singleStageMB: number;
      reductionPercent: number;
      addedOnTopOfBase: { multiStageMB: number; singleStageMB: number; reductionPercent: number };
      readOnlyRun: Record<string, number | string>;
    };

function docker(args: string[], options: { quiet?: boolean } = {}): string {
  return execFileSync(DOCKER, args, {
    encoding: "utf8",
    env: { ...process.env, DOCKER_BUILDKIT: "1" },
    stdio: ["ignore", "pipe", options.quiet === true ? "pipe" : "inherit"],
    maxBuffer: 64 * MB,
  });
}

function imageBytes(tag: string): number {
  return Number(docker(["image", "inspect", "--format", "{{.Size}}", tag], { quiet: true }).trim());
}

function buildImage(tag: string, dockerfile: string): void {
  const args = ["build", "--quiet", "--build-arg", `NODE_IMAGE=${NODE_IMAGE}`, "-f", dockerfile, "-t", tag];
  // Registries behind a TLS-inspecting proxy need its CA inside the build.
  const ca = process.env.NPM_CA_FILE ?? "/etc/ssl/certs/ca-certificates.crt";
  if (existsSync(ca)) args.push("--secret", `id=npm_ca,src=${ca}`);
  console.log(`building ${tag} from ${dockerfile}`);
  docker([...args, APP_DIR]);
}

/** Runs the runtime image as the cluster would: read-only, UID 10001, writable /tmp and cache only. */
async function readOnlyRun(tag: string, backendUrl: string): Promise<Record<string, number | string>> {
  const port = await freePort();
  const name = `todo-frontend-bench-${port}`;
  docker(
    ["run", "-d", "--rm", "--name", name, "--network", "host", "--read-only", "--user", "10001:10001",
      "--tmpfs", "/tmp", "--tmpfs", "/app/.next/cache:uid=10001,gid=10001",
      "-e", `PORT=${port}`, "-e", "HOSTNAME=127.0.0.1", "-e", `BACKEND_URL=${backendUrl}`, tag],
    { quiet: true },
  );
  try {
    const base = `http://127.0.0.1:${port}`;
    const deadline = Date.now() + 30_000;
    while (!(await httpOk(`${base}/api/health`))) {
      if (Date.now() > deadline) throw new Error(`${tag} did not answer /api/health`);
      await sleep(200);
    }
    const status = async (path: string) => (await fetch(`${base}${path}`, { redirect: "manual" })).status;
    return {
      user: docker(["exec", name, "id", "-u"], { quiet: true }).trim(),
      health: await status("/api/health"),
      ready: await status("/api/ready"),
      login: await status("/login"),
      staticAsset: (await fetch(`${base}/login`).then((page) => page.text())).includes("/_next/static/")
        ? "referenced"
        : "missing",
    };
  } finally {
    spawnSync(DOCKER, ["stop", "--time", "5", name], { stdio: "ignore" });
  }
}

async function imageFigures(backendUrl: string): Promise<ImageFigures> {
  if (spawnSync(DOCKER, ["info"], { stdio: "ignore" }).status !== 0) {
    return { skipped: `no Docker daemon answers ${DOCKER}` };
  }
  if (spawnSync(DOCKER, ["image", "inspect", NODE_IMAGE], { stdio: "ignore" }).status !== 0) {
    return { skipped: `base image ${NODE_IMAGE} is not present (local-cluster/base-images.sh makes it offline)` };
  }
  buildImage("todo-frontend:bench", join(APP_DIR, "Dockerfile"));
  buildImage("todo-frontend:bench-single-stage", join(APP_DIR, "bench", "Dockerfile.single-stage"));
  const base = imageBytes(NODE_IMAGE);
  const multi = imageBytes("todo-frontend:bench");
  const single = imageBytes("todo-frontend:bench-single-stage");
  const percent = (smaller: number, larger: number) => Math.round((1 - smaller / larger) * 1000) / 10;
  return {
    baseImage: NODE_IMAGE,
    baseMB: megabytes(base),
    multiStageMB: megabytes(multi),
    singleStageMB: megabytes(single),
    reductionPercent: percent(multi, single),
    addedOnTopOfBase: {
      multiStageMB: megabytes(multi - base),
      singleStageMB: megabytes(single - base),
      reductionPercent: percent(multi - base, single - base),
    },
    readOnlyRun: await readOnlyRun("todo-frontend:bench", backendUrl),
  };
}

async function main(): Promise<void> {
  const standalone = join(APP_DIR, ".next", "standalone");
  if (!existsSync(join(standalone, "server.js"))) throw new Error("run `npm run build` first");
  mkdirSync(LOG_DIR, { recursive: true });

  let postgres: Postgres | null = null;
  let backend: Backend | null = null;
  let frontend: Frontend | null = null;
  try {
    postgres = await startPostgres(LOG_DIR);
    const settings = backendSettings(postgres.url);
    migrate(settings);
    backend = await startBackend(settings, LOG_DIR);
    // The image's default deadline for backend calls, not the tests' shorter one.
    process.env.BACKEND_TIMEOUT_MS ??= "5000";
    frontend = await startFrontend(backend.url, LOG_DIR);
    const token = await seedUser(backend.url);

    const loadBefore = oneMinuteLoad();
    console.log(`load: ${USERS} users for ${DURATION_S} s on ${frontend.url}/todos`);
    const load = await measuredLoad(`${frontend.url}/todos`, { cookie: `todo_session=${token}`, accept: "text/html" });
    console.log(JSON.stringify(load));
    // The same users on the backend's list call alone, to tell the frontend's share from the backend's.
    console.log(`load: ${USERS} users for ${DURATION_S} s on ${backend.url}/todos`);
    const backendOnly = await measuredLoad(`${backend.url}/todos?status=all&limit=20&offset=0`, {
      authorization: `Bearer ${token}`,
    });
    console.log(JSON.stringify(backendOnly));
    const share = Math.round((load.requestsPerSecond / backendOnly.requestsPerSecond) * 1000) / 1000;
    console.log(
      `list page: ${load.requestsPerSecond} pages/s (p95 time to first byte ${load.ttfbMs.p95} ms, errors ${load.errors}); ` +
        `backend list call alone: ${backendOnly.requestsPerSecond} req/s; ` +
        `page share ${(share * 100).toFixed(1)} % (target >= ${MIN_PAGE_SHARE * 100} %, p95 < ${MAX_PAGE_P95_MS} ms); load average ${loadBefore} before`,
    );
    // The image run below competes for the same two cores; stop the local frontend first.
    await frontend.stop();
    frontend = null;

    const figures = {
      measuredAt: new Date().toISOString(),
      machine: {
        cpus: cpus().length,
        cpuModel: cpus()[0]?.model ?? "unknown",
        memoryGiB: Math.round(totalmem() / 2 ** 30),
        kernel: release(),
        node: process.version,
        // Other work on the machine skews latency; this says how busy it was.
        loadAverage1mBefore: loadBefore,
        loadAverage1mAfter: oneMinuteLoad(),
      },
      standaloneOutputMB: megabytes(directoryBytes(standalone)),
      image: await imageFigures(backend.url),
      listPage: {
        what: "GET /todos (20 todos) with a session cookie; production standalone server; real backend and PostgreSQL on 127.0.0.1",
        users: USERS,
        backendWorkers: Number(process.env.BACKEND_WORKERS ?? "1"),
        backendCallsPerPage: 1,
        ...load,
      },
      backendListCallAlone: {
        what: "GET /todos?limit=20 on the backend directly, same users and duration",
        ...backendOnly,
      },
      pageShareOfBackendList: share,
      verdicts: {
        [`page share >= ${MIN_PAGE_SHARE * 100} %`]: share >= MIN_PAGE_SHARE,
        [`page p95 time to first byte < ${MAX_PAGE_P95_MS} ms`]: load.ttfbMs.p95 < MAX_PAGE_P95_MS,
      },
    };
    mkdirSync(RESULTS_DIR, { recursive: true });
    const json = `${JSON.stringify(figures, null, 2)}\n`;
    const stampName = figures.measuredAt.replace(/[:.]/g, "-");
    writeFileSync(join(RESULTS_DIR, `frontend-${stampName}.json`), json);
    writeFileSync(join(RESULTS_DIR, "latest.json"), json);
    console.log(json);
  } finally {
    await frontend?.stop();
    await backend?.stop();
    await postgres?.stop();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
