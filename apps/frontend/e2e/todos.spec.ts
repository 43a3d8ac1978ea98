import { join } from "node:path";

import type { APIRequestContext, BrowserContext, Page } from "@playwright/test";

import {
  addTodo,
  expect,
  logIn,
  PASSWORD,
  shownTitles,
  signUp,
  test,
  todoItem,
  todoList,
  uniqueEmail,
} from "./support/fixtures";
import { SCREENSHOT_DIR } from "./support/paths";

test("a person keeps a todo list across sessions, and it is theirs alone", async ({ page }) => {
  const email = uniqueEmail("ada");

  await test.step("sign up and land on an empty list", async () => {
    await signUp(page, email);
    await expect(page.getByRole("heading", { name: "No todos yet" })).toBeVisible();
    // At desktop width the whole address fits: nothing of it is cut off.
    const name = page.getByTitle(email).locator(".topbar-email-name");
    await expect(name).toHaveText(email.slice(0, email.indexOf("@")));
    expect(await name.evaluate((element) => element.scrollWidth <= element.clientWidth)).toBe(true);
    await page.screenshot({ path: join(SCREENSHOT_DIR, "empty-desktop.png") });
  });

  await test.step("add three todos, newest first", async () => {
    await addTodo(page, "Buy oat milk");
    await addTodo(page, "Renew passport", "Photos from the shop on Elm Street; form B-12.");
    await addTodo(page, "Call the plumber");
    await expect.poll(() => shownTitles(page)).toEqual(["Call the plumber", "Renew passport", "Buy oat milk"]);
    await expect(todoItem(page, "Renew passport")).toContainText("form B-12");
    await expect(page.getByText("3 open · 0 done")).toBeVisible();
  });

  await test.step("complete one", async () => {
    const done = page.getByRole("button", { name: "Done: Buy oat milk" });
    await expect(done).toHaveAttribute("aria-pressed", "false");
    await done.click();
    await expect(done).toHaveAttribute("aria-pressed", "true");
    await expect(page.getByText("2 open · 1 done")).toBeVisible();
  });

  await test.step("filter open, done, all", async () => {
    await page.getByRole("link", { name: /^Open/ }).click();
    await expect(page).toHaveURL(/status=open/);
    await expect(page.getByRole("link", { name: /^Open/ })).toHaveAttribute("aria-current", "page");
    await expect.poll(() => shownTitles(page)).toEqual(["Call the plumber", "Renew passport"]);

    await page.getByRole("link", { name: /^Done/ }).click();
    await expect(page).toHaveURL(/status=done/);
    await expect.poll(() => shownTitles(page)).toEqual(["Buy oat milk"]);

    await page.getByRole("link", { name: /^All/ }).click();
    await expect(page).toHaveURL(/\/todos$/);
    await expect.poll(() => shownTitles(page)).toEqual(["Call the plumber", "Renew passport", "Buy oat milk"]);
    await page.screenshot({ path: join(SCREENSHOT_DIR, "list-desktop.png") });
  });

  await test.step("edit a title and description", async () => {
    await page.getByRole("button", { name: "Edit Call the plumber" }).click();
    const item = page.locator("li.todo-item", { has: page.getByLabel("Title") });
    await expect(item.getByLabel("Title")).toBeFocused();
    await item.getByLabel("Title").fill("Call the plumber about the tap");
    await item.getByLabel("Description").fill("Kitchen tap drips at night.");
    await page.screenshot({ path: join(SCREENSHOT_DIR, "edit-desktop.png") });
    await item.getByRole("button", { name: "Save" }).click();
    await expect(todoItem(page, "Call the plumber about the tap")).toContainText("Kitchen tap drips at night.");
    await expect(page.getByLabel("Title")).toHaveCount(0);
  });

  await test.step("uncomplete and complete again", async () => {
    const done = page.getByRole("button", { name: "Done: Buy oat milk" });
    await done.click();
    await expect(page.getByText("3 open · 0 done")).toBeVisible();
    await done.click();
    await expect(page.getByText("2 open · 1 done")).toBeVisible();
  });

  await test.step("delete one", async () => {
    await page.getByRole("button", { name: "Delete Renew passport" }).click();
    await expect(todoItem(page, "Renew passport")).toHaveCount(0);
    await expect.poll(() => shownTitles(page)).toEqual(["Call the plumber about the tap", "Buy oat milk"]);
  });

  await test.step("log out, log in again, and find the same list", async () => {
    await page.getByRole("button", { name: "Log out", exact: true }).click();
    await expect(page).toHaveURL(/\/login$/);
    await page.goto("/todos");
    await expect(page).toHaveURL(/\/login$/);

    await logIn(page, email);
    await expect.poll(() => shownTitles(page)).toEqual(["Call the plumber about the tap", "Buy oat milk"]);
    await expect(page.getByRole("button", { name: "Done: Buy oat milk" })).toHaveAttribute("aria-pressed", "true");
    await expect(todoItem(page, "Call the plumber about the tap")).toContainText("Kitchen tap drips at night.");
    await page.getByRole("button", { name: "Log out", exact: true }).click();
    await expect(page).toHaveURL(/\/login$/);
  });

  await test.step("a second person sees none of it", async () => {
    await signUp(page, uniqueEmail("grace"));
    await expect(page.getByRole("heading", { name: "No todos yet" })).toBeVisible();
    await expect(todoList(page)).toHaveCount(0);
    for (const filter of ["Open", "Done"]) {
      await page.getByRole("link", { name: new RegExp(`^${filter}`) }).click();
      await expect(page.getByRole("heading", { name: /^Nothing/ })).toBeVisible();
    }
    await page.getByRole("link", { name: /^All/ }).click();
    await expect(page).toHaveURL(/\/todos$/);
    await addTodo(page, "Grace's own todo");
    await expect.poll(() => shownTitles(page)).toEqual(["Grace's own todo"]);
  });

  await test.step("and the first person does not see the second's", async () => {
    await page.getByRole("button", { name: "Log out", exact: true }).click();
    await expect(page).toHaveURL(/\/login$/);
    await logIn(page, email, PASSWORD);
    await expect.poll(() => shownTitles(page)).toEqual(["Call the plumber about the tap", "Buy oat milk"]);
  });
});

