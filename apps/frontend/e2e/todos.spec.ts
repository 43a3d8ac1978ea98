import { join } from "node:path";

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

test("a long list is split into pages", async ({ page, context, stack, request }) => {
  await signUp(page, uniqueEmail("pages"));
  // Twenty-one todos through the same API the app uses, with the session's own token.
  const session = (await context.cookies()).find((cookie) => cookie.name === "todo_session");
  expect(session).toBeDefined();
  for (let number = 1; number <= 21; number += 1) {
    const response = await request.post(`${stack.backendUrl}/todos`, {
      headers: { authorization: `Bearer ${session?.value ?? ""}` },
      data: { title: `Errand ${number}` },
    });
    expect(response.status()).toBe(201);
  }

  await page.reload();
  await expect(page.getByText("Page 1 of 2")).toBeVisible();
  await expect.poll(() => shownTitles(page)).toHaveLength(20);
  expect((await shownTitles(page))[0]).toBe("Errand 21");

  await page.getByRole("link", { name: "Older →" }).click();
  await expect(page).toHaveURL(/page=2/);
  await expect.poll(() => shownTitles(page)).toEqual(["Errand 1"]);

  // Deleting the last todo on the last page leads back to a page that has todos, once the
  // undo window has closed and the deletion is sent.
  await page.getByRole("button", { name: "Delete Errand 1" }).click();
  await expect(page.getByRole("button", { name: "Undo" })).toHaveCount(0, { timeout: 15_000 });
  await expect.poll(() => shownTitles(page)).toHaveLength(20);
  await expect(page.getByText(/Page \d of/)).toHaveCount(0);
});
