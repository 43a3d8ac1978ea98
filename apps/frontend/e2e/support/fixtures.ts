// Playwright fixtures: each worker runs the real backend and the built frontend.

import { randomUUID } from "node:crypto";

import { test as base, expect, type Locator, type Page } from "@playwright/test";

import { startBackend, type Backend, type BackendSettings } from "./backend";
import { startFrontend } from "./frontend";
import { LOG_DIR } from "./paths";

export type BackendControl = {
  /** Stops the backend process, as an outage would. */
  stop(): Promise<void>;
  /** Starts it again on the same address. */
  start(): Promise<void>;
  /** Freezes the process: connections hang until resume(), as with an overloaded backend. */
  pause(): void;
  resume(): void;
};

type Stack = { frontendUrl: string; backendUrl: string; backend: BackendControl };

function settingsFromGlobalSetup(): BackendSettings {
  const { E2E_BACKEND_PYTHON, E2E_DATABASE_URL, E2E_JWT_SECRET } = process.env;
  if (E2E_BACKEND_PYTHON === undefined || E2E_DATABASE_URL === undefined || E2E_JWT_SECRET === undefined) {
    throw new Error("global setup did not run: start the tests with `npx playwright test`");
  }
  return { python: E2E_BACKEND_PYTHON, databaseUrl: E2E_DATABASE_URL, jwtSecret: E2E_JWT_SECRET };
}

export const test = base.extend<{ stack: Stack }, { workerStack: Stack }>({
  workerStack: [
    // Playwright reads a fixture's dependencies from the destructuring pattern; this one has none.
    async ({}, use) => {
      const settings = settingsFromGlobalSetup();
      const first = await startBackend(settings, LOG_DIR);
      const current: { backend: Backend | null } = { backend: first };
      const port = Number(new URL(first.url).port);
      const frontend = await startFrontend(first.url, LOG_DIR);
      const running = (): Backend => {
        if (current.backend === null) throw new Error("the backend is stopped");
        return current.backend;
      };
      const control: BackendControl = {
        async stop() {
          await running().stop();
          current.backend = null;
        },
        async start() {
          current.backend ??= await startBackend(settings, LOG_DIR, port);
        },
        pause: () => {
          running().signal("SIGSTOP");
        },
        resume: () => {
          current.backend?.signal("SIGCONT");
        },
      };
      try {
        await use({ frontendUrl: frontend.url, backendUrl: first.url, backend: control });
      } finally {
        await frontend.stop();
        await current.backend?.stop();
      }
    },
    { scope: "worker", timeout: 120_000 },
  ],
  // Every test starts with the backend up, whatever the previous test did to it.
  stack: [
    async ({ workerStack }, use) => {
      await workerStack.backend.start();
      await use(workerStack);
      workerStack.backend.resume();
      await workerStack.backend.start();
    },
    { auto: true },
  ],
  // An uncaught exception in the browser fails the test, even when the page looks fine.
  page: async ({ page }, use) => {
    const errors: string[] = [];
    page.on("pageerror", (error) => errors.push(error.stack ?? error.message));
    page.on("console", (message) => {
      // The browser's own note that the list answered 503, as it does while the backend is away.
      const listAway =
        message.text().includes("status of 503") && new URL(message.location().url, "http://x").pathname === "/todos";
      if (message.type() === "error" && !listAway) errors.push(`console: ${message.text()}`);
    });
    await use(page);
    expect(errors, "errors in the browser").toEqual([]);
  },
  baseURL: async ({ workerStack }, use) => {
    await use(workerStack.frontendUrl);
  },
});

export { expect };

export const PASSWORD = "a calm password 42";

export function uniqueEmail(label: string): string {
  return `${label}-${randomUUID().slice(0, 8)}@example.com`;
}

export async function signUp(page: Page, email: string, password = PASSWORD): Promise<void> {
  await page.goto("/signup");
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Create account" }).click();
  await expect(page).toHaveURL(/\/todos$/);
}

export async function logIn(page: Page, email: string, password = PASSWORD): Promise<void> {
  await page.goto("/login");
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Log in" }).click();
  await expect(page).toHaveURL(/\/todos$/);
}

export async function addTodo(page: Page, title: string, description?: string): Promise<void> {
  if (description !== undefined) {
    await page.getByText("Add a description").click();
    await page.getByPlaceholder("Notes, links, details (optional)").fill(description);
  }
  const input = page.getByLabel("New todo");
  await input.fill(title);
  await input.press("Enter");
  await expect(todoItem(page, title)).toBeVisible();
  await expect(input).toHaveValue("");
}

/** Alerts of the app itself; Next.js adds a route announcer with the same role outside <main>. */
export function alerts(page: Page): Locator {
  return page.getByRole("main").getByRole("alert");
}

export function todoList(page: Page): Locator {
  return page.getByRole("list", { name: "Todos" });
}

export function todoItem(page: Page, title: string): Locator {
  return todoList(page)
    .getByRole("listitem")
    .filter({ has: page.getByText(title, { exact: true }) });
}

/** Titles in the order shown. */
export async function shownTitles(page: Page): Promise<string[]> {
  if ((await todoList(page).count()) === 0) return [];
  return todoList(page).locator(".todo-title").allTextContents();
}
