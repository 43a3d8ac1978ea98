// Frontend benchmark: standalone output size, runtime image size against a single-stage
// build, and p95 time to first byte of the todo list page under 50 concurrent users,
// against the production build, the real backend and PostgreSQL on 127.0.0.1.
// Writes the raw figures to bench-results/frontend-<time>.json and bench-results/latest.json,
// and the run to the committed summary docs/results/bench-frontend.json (and .md) that
// the README quotes.

import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, statSync, writeFileSync } from "node:fs";
import { release } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";

import { backendSettings, migrate, startBackend, type Backend } from "../e2e/support/backend";
import { startFrontend, type Frontend } from "../e2e/support/frontend";
import { APP_DIR } from "../e2e/support/paths";
import { startPostgres, type Postgres } from "../e2e/support/postgres";
import { freePort, httpOk } from "../e2e/support/processes";
import { runLoad, type LoadResult } from "./load";
import { describeMachine, figure, markdownTable, recordResult, startedNow, type ResultRun } from "../../../loadtest/results";

const RESULTS_DIR = join(APP_DIR, "bench-results");
const LOG_DIR = join(RESULTS_DIR, "logs");
const USERS = 50;
const DURATION_S = Number(process.env.BENCH_DURATION_S ?? "20");
const DOCKER = process.env.DOCKER ?? "/usr/bin/docker";
const NODE_IMAGE = process.env.NODE_IMAGE ?? "todo-base/node:24";
const BACKEND_WORKERS = Number(process.env.BACKEND_WORKERS ?? "1");
// The settings that change the figures, so the recorded command runs the same benchmark again.
const SETTINGS = ["BENCH_DURATION_S", "BACKEND_WORKERS", "NODE_IMAGE", "DOCKER"] as const;
const COMMAND = [
  ...SETTINGS.flatMap((name) => (process.env[name] === undefined ? [] : [`${name}=${process.env[name]}`])),
  "npm run bench:frontend",
].join(" ");
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

type ReadOnlyRun = { uid: number; health: number; ready: number; login: number; static_assets: "referenced" | "missing" };

type MeasuredImage = {
  base_image: string;
  base_mb: number;
  multi_stage_mb: number;
  single_stage_mb: number;
  reduction_percent: number;
  added_on_base: { multi_stage_mb: number; single_stage_mb: number; reduction_percent: number };
  read_only_run: ReadOnlyRun;
};

type ImageFigures = { skipped: string } | MeasuredImage;

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
async function readOnlyRun(tag: string, backendUrl: string): Promise<ReadOnlyRun> {
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
      uid: Number(docker(["exec", name, "id", "-u"], { quiet: true }).trim()),
      health: await status("/api/health"),
      ready: await status("/api/ready"),
      login: await status("/login"),
      static_assets: (await fetch(`${base}/login`).then((page) => page.text())).includes("/_next/static/")
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
    base_image: NODE_IMAGE,
    base_mb: megabytes(base),
    multi_stage_mb: megabytes(multi),
    single_stage_mb: megabytes(single),
    reduction_percent: percent(multi, single),
    added_on_base: {
      multi_stage_mb: megabytes(multi - base),
      single_stage_mb: megabytes(single - base),
      reduction_percent: percent(multi - base, single - base),
    },
    read_only_run: await readOnlyRun("todo-frontend:bench", backendUrl),
  };
}

const SUMMARY_ABOUT =
  "`npm run bench:frontend` builds the app (`next build`, standalone), starts it with the real backend and PostgreSQL " +
  "on 127.0.0.1, signs a person up with a full first page of todos, and puts closed-loop users (each sends its next " +
  "request when the last one ends) on the list page for the given seconds, after a short warm-up that is not counted; " +
  "then the same users on the backend's list call alone, to tell the frontend's share from the backend's. Time to first " +
  "byte is measured by the load loop (`apps/frontend/bench/load.ts`). Errors are answers other than a 200 with the " +
  "seeded todos. The image rows appear only when a Docker daemon and the base image were present; otherwise the run's " +
  "`image` says why it was skipped. The one-minute load average shows other work on the machine, which the latency " +
  "figures include. Raw figures: `apps/frontend/bench-results/`.";

type LoadFigures = { requests_per_s: number; requests: number; errors: number; ttfb_p50_ms: number; ttfb_p95_ms: number };

/** What the committed summary keeps of a run; its table is made from these alone. */
type SummaryFigures = {
  node: string;
  users: number;
  duration_s: number;
  backend_workers: number;
  standalone_mb: number;
  image: ImageFigures;
  list_page: LoadFigures;
  backend_list_call: LoadFigures;
  /** The list page's throughput over the backend list call's, a fraction. */
  page_share: number;
  targets: { page_share: number; ttfb_p95_ms: number };
};

const loadFigures = (result: LoadResult): LoadFigures => ({
  requests_per_s: result.requestsPerSecond,
  requests: result.requests,
  errors: result.errors,
  ttfb_p50_ms: result.ttfbMs.p50,
  ttfb_p95_ms: result.ttfbMs.p95,
});

type Row = readonly [label: string, cell: (figures: SummaryFigures, run: ResultRun) => string];

const ms = (value: number): string => `${figure(value, 0)} ms`;
const verdict = (met: boolean): string => (met ? "met" : "missed");
const measuredImage = (figures: SummaryFigures): MeasuredImage | null => ("skipped" in figures.image ? null : figures.image);

