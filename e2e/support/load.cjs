// Bounded load on the app, in one of three modes:
//   read   a fresh account lists its todos again and again (backend API);
//   cpu    the same account logs in again and again: argon2 hashing keeps the backend's CPU busy;
//   ready  the frontend's /api/ready again and again: each one is a call from the frontend's own
//          backend client to the backend's /health.
// The backend modes run inside a frontend pod (the NetworkPolicies let only the frontend reach
// the backend), against the pod's own BACKEND_URL:
//   kubectl exec -i deployment/frontend -- node -e "$(cat e2e/support/load.cjs)" read|cpu MAX_SECONDS WORKERS
// The frontend mode runs here, against the frontend's NodePort or a port-forward:
//   node e2e/support/load.cjs ready MAX_SECONDS WORKERS http://127.0.0.1:30001
// Each request goes on a new connection, so it is routed by the Service's endpoints of that
// moment. Any answer but 200, or any connection error, is a failed request. Runs until its stdin
// closes or MAX_SECONDS pass, whichever comes first. Prints one JSON line a second while it runs,
// {"event": "progress", "requests", "failed"} (the suite times them by its own clock), and one at
// the end: {"event": "summary", "mode", "requests", "failed", "seconds", "failures": [first few reasons]}.
"use strict";
const http = require("node:http");
const { randomUUID } = require("node:crypto");

// `node -e SCRIPT args` has no script path in argv; `node load.cjs args` has.
const args = process.argv.slice(require.main === module ? 2 : 1);
const [mode, maxSecondsText, workersText, baseUrlArg] = args;
const maxSeconds = Number(maxSecondsText);
const workers = Number(workersText);
const baseUrl = baseUrlArg ?? process.env.BACKEND_URL;
if (!["read", "cpu", "ready"].includes(mode) || !(maxSeconds > 0) || !(workers > 0) || !baseUrl) {
  console.error("usage: load.cjs read|cpu|ready MAX_SECONDS WORKERS [BASE_URL, default $BACKEND_URL]");
  process.exit(2);
}
const REQUEST_TIMEOUT_MS = 10_000;
// Between two requests of one worker: a small, steady load rather than a flood.
const PAUSE_MS = mode === "cpu" ? 0 : 25;

function call(method, path, body, token) {
  return new Promise((resolve) => {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const request = http.request(
      new URL(path, baseUrl),
      {
        method,
        agent: false,
        timeout: REQUEST_TIMEOUT_MS,
        headers: {
          ...(payload ? { "content-type": "application/json" } : {}),
          ...(token ? { authorization: `Bearer ${token}` } : {}),
        },
      },
      (response) => {
        let text = "";
        response.setEncoding("utf8");
        response.on("data", (chunk) => (text += chunk));
        response.on("end", () => resolve({ status: response.statusCode, text }));
        response.on("error", (error) => resolve({ status: 0, text: String(error) }));
      },
    );
    request.on("timeout", () => request.destroy(new Error(`no answer within ${REQUEST_TIMEOUT_MS} ms`)));
    request.on("error", (error) => resolve({ status: 0, text: String(error) }));
    request.end(payload);
  });
}

// A fresh account and its token, for the backend modes.
async function signUp() {
  const credentials = { email: `load-${randomUUID().slice(0, 8)}@example.com`, password: `load password ${randomUUID()}` };
  const signup = await call("POST", "/auth/signup", credentials);
  if (signup.status !== 201) {
    console.error(`signup failed: ${signup.status} ${signup.text}`);
    process.exit(1);
  }
  return { credentials, token: JSON.parse(signup.text).access_token };
}

const requests = {
  read: ({ token }) => call("GET", "/todos", undefined, token),
  cpu: ({ credentials }) => call("POST", "/auth/login", credentials),
  ready: () => call("GET", "/api/ready"),
};

async function main() {
  const account = mode === "ready" ? undefined : await signUp();

  let stopping = false;
  process.stdin.on("end", () => (stopping = true));
  process.stdin.on("error", () => (stopping = true));
  process.stdin.resume();
  const started = Date.now();
  const deadline = started + maxSeconds * 1000;
  const summary = { event: "summary", mode, requests: 0, failed: 0, seconds: 0, failures: [] };
  const progress = () => console.log(JSON.stringify({ event: "progress", requests: summary.requests, failed: summary.failed }));
  progress();
  const ticker = setInterval(progress, 1000);

  async function worker() {
    while (!stopping && Date.now() < deadline) {
      const answer = await requests[mode](account);
      summary.requests += 1;
      if (answer.status !== 200) {
        summary.failed += 1;
        if (summary.failures.length < 5) summary.failures.push(`${answer.status} ${answer.text.slice(0, 200)}`);
      }
      if (PAUSE_MS > 0) await new Promise((resolve) => setTimeout(resolve, PAUSE_MS));
    }
  }
  await Promise.all(Array.from({ length: workers }, worker));
  clearInterval(ticker);
  progress();
  summary.seconds = Math.round((Date.now() - started) / 100) / 10;
  console.log(JSON.stringify(summary));
  process.exit(0);
}

main();
