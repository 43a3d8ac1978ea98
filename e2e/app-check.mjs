// Uses the deployed app the way a person does, in Debian's Chromium through the frontend's
// Playwright.
//   node e2e/app-check.mjs BASE_URL                  sign up, add a todo, find it after a reload
//   node e2e/app-check.mjs BASE_URL --save FILE      the same, then keep the account and todo in FILE
//   node e2e/app-check.mjs BASE_URL --verify FILE    log in with FILE's account, find FILE's todo
import { randomUUID } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";

const frontendDir = fileURLToPath(new URL("../apps/frontend/", import.meta.url));
const { chromium } = createRequire(frontendDir)("playwright-core");

const [baseUrl, mode, file] = process.argv.slice(2);
if (!baseUrl || (mode !== undefined && !(["--save", "--verify"].includes(mode) && file))) {
  console.error("usage: node e2e/app-check.mjs BASE_URL [--save FILE | --verify FILE]");
  process.exit(2);
}
// Generous: the first requests compile nothing, but a busy 2-core node answers slowly.
const TIMEOUT_MS = 30_000;

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium",
  args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run"],
});
try {
  const page = await browser.newPage();
  page.setDefaultTimeout(TIMEOUT_MS);
  const todoList = page.getByRole("list", { name: "Todos" });

  if (mode === "--verify") {
    const saved = JSON.parse(readFileSync(file, "utf8"));
    await page.goto(`${baseUrl}/login`);
    await page.getByLabel("Email").fill(saved.email);
    await page.getByLabel("Password").fill(saved.password);
    await page.getByRole("button", { name: "Log in" }).click();
    await page.waitForURL(/\/todos$/);
    await todoList.getByText(saved.title, { exact: true }).waitFor();
    console.log(`logged in as ${saved.email}, "${saved.title}" is still listed`);
  } else {
    const account = {
      email: `e2e-${randomUUID().slice(0, 8)}@example.com`,
      password: `a calm password ${randomUUID().slice(0, 8)}`,
      title: `Deployed by Pulumi ${randomUUID().slice(0, 8)}`,
    };
    await page.goto(`${baseUrl}/signup`);
    await page.getByLabel("Email").fill(account.email);
    await page.getByLabel("Password").fill(account.password);
    await page.getByRole("button", { name: "Create account" }).click();
    await page.waitForURL(/\/todos$/);
    console.log(`signed up as ${account.email}`);

    const input = page.getByLabel("New todo");
    await input.fill(account.title);
    await input.press("Enter");
    await todoList.getByText(account.title, { exact: true }).waitFor();
    console.log(`added "${account.title}"`);

    // A fresh load: the list streams in after the page's loading state, so wait for the item.
    await page.goto(`${baseUrl}/todos`);
    await todoList.getByText(account.title, { exact: true }).waitFor();
    console.log(`listed after a reload: ${JSON.stringify(await todoList.locator(".todo-title").allTextContents())}`);
    if (mode === "--save") writeFileSync(file, JSON.stringify(account), { mode: 0o600 });
  }
} finally {
  await browser.close();
}
