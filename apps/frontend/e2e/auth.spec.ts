import { join } from "node:path";

import type { Page } from "@playwright/test";

import { LOGIN_ADDRESS_ATTEMPTS } from "./support/backend";
import { addTodo, alerts, expect, logIn, PASSWORD, signUp, test, uniqueEmail } from "./support/fixtures";
import { SCREENSHOT_DIR } from "./support/paths";

test("the list needs a session", async ({ page }) => {
  await page.goto("/todos");
  await expect(page).toHaveURL(/\/login$/);
  await page.goto("/");
  await expect(page).toHaveURL(/\/login$/);
  await page.screenshot({ path: join(SCREENSHOT_DIR, "login-desktop.png") });
});

test("sign-up and log-in explain what is wrong", async ({ page }) => {
  await page.goto("/signup");
  await page.getByLabel("Email").fill("not-an-email");
  await page.getByLabel("Password").fill("short");
  await page.getByRole("button", { name: "Create account" }).click();
  await expect(page.getByText("Enter an email address like name@example.com.")).toBeVisible();
  await expect(page.getByText("Use at least 8 characters.")).toBeVisible();
  await expect(page.getByLabel("Email")).toHaveAttribute("aria-invalid", "true");
  await expect(page.getByLabel("Email")).toHaveValue("not-an-email");

  const email = uniqueEmail("dup");
  await signUp(page, email);
  await page.getByRole("button", { name: "Log out", exact: true }).click();
  await expect(page).toHaveURL(/\/login$/);

  await page.goto("/signup");
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password").fill(PASSWORD);
  await page.getByRole("button", { name: "Create account" }).click();
  await expect(alerts(page)).toContainText("An account with this email already exists.");

  await page.getByRole("link", { name: "Log in" }).click();
  await expect(page).toHaveURL(/\/login$/);
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password").fill("not the password");
  await page.getByRole("button", { name: "Log in" }).click();
  await expect(alerts(page)).toContainText("That email and password don't match an account.");
  await expect(page.getByLabel("Email")).toHaveValue(email);
  await expect(page.getByLabel("Password")).toHaveValue("");
});

test("too many failed log-ins from one address are held off, and only that address", async ({ browser, baseURL }) => {
  const logIn = async (page: Page, email: string) => {
    await page.goto("/login");
    await page.getByLabel("Email").fill(email);
    await page.getByLabel("Password").fill("not the password");
    await page.getByRole("button", { name: "Log in" }).click();
  };
  // The person's address reaches the frontend in X-Forwarded-For (from an ingress, here from
  // the test), and the frontend passes it on to the backend.
  const guesser = await browser.newContext({ baseURL, extraHTTPHeaders: { "X-Forwarded-For": "203.0.113.50" } });
  const page = await guesser.newPage();
  for (let attempt = 0; attempt < LOGIN_ADDRESS_ATTEMPTS; attempt += 1) {
    await logIn(page, uniqueEmail("guess"));
    await expect(alerts(page)).toContainText("That email and password don't match an account.");
  }
  await logIn(page, uniqueEmail("guess"));
  await expect(alerts(page)).toContainText(/Too many attempts\. Please wait (a minute|\d minutes) and try again\./);
  await guesser.close();

  // Someone at another address logs in as usual.
  const other = await browser.newContext({ baseURL, extraHTTPHeaders: { "X-Forwarded-For": "198.51.100.50" } });
  const otherPage = await other.newPage();
  await logIn(otherPage, uniqueEmail("other"));
  await expect(alerts(otherPage)).toContainText("That email and password don't match an account.");
  await other.close();
});

test("a stale session cookie leads back to log in", async ({ page, context, baseURL }) => {
  await context.addCookies([{ name: "todo_session", value: "not-a-valid-token", url: baseURL ?? "" }]);
  await page.goto("/todos");
  await expect(page).toHaveURL(/\/login\?expired=1$/);
  await expect(page.getByRole("status")).toContainText("Your session has ended");
});

test("the session cookie is httpOnly and SameSite", async ({ page, context }) => {
  await signUp(page, uniqueEmail("cookie"));
  const session = (await context.cookies()).find((cookie) => cookie.name === "todo_session");
  expect(session?.httpOnly).toBe(true);
  expect(session?.sameSite).toBe("Lax");
  expect(session?.secure).toBe(false);
  expect(await page.evaluate(() => document.cookie)).not.toContain("todo_session");
});

test.describe("behind a TLS-terminating proxy", () => {
  // What an ingress adds when the browser came over https.
  test.use({ extraHTTPHeaders: { "x-forwarded-proto": "https" } });

  test("the session cookie is Secure", async ({ page, context }) => {
    await signUp(page, uniqueEmail("https"));
    const session = (await context.cookies()).find((cookie) => cookie.name === "todo_session");
    expect(session?.secure).toBe(true);
    expect(session?.httpOnly).toBe(true);
  });
});

