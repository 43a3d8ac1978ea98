// Uses the deployed app the way a person does, in Debian's Chromium through the frontend's
// Playwright: sign up, add a todo, then load the list afresh and find it there.
//   node e2e/app-check.mjs http://127.0.0.1:30000
import { randomUUID } from "node:crypto";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";

const frontendDir = fileURLToPath(new URL("../apps/frontend/", import.meta.url));
const { chromium } = createRequire(frontendDir)("playwright-core");

const baseUrl = process.argv[2];
if (!baseUrl) {
  console.error("usage: node e2e/app-check.mjs BASE_URL");
  process.exit(2);
}
const email = `e2e-${randomUUID().slice(0, 8)}@example.com`;
const title = `Deployed by Pulumi ${randomUUID().slice(0, 8)}`;
// Generous: the first requests compile nothing, but a busy 2-core node answers slowly.
const TIMEOUT_MS = 30_000;

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium",
  args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run"],
});
try {
  const page = await browser.newPage();
  page.setDefaultTimeout(TIMEOUT_MS);
  await page.goto(`${baseUrl}/signup`);
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password").fill("a calm password 42");
  await page.getByRole("button", { name: "Create account" }).click();
  await page.waitForURL(/\/todos$/);
  console.log(`signed up as ${email}`);

  const input = page.getByLabel("New todo");
  await input.fill(title);
  await input.press("Enter");
  const todoList = page.getByRole("list", { name: "Todos" });
  await todoList.getByText(title, { exact: true }).waitFor();
  console.log(`added "${title}"`);

  // A fresh load: the list streams in after the page's loading state, so wait for the item.
  await page.goto(`${baseUrl}/todos`);
  await todoList.getByText(title, { exact: true }).waitFor();
  console.log(`listed after a reload: ${JSON.stringify(await todoList.locator(".todo-title").allTextContents())}`);
} finally {
  await browser.close();
}