/** Todos made through the same API the app uses, with the session's own token; their ids. */
async function createTodos(request: APIRequestContext, backendUrl: string, token: string, titles: string[]): Promise<number[]> {
  const ids: number[] = [];
  for (const title of titles) {
    const response = await request.post(`${backendUrl}/todos`, {
      headers: { authorization: `Bearer ${token}` },
      data: { title },
    });
    expect(response.status()).toBe(201);
    ids.push(((await response.json()) as { id: number }).id);
  }
  return ids;
}

async function sessionToken(context: BrowserContext): Promise<string> {
  const session = (await context.cookies()).find((cookie) => cookie.name === "todo_session");
  expect(session).toBeDefined();
  return session?.value ?? "";
}

/** Follows a pager link and waits for the page it leads to. */
async function follow(page: Page, name: string): Promise<void> {
  const link = page.getByRole("navigation", { name: "Pages" }).getByRole("link", { name, exact: true });
  const href = await link.getAttribute("href");
  await link.click();
  await page.waitForURL((url) => `${url.pathname}${url.search}` === href);
}

test("a long list is split into pages", async ({ page, context, stack, request }) => {
  await signUp(page, uniqueEmail("pages"));
  const titles = Array.from({ length: 21 }, (_, index) => `Errand ${index + 1}`);
  await createTodos(request, stack.backendUrl, await sessionToken(context), titles);

  await page.reload();
  await expect.poll(() => shownTitles(page)).toHaveLength(20);
  expect((await shownTitles(page))[0]).toBe("Errand 21");
  await expect(page.getByText("21 open · 0 done")).toBeVisible();
  await expect(page.getByRole("link", { name: "← Newer" })).toHaveCount(0);

  await follow(page, "Older →");
  await expect(page).toHaveURL(/cursor=/);
  await expect.poll(() => shownTitles(page)).toEqual(["Errand 1"]);
  await expect(page.getByRole("link", { name: "Older →" })).toHaveCount(0);
  await follow(page, "← Newer");
  await expect.poll(() => shownTitles(page)).toHaveLength(20);
  await follow(page, "Oldest »");
  await expect.poll(() => shownTitles(page)).toEqual(titles.slice(0, 20).reverse());
  await follow(page, "« Newest");
  await expect(page).toHaveURL(/\/todos$/);

  // Deleting the last todo on the oldest page leads back to a page that has todos, once the
  // undo window has closed and the deletion is sent.
  await follow(page, "Older →");
  await page.getByRole("button", { name: "Delete Errand 1" }).click();
  await expect(page.getByRole("button", { name: "Undo" })).toHaveCount(0, { timeout: 15_000 });
  await expect.poll(() => shownTitles(page)).toHaveLength(20);
  await expect(page.getByRole("navigation", { name: "Pages" })).toHaveCount(0);
});

test("a thousand todos page through once each while todos come and go", async ({ page, context, stack, request }) => {
  test.setTimeout(240_000);
  await signUp(page, uniqueEmail("thousand"));
  const token = await sessionToken(context);
  const titles = Array.from({ length: 1000 }, (_, index) => `Chore ${String(index + 1).padStart(4, "0")}`);
  const ids = await createTodos(request, stack.backendUrl, token, titles);
  for (const id of ids.filter((_, index) => index % 4 === 0)) {
    const response = await request.post(`${stack.backendUrl}/todos/${id}/complete`, {
      headers: { authorization: `Bearer ${token}` },
    });
    expect(response.status()).toBe(200);
  }

  await page.reload();
  await expect(page.getByText("750 open · 250 done")).toBeVisible();
  await expect(page.getByRole("link", { name: /^Done/ }).getByLabel("250 todos")).toBeVisible();
  let expected = [...titles].reverse();
  const seen: string[] = [];
  for (let pageNumber = 1; ; pageNumber += 1) {
    await expect.poll(() => shownTitles(page)).not.toEqual([]);
    seen.push(...(await shownTitles(page)));
    if (pageNumber === 3) {
      // Someone adds a todo and deletes one not reached yet: page offsets would now repeat a
      // todo or skip one; the pager's cursors do neither.
      await createTodos(request, stack.backendUrl, token, ["Added while paging"]);
      const goner = ids[499] ?? 0;
      const deleted = await request.delete(`${stack.backendUrl}/todos/${goner}`, {
        headers: { authorization: `Bearer ${token}` },
      });
      expect(deleted.status()).toBe(204);
      expected = expected.filter((title) => title !== titles[499]);
    }
    if ((await page.getByRole("link", { name: "Older →" }).count()) === 0) break;
    expect(pageNumber).toBeLessThan(60);
    await follow(page, "Older →");
  }
  expect(seen).toEqual(expected);
});