test("a change posted from another site is refused", async ({ page, context, baseURL }) => {
  await signUp(page, uniqueEmail("csrf"));
  // Replay the add-todo server action with a foreign Origin, as a cross-site form post would.
  let actionRequest: { headers: Record<string, string>; body: string } | null = null;
  page.on("request", (request) => {
    if (request.method() === "POST" && request.headers()["next-action"] !== undefined) {
      actionRequest = { headers: request.headers(), body: request.postData() ?? "" };
    }
  });
  await page.getByLabel("New todo").fill("Legit todo");
  await page.getByLabel("New todo").press("Enter");
  await expect(page.getByText("Legit todo")).toBeVisible();
  expect(actionRequest).not.toBeNull();
  const { headers, body } = actionRequest as unknown as { headers: Record<string, string>; body: string };

  const forged = await context.request.post(`${baseURL ?? ""}/todos`, {
    headers: { ...headers, origin: "https://evil.example" },
    data: body.replace("Legit todo", "Forged todo"),
  });
  expect(forged.status()).toBe(403);
  await page.reload();
  await expect(page.getByText("Legit todo")).toBeVisible();
  await expect(page.getByText("Forged todo")).toHaveCount(0);
});

test("everything works from the keyboard", async ({ page }) => {
  await page.goto("/signup");
  await page.keyboard.press("Tab"); // skip link
  await expect(page.getByRole("link", { name: "Skip to content" })).toBeFocused();
  await page.keyboard.press("Tab"); // brand
  await page.keyboard.press("Tab");
  await expect(page.getByLabel("Email")).toBeFocused();
  await page.keyboard.type(uniqueEmail("keys"));
  await page.keyboard.press("Tab");
  await page.keyboard.type(PASSWORD);
  await page.keyboard.press("Enter");
  await expect(page).toHaveURL(/\/todos$/);

  await page.getByLabel("New todo").focus();
  await page.keyboard.type("Keyboard todo");
  await page.keyboard.press("Enter");
  const done = page.getByRole("button", { name: "Done: Keyboard todo" });
  await expect(done).toBeVisible();

  await done.focus();
  await page.keyboard.press("Space");
  await expect(done).toHaveAttribute("aria-pressed", "true");

  // Tab from the check button to Edit, open the editor, then leave it with Escape.
  await done.focus();
  await page.keyboard.press("Tab");
  const edit = page.getByRole("button", { name: "Edit Keyboard todo" });
  await expect(edit).toBeFocused();
  await page.keyboard.press("Enter");
  await expect(page.getByLabel("Title")).toBeFocused();
  await page.keyboard.press("Escape");
  await expect(page.getByLabel("Title")).toHaveCount(0);
  await expect(edit).toBeFocused();

  await page.keyboard.press("Enter");
  await page.keyboard.press("ControlOrMeta+a");
  await page.keyboard.type("Keyboard todo, renamed");
  await page.keyboard.press("Enter");
  await expect(page.getByRole("button", { name: "Delete Keyboard todo, renamed" })).toBeVisible();

  // Delete puts focus on Undo; Escape closes the notice and deletes for good at once.
  await page.getByRole("button", { name: "Delete Keyboard todo, renamed" }).focus();
  await page.keyboard.press("Enter");
  await expect(page.getByRole("button", { name: "Undo" })).toBeFocused();
  await page.keyboard.press("Escape");
  await expect(page.getByRole("heading", { name: "No todos yet" })).toBeVisible();
});

test("logging out ends the session on the server: a replayed cookie gets the log-in page", async ({
  browser,
  baseURL,
  stack,
}) => {
  const email = uniqueEmail("replay");
  const laptop = await browser.newContext({ baseURL });
  const phone = await browser.newContext({ baseURL });
  const thief = await browser.newContext({ baseURL });
  try {
    const laptopPage = await laptop.newPage();
    await signUp(laptopPage, email);
    const phonePage = await phone.newPage();
    await logIn(phonePage, email);
    await addTodo(phonePage, "Water the plants");

    const stolen = (await laptop.cookies()).find((cookie) => cookie.name === "todo_session");
    expect(stolen, "the session cookie").toBeDefined();
    await laptopPage.getByRole("button", { name: "Log out", exact: true }).click();
    await expect(laptopPage).toHaveURL(/\/login$/);

    // The old cookie, replayed from elsewhere, leads to the log-in page, and the backend
    // itself refuses the token inside it.
    await thief.addCookies(stolen === undefined ? [] : [stolen]);
    const thiefPage = await thief.newPage();
    await thiefPage.goto("/todos");
    await expect(thiefPage).toHaveURL(/\/login(\?expired=1)?$/);
    await expect(thiefPage.getByText("Water the plants")).toHaveCount(0);
    const backendAnswer = await fetch(`${stack.backendUrl}/todos`, {
      headers: { authorization: `Bearer ${stolen?.value ?? ""}` },
    });
    expect(backendAnswer.status).toBe(401);

    // The same person's other session goes on ...
    await phonePage.reload();
    await expect(phonePage).toHaveURL(/\/todos$/);
    await expect(phonePage.getByText("Water the plants")).toBeVisible();

    // ... until they log out everywhere: a session opened meanwhile ends too.
    await logIn(laptopPage, email);
    await phonePage.getByRole("button", { name: "Log out everywhere" }).click();
    await expect(phonePage).toHaveURL(/\/login$/);
    await laptopPage.reload();
    await expect(laptopPage).toHaveURL(/\/login(\?expired=1)?$/);
  } finally {
    await Promise.all([laptop.close(), phone.close(), thief.close()]);
  }
});
