import { readFileSync } from "node:fs";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";

import type { Page } from "@playwright/test";

import { RETRY_LOG_LINE } from "../src/lib/retry-log";
import { alerts, expect, shownTitles, signUp, test, todoItem, uniqueEmail } from "./support/fixtures";
import { startFrontend, type Frontend } from "./support/frontend";
import { LOG_DIR } from "./support/paths";

// A backend restart shorter than the frontend's retry budget is not seen: the change or the page
// comes late, without an error. These tests run a frontend of their own with a budget long enough
// for the backend to start again (the suite's frontend has a short one).
const NAME = "frontend-retries";
const LOG_FILE = join(LOG_DIR, `${NAME}.log`);
const RECOVERY_MS = 30_000;

test.describe("a backend restart within the retry budget", () => {
  let frontend: Frontend;

  test.beforeAll(async ({ workerStack }) => {
    frontend = await startFrontend(workerStack.backendUrl, LOG_DIR, {
      name: NAME,
      env: { BACKEND_RETRY_BUDGET_MS: String(RECOVERY_MS) },
    });
  });

  test.afterAll(async () => {
    await frontend.stop();
  });

  /** A page of this frontend; any error in the browser fails the test. */
  async function pageOfFrontend(newPage: () => Promise<Page>, errors: string[]): Promise<Page> {
    const page = await newPage();
    page.on("pageerror", (error) => errors.push(error.stack ?? error.message));
    page.on("console", (message) => {
      if (message.type() === "error") errors.push(`console: ${message.text()}`);
    });
    return page;
  }

  /** The retry lines this frontend logged since `from` (a length of its log). */
  function retryLinesSince(from: number): string[] {
    return readFileSync(LOG_FILE, "utf8").slice(from).split("\n").filter((line) => RETRY_LOG_LINE.test(line));
  }

  test("a todo added while the backend is down is saved once it is back, without an error", async ({ browser, stack }) => {
    test.setTimeout(90_000);
    const context = await browser.newContext({ baseURL: frontend.url });
    const errors: string[] = [];
    const page = await pageOfFrontend(() => context.newPage(), errors);
    await signUp(page, uniqueEmail("restart"));
    const logStart = readFileSync(LOG_FILE, "utf8").length;

    await stack.backend.stop();
    await page.getByLabel("New todo").fill("Written across a restart");
    await page.getByLabel("New todo").press("Enter");
    await expect(page.getByRole("button", { name: "Adding…" })).toBeVisible();
    await sleep(1000);
    await stack.backend.start();

    await expect(todoItem(page, "Written across a restart")).toBeVisible({ timeout: RECOVERY_MS });
    await expect(page.getByLabel("New todo")).toHaveValue("");
    expect(await shownTitles(page)).toEqual(["Written across a restart"]);
    await expect(alerts(page)).toHaveCount(0);
    // Logged once for the call, however many attempts it took.
    const lines = retryLinesSince(logStart);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain("backend POST /todos retried:");
    expect(lines[0]).toContain('"outcome":"recovered"');
    await context.close();
    expect(errors).toEqual([]);
  });

  test("the list asked for while the backend is down shows once it is back", async ({ browser, stack }) => {
    test.setTimeout(90_000);
    const context = await browser.newContext({ baseURL: frontend.url });
    const errors: string[] = [];
    const page = await pageOfFrontend(() => context.newPage(), errors);
    await signUp(page, uniqueEmail("restart-list"));
    await page.getByLabel("New todo").fill("Still here");
    await page.getByLabel("New todo").press("Enter");
    await expect(todoItem(page, "Still here")).toBeVisible();

    await stack.backend.stop();
    const reload = page.reload({ timeout: RECOVERY_MS });
    await sleep(1000);
    await stack.backend.start();
    expect((await reload)?.status()).toBe(200);
    expect(await shownTitles(page)).toEqual(["Still here"]);
    await expect(alerts(page)).toHaveCount(0);
    await context.close();
    expect(errors).toEqual([]);
  });
});