const IMAGE_ROWS: readonly (readonly [string, (image: MeasuredImage) => string])[] = [
  ["Runtime image, multi-stage (its base)", (image) => `${figure(image.multi_stage_mb)} MB (\`${image.base_image}\`, ${figure(image.base_mb)} MB)`],
  ["Same app, one-stage build (`bench/Dockerfile.single-stage`)", (image) => `${figure(image.single_stage_mb)} MB`],
  ["Reduction, whole image / layers added on top of the base", (image) => `${figure(image.reduction_percent)} % / ${figure(image.added_on_base.reduction_percent)} %`],
  [
    "Image run read-only: `id -u`, `/api/health`, `/api/ready`, `/login`, static files",
    ({ read_only_run: run }) => `${run.uid}, ${run.health}, ${run.ready}, ${run.login}, ${run.static_assets}`,
  ],
];

/** One column per run kept; the image rows only when some run measured the images. */
function summaryTable(runs: readonly ResultRun[]): string {
  // Every run of this summary was recorded by this file, with these figures.
  const figuresOf = (run: ResultRun): SummaryFigures => run.figures as SummaryFigures;
  const anyImage = runs.some((run) => measuredImage(figuresOf(run)) !== null);
  const imageRows = IMAGE_ROWS.map(
    ([label, cell]): Row => [label, (figures) => {
      const image = measuredImage(figures);
      return image === null ? "skipped" : cell(image);
    }],
  );
  const rows: Row[] = [
    ["One-minute load average before the load", (_, run) => figure(run.machine.load_average[0], 2)],
    ["Node.js", (figures) => `\`${figures.node}\``],
    ["Standalone output (`.next/standalone`, static assets included)", (figures) => `${figure(figures.standalone_mb)} MB`],
    ...(anyImage ? imageRows : []),
    ["Closed-loop users × seconds; backend worker processes", (figures) => `${figures.users} × ${figures.duration_s} s; ${figures.backend_workers}`],
    ["List page (`GET /todos`, a full page, signed in)", (figures) => `${figure(figures.list_page.requests_per_s)} pages/s`],
    ["List page: p50 / p95 time to first byte", ({ list_page: page }) => `${ms(page.ttfb_p50_ms)} / ${ms(page.ttfb_p95_ms)}`],
    ["List page: errors / requests", ({ list_page: page }) => `${figure(page.errors, 0)} / ${figure(page.requests, 0)}`],
    ["Backend list call alone, same users", (figures) => `${figure(figures.backend_list_call.requests_per_s)} req/s`],
    ["Backend list call alone: p50 / p95 time to first byte", ({ backend_list_call: call }) => `${ms(call.ttfb_p50_ms)} / ${ms(call.ttfb_p95_ms)}`],
    [
      "List page's share of the backend list call's throughput",
      ({ page_share: share, targets }) =>
        `${figure(share * 100)} % (target ${figure(targets.page_share * 100)} %: ${verdict(share >= targets.page_share)})`,
    ],
    [
      "List page's p95 time to first byte, target",
      ({ list_page: page, targets }) => `under ${ms(targets.ttfb_p95_ms)}: ${verdict(page.ttfb_p95_ms < targets.ttfb_p95_ms)}`,
    ],
  ];
  return markdownTable(
    ["Figure", ...runs.map((run) => run.key)],
    rows.map(([label, cell]) => [label, ...runs.map((run) => cell(figuresOf(run), run))]),
    [false, ...runs.map(() => true)],
  );
}

async function main(): Promise<void> {
  const standalone = join(APP_DIR, ".next", "standalone");
  if (!existsSync(join(standalone, "server.js"))) throw new Error("run `npm run build` first");
  mkdirSync(LOG_DIR, { recursive: true });
  const date = startedNow();

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

    // Read just before the load: other work on the machine skews latency.
    const machine = describeMachine();
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
        `page share ${(share * 100).toFixed(1)} % (target >= ${MIN_PAGE_SHARE * 100} %, p95 < ${MAX_PAGE_P95_MS} ms); load average ${machine.load_average[0]} before`,
    );
    // The image run below competes for the same two cores; stop the local frontend first.
    await frontend.stop();
    frontend = null;

    const standaloneMB = megabytes(directoryBytes(standalone));
    const image = await imageFigures(backend.url);
    const figures = {
      measuredAt: new Date().toISOString(),
      machine: { ...machine, kernel: release(), node: process.version, loadAverageAfter: describeMachine().load_average },
      standaloneOutputMB: standaloneMB,
      image,
      listPage: {
        what: "GET /todos (20 todos) with a session cookie; production standalone server; real backend and PostgreSQL on 127.0.0.1",
        users: USERS,
        backendWorkers: BACKEND_WORKERS,
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

    const summaryFigures: SummaryFigures = {
      node: process.version,
      users: USERS,
      duration_s: DURATION_S,
      backend_workers: BACKEND_WORKERS,
      standalone_mb: standaloneMB,
      image,
      list_page: loadFigures(load),
      backend_list_call: loadFigures(backendOnly),
      page_share: share,
      targets: { page_share: MIN_PAGE_SHARE, ttfb_p95_ms: MAX_PAGE_P95_MS },
    };
    const summary = recordResult({
      name: "bench-frontend",
      title: "Frontend benchmark: the list page under load, the standalone output and the image",
      about: SUMMARY_ABOUT,
      run: { key: "list-page", command: COMMAND, date, machine, figures: summaryFigures },
      table: summaryTable,
    });
    console.log(`summary: ${summary}`);
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
