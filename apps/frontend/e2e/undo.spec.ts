import { join } from "node:path";

import type { Page } from "@playwright/test";

import { addTodo, expect, shownTitles, signUp, test, todoItem, uniqueEmail } from "./support/fixtures";
import { SCREENSHOT_DIR } from "./support/paths";

/** The notice of a deletion, in the live region screen readers announce. */
function deletedNotice(page: Page, title: string) {
  return page.getByRole("status").filter({ hasText: `Deleted “${title}”.` });
}

async function listWithThreeTodos(page: Page, label: string): Promise<void> {
  await signUp(page, uniqueEmail(label));
  await addTodo(page, "Buy stamps");
  await addTodo(page, "Fix the bike light");
  await addTodo(page, "Book the dentist");
  await expect.poll(() => shownTitles(page)).toEqual(["Book the dentist", "Fix the bike light", "Buy stamps"]);
}

test("with a pointer: a deleted todo leaves at once, Undo brings it back, otherwise it is gone", async ({ page }) => {
  await listWithThreeTodos(page, "undo-pointer");

  await page.getByRole("button", { name: "Delete Fix the bike light" }).click();
  await expect(todoItem(page, "Fix the bike light")).toHaveCount(0);
  await expect(deletedNotice(page, "Fix the bike light")).toBeVisible();
  await page.screenshot({ path: join(SCREENSHOT_DIR, "undo-desktop.png") });

  await page.getByRole("button", { name: "Undo" }).click();
  await expect.poll(() => shownTitles(page)).toEqual(["Book the dentist", "Fix the bike light", "Buy stamps"]);
  await expect(deletedNotice(page, "Fix the bike light")).toHaveCount(0);
  // Nothing was sent: the todo is still there for the server too.
  await page.reload();
  await expect.poll(() => shownTitles(page)).toEqual(["Book the dentist", "Fix the bike light", "Buy stamps"]);

  await page.getByRole("button", { name: "Delete Fix the bike light" }).click();
  await page.mouse.move(0, 0);
  // The window closes by itself after a few seconds; then the deletion is final.
  await expect(deletedNotice(page, "Fix the bike light")).toHaveCount(0, { timeout: 15_000 });
  await expect(page.getByText("2 open · 0 done")).toBeVisible();
  await page.reload();
  await expect.poll(() => shownTitles(page)).toEqual(["Book the dentist", "Buy stamps"]);
});

test("from the keyboard: Delete, then Undo is one key away, and focus comes back", async ({ page }) => {
  await listWithThreeTodos(page, "undo-keys");

  const deleteButton = page.getByRole("button", { name: "Delete Buy stamps" });
  await deleteButton.focus();
  await page.keyboard.press("Enter");
  await expect(todoItem(page, "Buy stamps")).toHaveCount(0);
  await expect(deletedNotice(page, "Buy stamps")).toBeVisible();
  await expect(page.getByRole("button", { name: "Undo" })).toBeFocused();

  await page.keyboard.press("Enter");
  await expect(todoItem(page, "Buy stamps")).toBeVisible();
  await expect(deleteButton).toBeFocused();

  // While focus is on the notice the window waits; Escape closes it and deletes at once.
  await page.keyboard.press("Enter");
  await expect(page.getByRole("button", { name: "Undo" })).toBeFocused();
  await page.keyboard.press("Escape");
  await expect(page.getByRole("heading", { name: "Your todos" })).toBeFocused();
  await expect(page.getByText("2 open · 0 done")).toBeVisible();
  await page.reload();
  await expect.poll(() => shownTitles(page)).toEqual(["Book the dentist", "Fix the bike light"]);
});
