// The deployed app used the way a person uses it, in Debian's Chromium through Playwright.
import { randomUUID } from "node:crypto";
import { mkdirSync, writeFileSync } from "node:fs";
import * as path from "node:path";

import { type Browser, chromium, type Page, type Request } from "playwright-core";

import { readRunInfo } from "./run";

export interface Account {
    email: string;
    password: string;
}

// Generous: a busy 2-core node answers slowly.
const TIMEOUT_MS = 30_000;

async function withPage<Value>(use: (page: Page) => Promise<Value>): Promise<Value> {
    const browser: Browser = await chromium.launch({
        executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium",
        args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run"],
    });
    try {
        const page = await browser.newPage();
        page.setDefaultTimeout(TIMEOUT_MS);
        const requests = recordRequests(page);
        try {
            return await use(page);
        } catch (error) {
            // What the person would have seen, and what the page asked the server for and when.
            const screens = path.join(readRunInfo().diagnosticsDir, "screens");
            mkdirSync(screens, { recursive: true });
            const file = path.join(screens, `${new Date().toISOString().replace(/[:.]/g, "-")}.png`);
            await page.screenshot({ path: file, fullPage: true });
            writeFileSync(file.replace(/\.png$/, "-requests.txt"), `${requests.join("\n")}\n`);
            throw new Error(`${error instanceof Error ? error.message : String(error)} (the page at ${page.url()}: ${file}, its requests beside it)`);
        }
    } finally {
        await browser.close();
    }
}

/**
 * The page's requests to the app (static files left out), each when it was sent and answered,
 * with the headers that tell a navigation, a prefetch and a server action apart.
 */
function recordRequests(page: Page): string[] {
    const lines: string[] = [];
    const stamp = () => new Date().toISOString().slice(11, 23);
    const describe = (request: Request) => {
        const headers = request.headers();
        const kind = headers["next-action"] ? "action" : headers["next-router-prefetch"] ? "prefetch" : headers.rsc ? "rsc" : "document";
        return `${request.method()} ${request.url()} (${kind})`;
    };
    const relevant = (request: Request) => !new URL(request.url()).pathname.startsWith("/_next/static/");
    page.on("request", (request) => {
        if (relevant(request)) lines.push(`${stamp()} sent     ${describe(request)}`);
    });
    page.on("response", (response) => {
        const request = response.request();
        if (relevant(request)) lines.push(`${stamp()} answered ${describe(request)}: ${response.status()}`);
    });
    page.on("requestfailed", (request) => {
        if (relevant(request)) lines.push(`${stamp()} failed   ${describe(request)}: ${request.failure()?.errorText ?? ""}`);
    });
    return lines;
}

const todoList = (page: Page) => page.getByRole("list", { name: "Todos" });

async function addTodo(page: Page, title: string): Promise<void> {
    const input = page.getByLabel("New todo");
    await input.fill(title);
    await input.press("Enter");
    await todoList(page).getByText(title, { exact: true }).waitFor();
}

async function logIn(page: Page, baseUrl: string, account: Account): Promise<void> {
    await page.goto(`${baseUrl}/login`);
    await page.getByLabel("Email").fill(account.email);
    await page.getByLabel("Password").fill(account.password);
    await page.getByRole("button", { name: "Log in" }).click();
    await page.waitForURL(/\/todos$/);
}

/** The todo's "Done" toggle reads pressed. */
async function waitUntilPressed(page: Page, title: string): Promise<void> {
    const toggle = page.getByRole("button", { name: `Done: ${title}` });
    const deadline = Date.now() + TIMEOUT_MS;
    while ((await toggle.getAttribute("aria-pressed")) !== "true") {
        if (Date.now() > deadline) throw new Error(`"${title}" is not marked done within ${TIMEOUT_MS} ms`);
        await page.waitForTimeout(250);
    }
}

export const uniqueTitle = (prefix: string): string => `${prefix} ${randomUUID().slice(0, 8)}`;

/** Signs up, adds a todo, and finds it again after a fresh load of /todos. */
export async function signUpAndAddTodo(baseUrl: string, title: string, say: (line: string) => void): Promise<Account> {
    const account = { email: `e2e-${randomUUID().slice(0, 8)}@example.com`, password: `a calm password ${randomUUID().slice(0, 8)}` };
    return withPage(async (page) => {
        await page.goto(`${baseUrl}/signup`);
        await page.getByLabel("Email").fill(account.email);
        await page.getByLabel("Password").fill(account.password);
        await page.getByRole("button", { name: "Create account" }).click();
        await page.waitForURL(/\/todos$/);
        say(`signed up as ${account.email}`);
        await addTodo(page, title);
        say(`added "${title}"`);
        // A fresh load: the list streams in after the page's loading state, so wait for the item.
        await page.goto(`${baseUrl}/todos`);
        await todoList(page).getByText(title, { exact: true }).waitFor();
        say(`listed after a reload: ${JSON.stringify(await todoList(page).locator(".todo-title").allTextContents())}`);
        return account;
    });
}

/**
 * Logs in, finds every title of EXPECTED, then (when given) adds NEW_TITLE and marks it done:
 * what the app must still do for an account after a rollout or a rollback.
 */
export async function logInAndUse(
    baseUrl: string,
    account: Account,
    expected: readonly string[],
    say: (line: string) => void,
    newTitle?: string,
): Promise<void> {
    await withPage(async (page) => {
        await logIn(page, baseUrl, account);
        for (const title of expected) await todoList(page).getByText(title, { exact: true }).waitFor();
        say(`logged in as ${account.email}; listed: ${JSON.stringify(await todoList(page).locator(".todo-title").allTextContents())}`);
        if (newTitle === undefined) return;
        await addTodo(page, newTitle);
        // The list refreshes after an add; completing waits for it, as a person's next tap would.
        await page.waitForLoadState("networkidle");
        await page.getByRole("button", { name: `Done: ${newTitle}` }).click();
        await waitUntilPressed(page, newTitle);
        // Read back from the server, not from the page's own state.
        await page.goto(`${baseUrl}/todos`);
        await waitUntilPressed(page, newTitle);
        say(`added "${newTitle}" and marked it done`);
    });
}
