import { join } from "node:path";

import { addTodo, alerts, expect, PASSWORD, shownTitles, signUp, test, uniqueEmail } from "./support/fixtures";
import { SCREENSHOT_DIR } from "./support/paths";

// Words that would betray a stack trace or an internal address on the page.
const LEAKS = /at \w+ \(|node_modules|ECONNREFUSED|TypeError|fetch failed|127\.0\.0\.1:\d+/;

test("backend stopped: the list says so, and Try again recovers once it is back", async ({ page, stack, request }) => {
  await signUp(page, uniqueEmail("outage"));
  await addTodo(page, "Water the plants");

  await stack.backend.stop();
  expect((await request.get("/api/health")).status()).toBe(200);
  expect((await request.get("/api/ready")).status()).toBe(503);

  // The page stays as it is; its status tells monitors and load balancers what it says.
  expect((await page.reload())?.status()).toBe(503);
  const alert = alerts(page);
  await expect(alert).toContainText("Your todos can't be loaded");
  await expect(alert).toContainText("We can't reach the todo service right now.");
  expect(await page.content()).not.toMatch(LEAKS);
  await page.screenshot({ path: join(SCREENSHOT_DIR, "outage-desktop.png") });

  // Trying again while it is still down keeps the same calm message.
  const retry = page.getByRole("button", { name: "Try again" });
  await retry.click();
  await expect(retry).toBeEnabled();
  await expect(alert).toContainText("can't be loaded");

  await stack.backend.start();
  expect((await request.get("/api/ready")).status()).toBe(200);
  await retry.click();
  await expect.poll(() => shownTitles(page)).toEqual(["Water the plants"]);
  await expect(alerts(page)).toHaveCount(0);
  expect((await page.context().request.get("/todos")).status()).toBe(200);
});

test("backend hanging: the page gives up after the timeout and recovers", async ({ page, stack }) => {
  await signUp(page, uniqueEmail("slow"));
  await addTodo(page, "Fix the bike");

  stack.backend.pause();
  await page.reload();
  await expect(alerts(page)).toContainText("taking too long to answer");

  stack.backend.resume();
  await page.getByRole("button", { name: "Try again" }).click();
  await expect.poll(() => shownTitles(page)).toEqual(["Fix the bike"]);
});

test("backend stopped: changes and log-in say the service is unavailable", async ({ page, stack }) => {
  const email = uniqueEmail("offline");
  await signUp(page, email);
  await addTodo(page, "Post the letter");

  await stack.backend.stop();
  await page.getByLabel("New todo").fill("Written while offline");
  await page.getByLabel("New todo").press("Enter");
  await expect(alerts(page)).toContainText("Your change was not saved");
  // The typed title is kept so nothing is lost.
  await expect(page.getByLabel("New todo")).toHaveValue("Written while offline");

  await page.getByRole("button", { name: "Done: Post the letter" }).click();
  await expect(alerts(page).first()).toContainText("can't reach");
  await expect(page.getByRole("button", { name: "Done: Post the letter" })).toHaveAttribute("aria-pressed", "false");

  await page.getByRole("button", { name: "Log out", exact: true }).click();
  await expect(page).toHaveURL(/\/login$/);
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password").fill(PASSWORD);
  await page.getByRole("button", { name: "Log in" }).click();
  await expect(alerts(page)).toContainText("We can't reach the todo service right now.");
  expect(await page.content()).not.toMatch(LEAKS);

  await stack.backend.start();
  // The email is kept; the password is cleared, as after any failed log-in.
  await expect(page.getByLabel("Email")).toHaveValue(email);
  await expect(page.getByLabel("Password")).toHaveValue("");
  await page.getByLabel("Password").fill(PASSWORD);
  await page.getByRole("button", { name: "Log in" }).click();
  await expect(page).toHaveURL(/\/todos$/);
  await expect.poll(() => shownTitles(page)).toEqual(["Post the letter"]);
});
